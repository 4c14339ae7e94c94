"""Support for the browser tests: a live server on its own database, Chromium through Playwright,
and small helpers that drive the survey pages the way a citizen does."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, got_request_exception
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from feedback_app.demo import DEMO_PASSWORD, load_demo_data
from feedback_app.extensions import db
from feedback_app.models import Counter, Officer, OrgUnit, Questionnaire

from .conftest import BACKENDS, migrated_app

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_MISSING = "Chromium not found at /usr/bin/chromium: browser tests skipped (apt-get install chromium)"
PLAYWRIGHT_MISSING = (
    "Playwright (Python package) not installed: browser tests skipped (pip install -r requirements-test.lock)"
)
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"

ADMIN_EMAIL = "admin@demo.khanhhoa.gov.vn"
ADMIN_PASSWORD = DEMO_PASSWORD
# What the kiosk says when "Tiếp tục" is pressed with a question of the step unanswered.
STEP_ERROR = 'Vui lòng chọn một mức cho mỗi câu (hoặc "Không có ý kiến").'


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return CHROMIUM_MISSING
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return PLAYWRIGHT_MISSING
    return None


@dataclass
class LiveServer:
    """The app served over HTTP from a thread, on a database of its own that really commits."""

    app: Flask
    url: str
    backend: str
    server_errors: list[BaseException] = field(default_factory=list)

    def call(self, fn: Callable[[], T]) -> T:
        """Run fn in a fresh app context (its own database session) and return what it returns."""
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()


@contextmanager
def live_server(tmp_root: Path, name: str = "browser", **overrides: Any) -> Iterator[LiveServer]:
    """Migrate a dedicated database, load the demo data, serve the app on 127.0.0.1:<free port>."""
    backend = "postgresql" if "postgresql" in BACKENDS else "sqlite"
    app = migrated_app(backend, tmp_root, name, **overrides)
    with app.app_context():
        load_demo_data()
        db.session.commit()
        db.session.remove()
    live = LiveServer(app=app, url="", backend=backend)

    def remember(sender: Flask, exception: BaseException, **extra: Any) -> None:
        live.server_errors.append(exception)

    got_request_exception.connect(remember, app)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log for every request
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    live.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(remember, app)
        with app.app_context():
            db.engine.dispose()


@dataclass
class CounterInfo:
    """A counter made for one test, with what the test needs to drive and check it."""

    id: int
    code: str
    name: str
    officers: dict[str, int]
    questions: dict[str, int]  # question code -> id (form field "q<id>")
    factors: dict[str, list[str]]  # factor code -> question codes, in page order
    factor_names: dict[str, str]  # factor code -> Vietnamese name (the kiosk step's heading)
    options: list[int]  # the expectations question's option ids
    screening: set[str] = field(default_factory=set)  # codes of the yes (1) / no (0) screening questions

    def answer(self, code: str, value: int | str) -> int | str:
        """The value to give a question: `value` on the scale, "yes" (1) to a screening question."""
        return 1 if code in self.screening else value


def portrait() -> bytes:
    """A small JPEG standing in for an officer's photo."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (40, 120, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


def create_counter(live: LiveServer, label: str, officer_names: list[str], *, photos: tuple[str, ...] = (),
                   agency_code: str = "SXD-TTDK", centre_code: str = "TTPVHCC-KH") -> CounterInfo:
    """A fresh counter with its own officers (those named in `photos` have a portrait), committed, so its
    figures are known exactly."""

    def build() -> CounterInfo:
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.code == agency_code))
        centre = db.session.scalar(select(OrgUnit).where(OrgUnit.code == centre_code))
        code = f"BR-{label}-{uuid.uuid4().hex[:6].upper()}"
        counter = Counter(code=code, name=f"Quầy thử nghiệm {label}", agency=agency, service_centre=centre)
        counter.officers = [Officer(full_name=name, title="Chuyên viên", unit=agency,
                                    photo=portrait() if name in photos else None,
                                    photo_mime="image/jpeg" if name in photos else None)
                            for name in officer_names]
        db.session.add(counter)
        db.session.commit()
        version = db.session.scalar(select(Questionnaire).where(Questionnaire.is_default.is_(True))).current_version
        factor_codes = {f.id: f.code for f in version.factors}
        factors: dict[str, list[str]] = {f.code: [] for f in version.factors}
        for q in version.questions:
            if q.factor_id is not None:
                factors[factor_codes[q.factor_id]].append(q.code)
        expectations = next(q for q in version.questions if q.kind == "expectations")
        return CounterInfo(
            id=counter.id, code=code, name=counter.name,
            officers={o.full_name: o.id for o in counter.officers},
            questions={q.code: q.id for q in version.questions},
            factors=factors,
            factor_names={f.code: f.name for f in version.factors},
            options=[o.id for o in expectations.options],
            screening={q.code for q in version.questions if q.kind == "screening"},
        )

    return live.call(build)


# --- Driving the pages ----------------------------------------------------------------------------------

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the tests skip (or fail under REQUIRE_BROWSER=1) before any helper below runs
    Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]


def screenshot(page: Page, artifacts: Path, name: str, *, full_page: bool = False) -> Path:
    """Save what the screen shows (or the whole page) as tests/artifacts/<name>.png."""
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def choose(page: Page, question_id: int, value: int | str, *, tap: bool = False) -> None:
    """Touch the face / level `value` (or "na" for no opinion, 1 / 0 for yes / no) of one question, as a
    citizen does."""
    fieldset = page.locator(f"fieldset#q{question_id}")
    label = fieldset.locator(f"label:has(input[value='{value}'])")
    if tap:
        label.tap()
    else:
        label.click()
    expect(fieldset.locator(f"input[value='{value}']")).to_be_checked()


def expect_checked(page: Page, question_id: int, value: int | str) -> None:
    expect(page.locator(f"fieldset#q{question_id} input[value='{value}']")).to_be_checked()


def visible_step(page: Page):
    return page.locator("#kiosk section.step:not([hidden])")


def kiosk_next(page: Page) -> None:
    page.locator("nav.steps-nav").get_by_role("button", name="Tiếp tục").click()


def login(page: Page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    """Log in through the staff form, in whatever browser context the page lives."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


def expect_results(page: Page, counter_code: str, day: str, factors: dict[str, tuple[str, str, int]],
                   overall: str, responses: int = 1) -> None:
    """Open the results of one counter for one day and check every figure.
    factors: code -> (satisfied %, "satisfied / denominator", no-opinion count)."""
    page.goto(f"/results?counter={counter_code}&from={day}&to={day}")
    expect(page.locator("[data-testid=overall]")).to_have_text(overall)
    # Columns found by their headings, so a column added to the table does not shift the checks.
    headings = page.locator("table.data").first.locator("thead th").all_inner_texts()
    column = {" ".join(text.split()): i for i, text in enumerate(headings)}
    for code, (pct, ratio, no_opinion) in factors.items():
        cells = page.locator(f'tr[data-factor="{code}"] > *')
        expect(cells.nth(column["Tỷ lệ hài lòng"])).to_contain_text(pct)
        expect(cells.nth(column["Hài lòng / câu trả lời"])).to_have_text(ratio)
        expect(cells.nth(column["Không có ý kiến"])).to_have_text(str(no_opinion))
        expect(cells.nth(column["Số phiếu"])).to_have_text(str(responses))
    expect(page.locator("section.card p.muted").first).to_contain_text(f"{responses} phiếu")


def layout_problems(page: Page, targets: str, min_size: int) -> list[str]:
    """Horizontal overflow of the page, and touch targets (visible ones) smaller than min_size px."""
    problems = []
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems.append(f"page is {overflow}px wider than the viewport (content cut off or scrolls sideways)")
    for box in page.eval_on_selector_all(targets, """els => els
            .filter(e => e.offsetParent !== null)
            .map(e => {
                const r = e.getBoundingClientRect();
                const text = (e.innerText || e.value || '').trim().split('\\n')[0].slice(0, 40);
                return {w: r.width, h: r.height, text: text};
            })"""):
        if box["w"] < min_size or box["h"] < min_size:
            problems.append(f"touch target {box['text']!r} is {box['w']:.0f}x{box['h']:.0f}px (< {min_size}px)")
    return problems


def rendered_text(page: Page, selector: str) -> str:
    """The text of an element as Chromium renders it and reads it out, CSS-generated content included
    (innerText and Playwright's own snapshots leave it out): from the browser's accessibility tree."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        backend = cdp.send("DOM.describeNode", {"nodeId": node})["node"]["backendNodeId"]
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    by_id = {n["nodeId"]: n for n in nodes}
    texts: list[str] = []

    def walk(ax: dict) -> None:
        if ax["role"]["value"] == "StaticText":
            texts.append(ax["name"]["value"])
        for child in ax.get("childIds", []):
            if child in by_id:
                walk(by_id[child])

    walk(next(n for n in nodes if n.get("backendDOMNodeId") == backend))
    return "".join(texts)


def expect_rendered_text(page: Page, selector: str, expected: str, timeout_ms: int = 5_000) -> None:
    """Wait until rendered_text(selector) is `expected`."""
    deadline = time.monotonic() + timeout_ms / 1000
    while (actual := rendered_text(page, selector)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # polling what the browser renders, not a fixed wait
    assert actual == expected, f"{selector} shows {actual!r}, expected {expected!r}"
