"""The citizen's pages in a real browser (headless Chromium through Playwright) against a live server.

The server runs in a thread on a database of its own (PostgreSQL when TEST_DATABASE_URL works, else a
SQLite file) holding the demo data; each test makes fresh counters so its figures are known exactly.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import Answer, Response
from feedback_app.timeutil import format_date, local_today

from .browser_support import (
    STEP_ERROR,
    CounterInfo,
    LiveServer,
    choose,
    create_counter,
    expect_checked,
    expect_rendered_text,
    expect_results,
    kiosk_next,
    layout_problems,
    login,
    screenshot,
    visible_step,
)

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # reported by the browser_available fixture
    Axe = sync_playwright = expect = None  # type: ignore[assignment,misc]
    Browser = BrowserContext = Page = object  # type: ignore[assignment,misc]

TIMEOUT_MS = 15_000
pytestmark = pytest.mark.usefixtures("no_server_errors")  # shared browser fixtures: tests/browser_fixtures.py
KIOSK = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}

# Test A's answers on the kiosk, factor by factor; "na" is "Không có ý kiến" (not in the denominator).
KIOSK_ANSWERS: dict[str, dict[str, int | str]] = {
    "TCDV": {"TCDV1": 5, "TCDV2": 4, "TCDV3": 2, "TCDV4": "na", "TCDV-HL": 3},  # 2 of 4 satisfied
    "TTHC": {"TTHC1": 5, "TTHC2": 5, "TTHC3": 4, "TTHC4": 4, "TTHC5": 1, "TTHC-HL": 4},  # 5 of 6
    "CCPV": {"CCPV1": 4, "CCPV2": 4, "CCPV3": 4, "CCPV4": 4, "CCPV5": 4, "CCPV6": 4, "CCPV-HL": 5},  # 7 of 7
    "KQGQ": {"KQGQ1": 3, "KQGQ2": 2, "KQGQ3": 1, "KQGQ-HL": 5},  # 1 of 4
    # "Có" to the screening question (1): the citizen gave feedback, so the factor's questions are asked.
    "PAKN": {"PAKN-CO": 1, "PAKN1": "na", "PAKN2": "na", "PAKN3": "na", "PAKN4": "na", "PAKN-HL": 1},  # 0 of 1
}
KIOSK_EXPECTED = {
    "TCDV": ("50,00%", "2 / 4", 1),
    "TTHC": ("83,33%", "5 / 6", 0),
    "CCPV": ("100,00%", "7 / 7", 0),
    "KQGQ": ("25,00%", "1 / 4", 0),
    "PAKN": ("0,00%", "0 / 1", 4),
}
KIOSK_OVERALL = "51,67%"  # (50 + 83.33 + 100 + 25 + 0) / 5 = 51.666

# Test B's answers on the phone: everything "Rất hài lòng" except these.
QR_ANSWERS: dict[str, int | str] = {"TCDV4": 1, "PAKN-CO": 1, "PAKN1": "na", "PAKN2": "na", "PAKN3": "na",
                                    "PAKN4": "na"}
QR_EXPECTED = {
    "TCDV": ("80,00%", "4 / 5", 0),
    "TTHC": ("100,00%", "6 / 6", 0),
    "CCPV": ("100,00%", "7 / 7", 0),
    "KQGQ": ("100,00%", "4 / 4", 0),
    "PAKN": ("100,00%", "1 / 1", 4),
}
QR_OVERALL = "96,00%"  # (80 + 100 + 100 + 100 + 100) / 5


# --- Helpers ---------------------------------------------------------------------------------------------

def _assert_layout(page: Page, targets: str, min_size: int) -> None:
    problems = layout_problems(page, targets, min_size)
    assert not problems, f"layout problems on {page.url}:\n" + "\n".join(problems)


def _today() -> str:
    return format_date(local_today())


def _responses(live: LiveServer, counter: CounterInfo) -> list[dict]:
    def query() -> list[dict]:
        rows = db.session.scalars(select(Response).where(Response.counter_id == counter.id)).all()
        return [{"key": r.idempotency_key, "channel": r.channel, "officer_id": r.officer_id,
                 "review_status": r.review_status, "language": r.language,
                 "answers": db.session.scalar(select(func.count(Answer.id)).where(Answer.response_id == r.id))}
                for r in rows]

    return live.call(query)


def _queue_is_empty(page: Page, counter: CounterInfo, timeout: int = TIMEOUT_MS) -> None:
    page.wait_for_function("name => JSON.parse(localStorage.getItem(name) || '[]').length === 0",
                           arg=f"kioskQueue:{counter.code}", timeout=timeout)


def _kiosk_start(page: Page, counter: CounterInfo) -> None:
    page.goto(f"/k/{counter.code}")
    expect(page.get_by_role("heading", name="Mời Ông/Bà đánh giá sự phục vụ")).to_be_visible()
    page.get_by_role("button", name="Bắt đầu đánh giá").click()
    expect(page.get_by_text("Chọn công chức đã tiếp nhận hồ sơ")).to_be_visible()


def _kiosk_closing_step(page: Page, counter: CounterInfo, overall: int) -> None:
    expect(visible_step(page).get_by_role("heading", level=2)).to_have_text("Đánh giá chung")
    choose(page, counter.questions["TONGTHE"], overall)


# --- A: the kiosk, start to finish, and the figures staff see ----------------------------------------------

@pytest.mark.browser
def test_kiosk_survey_end_to_end_and_results(live, new_context, artifacts):
    counter = create_counter(live, "A", ["Phan Thị Thu Trang", "Lê Minh Khôi"], photos=("Lê Minh Khôi",))
    context = new_context(**KIOSK)
    page = context.new_page()

    page.goto(f"/k/{counter.code}")
    expect(page.get_by_role("heading", name="Mời Ông/Bà đánh giá sự phục vụ")).to_be_visible()
    expect(page.locator("nav.steps-nav")).to_be_hidden()
    screenshot(page, artifacts, "kiosk-1-start")
    _assert_layout(page, "#kiosk button", 48)

    page.get_by_role("button", name="Bắt đầu đánh giá").click()
    officer = page.locator("label.officer", has_text="Lê Minh Khôi")
    expect(officer).to_be_visible()
    expect(page.locator(".progress-text")).to_have_text("1 / 7")
    # The officer with a portrait shows it (loaded, not broken); the other one shows initials.
    expect(officer.locator("img.avatar")).to_be_visible()
    assert officer.locator("img.avatar").evaluate("img => img.complete && img.naturalWidth") == 256
    expect(page.locator("label.officer", has_text="Phan Thị Thu Trang").locator(".avatar")).to_have_text("PT")
    officer.click()
    expect(officer.locator("input")).to_be_checked()
    screenshot(page, artifacts, "kiosk-2-officer")
    _assert_layout(page, "label.officer, nav.steps-nav .btn", 48)
    kiosk_next(page)

    for position, (factor, answers) in enumerate(KIOSK_ANSWERS.items()):
        step = visible_step(page)
        expect(step.get_by_role("heading", level=2)).to_have_text(counter.factor_names[factor])
        assert list(answers) == counter.factors[factor]  # every question of the factor, in page order
        codes = list(answers)
        if factor == "TCDV":
            # "Tiếp tục" with the last question unanswered: the step stays, says why, marks the question.
            for code in codes[:-1]:
                choose(page, counter.questions[code], answers[code])
            kiosk_next(page)
            error = page.locator("#kiosk .step-err")
            expect(error).to_be_visible()
            expect(error).to_have_text(STEP_ERROR)
            expect(error).to_be_in_viewport()  # next to the buttons, however far the step is scrolled
            expect(page.locator(f"fieldset#q{counter.questions[codes[-1]]}")).to_have_class(re.compile("has-err"))
            expect(step.get_by_role("heading", level=2)).to_have_text(counter.factor_names[factor])
            screenshot(page, artifacts, "kiosk-3-missing-answer")
            choose(page, counter.questions[codes[-1]], answers[codes[-1]])
            expect(page.locator(f"fieldset#q{counter.questions[codes[-1]]}")).not_to_have_class(
                re.compile("has-err"))
        else:
            for code in codes:
                choose(page, counter.questions[code], answers[code])
        if factor == "CCPV":
            screenshot(page, artifacts, "kiosk-4-factor-step")
            _assert_layout(page, "fieldset.q label.lv, nav.steps-nav .btn", 48)
        if factor == "TTHC":
            # Back one step and forward again: the answers already given are still there.
            page.get_by_role("button", name="Quay lại").click()
            expect(visible_step(page).get_by_role("heading", level=2)).to_have_text(counter.factor_names["TCDV"])
            for code, value in KIOSK_ANSWERS["TCDV"].items():
                expect_checked(page, counter.questions[code], value)
            kiosk_next(page)
        expect(page.locator(".progress-text")).to_have_text(f"{position + 2} / 7")
        kiosk_next(page)
        expect(page.locator("#kiosk .step-err")).to_be_hidden()

    _kiosk_closing_step(page, counter, 4)
    submit = page.get_by_role("button", name="Gửi đánh giá")
    expect(page.locator("nav.steps-nav").get_by_role("button", name="Tiếp tục")).to_be_hidden()
    # Four priorities where at most three are allowed: refused with the reason, nothing queued.
    for option in counter.options[:4]:
        page.locator(f"input[type=checkbox][value='{option}']").check()
    submit.click()
    expect(page.locator("#kiosk .step-err")).to_have_text("Vui lòng chọn tối đa 3 nội dung.")
    page.locator(f"input[type=checkbox][value='{counter.options[3]}']").uncheck()
    page.get_by_label("Ý kiến khác của Ông/Bà (không bắt buộc)").fill("Kiểm thử trình duyệt: phục vụ tốt.")
    screenshot(page, artifacts, "kiosk-5-closing")

    submit.click()
    submitted_at = time.monotonic()
    thanks = page.locator("#kiosk-thanks")
    expect(thanks).to_be_visible()
    expect(thanks.get_by_role("heading")).to_have_text("Cảm ơn Ông/Bà đã đánh giá!")
    expect(page.locator("#kiosk")).to_be_hidden()
    screenshot(page, artifacts, "kiosk-6-thanks")

    # The queued response goes out: the queue empties and the status line disappears.
    _queue_is_empty(page, counter)
    expect(page.locator("#kiosk-status")).to_be_hidden()
    stored = _responses(live, counter)
    assert len(stored) == 1, stored
    assert stored[0]["channel"] == "kiosk" and stored[0]["review_status"] == "none"
    assert stored[0]["officer_id"] == counter.officers["Lê Minh Khôi"]
    assert stored[0]["answers"] == 27 + 1 + 1 + 3 + 1  # factor questions, screening, overall, priorities, comment

    # After the gap the kiosk is back at the start, with nothing of the previous citizen left.
    expect(thanks).to_be_visible()  # not before the gap
    expect(page.get_by_role("button", name="Bắt đầu đánh giá")).to_be_visible(timeout=20_000)
    waited = time.monotonic() - submitted_at
    assert waited >= 4.5, f"the kiosk reset after {waited:.1f}s, before the 5 s gap"
    expect(thanks).to_be_hidden()
    expect(page.locator("nav.steps-nav")).to_be_hidden()
    expect(page.locator("#kiosk input:checked")).to_have_count(0)
    expect(page.locator("#kiosk textarea")).to_have_value("")
    expect(page.locator("#kiosk select#service")).to_have_value("")
    screenshot(page, artifacts, "kiosk-7-reset")

    login(page)
    expect_results(page, counter.code, _today(), KIOSK_EXPECTED, KIOSK_OVERALL)
    screenshot(page, artifacts, "kiosk-8-results", full_page=True)


# --- B: the phone page behind the counter's QR code ---------------------------------------------------------

@pytest.mark.browser
def test_qr_page_on_a_phone_keeps_answers_after_errors(live, new_context, artifacts):
    counter = create_counter(live, "B", ["Trương Thị Bích", "Hồ Văn Nam"])
    context = new_context(**PHONE)
    page = context.new_page()
    page.goto(f"/q/{counter.code}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đánh giá sự hài lòng")
    screenshot(page, artifacts, "qr-1-page", full_page=True)
    _assert_layout(page, "label.lv, label.na, select, button.btn", 44)

    # Part of the answers only: the officer and the first factor.
    page.get_by_label("Công chức đã tiếp nhận hồ sơ của Ông/Bà").select_option(label="Hồ Văn Nam")
    first = {code: QR_ANSWERS.get(code, 5) for code in counter.factors["TCDV"]}
    for code, value in first.items():
        choose(page, counter.questions[code], value, tap=True)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Gửi đánh giá").tap()
    assert posted.value.status == 400

    summary = page.locator("#err-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Vui lòng kiểm tra lại")
    # 27 factor questions and the overall one are required, but the PAKN factor's five wait for the answer
    # to its screening question, which is missing too.
    missing = 28 - len(first) - 5 + 1
    expect(summary).to_contain_text(f"Còn {missing} câu cần sửa hoặc trả lời")
    expect(summary.locator("li")).to_have_count(missing)
    for code, value in first.items():
        expect_checked(page, counter.questions[code], value)
    expect(page.get_by_label("Công chức đã tiếp nhận hồ sơ của Ông/Bà")).to_have_value(
        str(counter.officers["Hồ Văn Nam"]))
    unanswered = page.locator(f"fieldset#q{counter.questions['TTHC1']}")
    expect(unanswered).to_have_class(re.compile("has-err"))
    expect(unanswered).to_have_attribute("aria-describedby", f"q{counter.questions['TTHC1']}-err")
    screenshot(page, artifacts, "qr-2-errors", full_page=True)
    assert _responses(live, counter) == []

    for codes in counter.factors.values():
        for code in codes:
            if code not in first:
                choose(page, counter.questions[code], QR_ANSWERS.get(code, 5), tap=True)
    choose(page, counter.questions["TONGTHE"], 5, tap=True)
    page.get_by_role("button", name="Gửi đánh giá").tap()

    expect(page).to_have_url(re.compile(rf"/q/{counter.code}/cam-on$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Cảm ơn Ông/Bà đã đánh giá!")
    link = page.get_by_role("link", name="Gửi phản ánh, kiến nghị")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", re.compile(rf"quay={counter.code}"))
    screenshot(page, artifacts, "qr-3-thanks", full_page=True)
    _assert_layout(page, "a.btn", 44)

    stored = _responses(live, counter)
    assert len(stored) == 1, stored
    assert stored[0]["channel"] == "qr" and stored[0]["officer_id"] == counter.officers["Hồ Văn Nam"]

    staff = new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(staff)
    expect_results(staff, counter.code, _today(), QR_EXPECTED, QR_OVERALL)
    screenshot(staff, artifacts, "qr-4-results", full_page=True)


# --- C: the kiosk loses the network ----------------------------------------------------------------------

@pytest.mark.browser
def test_kiosk_queues_offline_and_sends_exactly_once(live, new_context, artifacts):
    counter = create_counter(live, "C", ["Đặng Thị Hoa"])
    context = new_context(**KIOSK)
    page = context.new_page()
    _kiosk_start(page, counter)
    kiosk_next(page)  # the officer is optional
    for factor, codes in counter.factors.items():
        expect(visible_step(page).get_by_role("heading", level=2)).to_have_text(counter.factor_names[factor])
        for code in codes:
            choose(page, counter.questions[code], counter.answer(code, 5))
        kiosk_next(page)
    _kiosk_closing_step(page, counter, 5)

    context.set_offline(True)
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.locator("#kiosk-thanks")).to_be_visible()
    status = page.locator("#kiosk-status")
    expect(status).to_be_visible()
    expect(status).to_have_text("Đang chờ gửi 1 phiếu khi có mạng")
    screenshot(page, artifacts, "kiosk-offline-pending")
    assert _responses(live, counter) == []

    # Back online, the first attempt reaches the server but its answer is lost on the way back:
    # the kiosk must send the response again, and the server must count it once.
    attempts: list[tuple[str, int | None]] = []

    def lose_first_answer(route) -> None:
        key = route.request.post_data_json["key"]
        if not attempts:
            served = route.fetch()
            attempts.append((key, served.status))
            route.abort("connectionreset")
        else:
            attempts.append((key, None))
            route.continue_()

    page.route(f"**/k/{counter.code}/submit", lose_first_answer)
    context.set_offline(False)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not attempts and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # polling for the route handler, not a fixed wait
    assert attempts and attempts[0][1] == 201, attempts
    assert len(_responses(live, counter)) == 1
    expect(status).to_have_text("Đang chờ gửi 1 phiếu khi có mạng")

    # The network blips once more ("online" again); otherwise the kiosk's own retry timer (15 s) sends it.
    context.set_offline(True)
    context.set_offline(False)
    _queue_is_empty(page, counter, timeout=40_000)
    expect(status).to_be_hidden()
    assert len(attempts) >= 2 and len({key for key, _ in attempts}) == 1, attempts
    stored = _responses(live, counter)
    assert len(stored) == 1, stored
    assert stored[0]["key"] == attempts[0][0]
    rejected = page.evaluate("name => localStorage.getItem(name)", f"kioskQueue:{counter.code}:rejected")
    assert rejected is None, f"the kiosk put a response aside as rejected: {rejected}"


# --- D: accessibility ---------------------------------------------------------------------------------------

def _axe_problems(page: Page, what: str) -> list[str]:
    results = Axe().run(page)
    lines = []
    for violation in results.response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        lines.append(f"{what}: {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {summary[:300]}")
    return lines


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_citizen_pages_have_no_serious_accessibility_violations(live, new_context, artifacts, lang):
    counter = create_counter(live, f"D{lang.upper()}", ["Lâm Thị Mỹ"])
    q = f"?lang={lang}"
    problems: list[str] = []
    phone = new_context(**PHONE).new_page()
    for path in ("/", f"/q/{counter.code}", f"/q/{counter.code}/cam-on", f"/phan-anh?quay={counter.code}",
                 "/phan-anh"):
        phone.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        expect(phone.locator("html")).to_have_attribute("lang", lang)
        problems += _axe_problems(phone, path)

    phone.goto(f"/q/{counter.code}{q}")
    phone.locator("button[type=submit]").click()
    expect(phone.locator("#err-summary")).to_be_visible()
    problems += _axe_problems(phone, f"/q/{counter.code} after a validation error")
    screenshot(phone, artifacts, f"a11y-qr-errors-{lang}")

    kiosk = new_context(**KIOSK).new_page()
    kiosk.goto(f"/k/{counter.code}{q}")
    expect(kiosk.locator("section.start")).to_be_visible()
    problems += _axe_problems(kiosk, f"/k/{counter.code} start")
    kiosk.locator("section.start button").click()
    expect(kiosk.locator("label.officer")).to_be_visible()
    problems += _axe_problems(kiosk, f"/k/{counter.code} officer step")
    kiosk.locator("nav.steps-nav [data-next]").click()
    expect(visible_step(kiosk).locator("fieldset.q").first).to_be_visible()
    problems += _axe_problems(kiosk, f"/k/{counter.code} factor step")
    kiosk.locator("nav.steps-nav [data-next]").click()  # nothing answered: the error is shown
    expect(kiosk.locator("#kiosk .step-err")).to_be_visible()
    problems += _axe_problems(kiosk, f"/k/{counter.code} factor step with an error")
    screenshot(kiosk, artifacts, f"a11y-kiosk-error-{lang}")
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)


# --- E: page weight -----------------------------------------------------------------------------------------

@pytest.mark.browser
def test_qr_page_is_light_and_loads_nothing_from_elsewhere(live, new_context):
    counter = create_counter(live, "E", ["Vũ Thị Lan"])
    context = new_context(**PHONE)
    requested: list[str] = []
    responses = []
    context.on("request", lambda request: requested.append(request.url))
    context.on("response", lambda response: responses.append(response))
    page = context.new_page()
    page.goto(f"/q/{counter.code}", wait_until="networkidle")
    expect(page.get_by_role("button", name="Gửi đánh giá")).to_be_visible()
    sizes = {response.url: len(response.body()) for response in responses}
    total = sum(sizes.values())
    breakdown = ", ".join(f"{urlparse(url).path}: {size} B" for url, size in sizes.items())
    assert total < 50 * 1024, f"/q/<code> weighs {total} bytes ({breakdown})"
    assert any(url.endswith(".css") for url in sizes), breakdown
    elsewhere = [url for url in requested if urlparse(url).hostname != "127.0.0.1"]
    assert elsewhere == [], f"requests to other hosts: {elsewhere}"


# --- F: English ---------------------------------------------------------------------------------------------

@pytest.mark.browser
def test_qr_page_in_english(live, new_context):
    counter = create_counter(live, "F", ["Mai Văn Tâm"])
    page = new_context(**PHONE).new_page()
    page.goto(f"/q/{counter.code}?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    criterion = page.locator(f"fieldset#q{counter.questions['TCDV1']} legend")
    expect(criterion).to_have_text("The waiting area has enough seats")
    expect(page.locator(f"fieldset#q{counter.questions['TCDV1']} label.lv").last).to_contain_text("Very satisfied")
    expect(page.get_by_role("button", name="Submit rating")).to_be_visible()
    switch = page.get_by_role("navigation").get_by_role("button", name="Tiếng Việt")
    expect(switch).to_be_visible()
    expect(switch).to_have_attribute("lang", "vi")
    expect(page.get_by_role("button", name="English")).to_have_count(0)


@pytest.mark.browser
def test_switching_language_in_the_middle_of_the_phone_form_keeps_the_answers(live, new_context, artifacts):
    counter = create_counter(live, "G", ["Mai Văn Tâm"])
    page = new_context(**PHONE).new_page()
    page.goto(f"/q/{counter.code}")
    page.get_by_label("Công chức đã tiếp nhận hồ sơ của Ông/Bà").select_option(label="Mai Văn Tâm")
    chosen = {"TCDV1": 5, "TCDV2": "na", "TTHC1": 2}
    for code, value in chosen.items():
        choose(page, counter.questions[code], value, tap=True)
    page.get_by_role("button", name="English").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(f"fieldset#q{counter.questions['TCDV1']} legend")).to_have_text(
        "The waiting area has enough seats")
    for code, value in chosen.items():
        expect_checked(page, counter.questions[code], value)
    expect(page.get_by_label("Officer who received your application")).to_have_value(
        str(counter.officers["Mai Văn Tâm"]))
    expect(page.locator(".err, #err-summary")).to_have_count(0)  # nothing was checked or stored
    screenshot(page, artifacts, "qr-language-switched")
    page.get_by_role("button", name="Tiếng Việt").tap()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đánh giá sự hài lòng")
    for code, value in chosen.items():
        expect_checked(page, counter.questions[code], value)
    assert _responses(live, counter) == []
    # The rest answered in Vietnamese: one response, with the answers given before both switches.
    for codes in counter.factors.values():
        for code in codes:
            if code not in chosen:
                choose(page, counter.questions[code], counter.answer(code, 4), tap=True)
    choose(page, counter.questions["TONGTHE"], 4, tap=True)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page).to_have_url(re.compile(rf"/q/{counter.code}/cam-on$"))
    assert len(_responses(live, counter)) == 1


@pytest.mark.browser
def test_switching_language_on_the_kiosk_keeps_the_answers_and_the_step(live, new_context):
    counter = create_counter(live, "K", ["Mai Văn Tâm"])
    page = new_context(**KIOSK).new_page()
    _kiosk_start(page, counter)
    page.locator("label.officer", has_text="Mai Văn Tâm").click()
    kiosk_next(page)
    for code in counter.factors["TCDV"]:
        choose(page, counter.questions[code], 4)
    kiosk_next(page)
    choose(page, counter.questions["TTHC1"], 2)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(visible_step(page).get_by_role("heading", level=2)).to_have_text("Administrative procedures")
    expect_checked(page, counter.questions["TTHC1"], 2)
    for code in counter.factors["TCDV"]:
        expect_checked(page, counter.questions[code], 4)
    expect(page.locator("label.officer input:checked")).to_have_count(1)


@pytest.mark.browser
def test_a_citizen_who_gave_no_feedback_is_not_asked_how_it_was_handled(live, new_context, artifacts):
    counter = create_counter(live, "S", ["Mai Văn Tâm"])
    page = new_context(**PHONE).new_page()
    page.goto(f"/q/{counter.code}")
    screening = page.locator(f"fieldset#q{counter.questions['PAKN-CO']}")
    expect(screening.locator("legend")).to_contain_text("góp ý, phản ánh, kiến nghị")
    # CSS counts the answers: its text exists only in what the browser renders (and reads out).
    expect_rendered_text(page, "p.progress", "Đã trả lời 0/28 câu")
    choose(page, counter.questions["TCDV1"], 5, tap=True)
    expect_rendered_text(page, "p.progress", "Đã trả lời 1/28 câu")
    choose(page, counter.questions["PAKN-CO"], 0, tap=True)
    for code in counter.factors["PAKN"][1:]:
        expect(page.locator(f"fieldset#q{counter.questions[code]}")).to_be_hidden()
    expect_rendered_text(page, "p.progress", "Đã trả lời 1/23 câu")
    screenshot(page, artifacts, "qr-screened-out", full_page=True)
    for factor, codes in counter.factors.items():
        if factor != "PAKN":
            for code in codes:
                choose(page, counter.questions[code], 4, tap=True)
    choose(page, counter.questions["TONGTHE"], 4, tap=True)
    expect_rendered_text(page, "p.progress", "Đã trả lời 23/23 câu")
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page).to_have_url(re.compile(rf"/q/{counter.code}/cam-on$"))
    stored = _responses(live, counter)
    assert len(stored) == 1 and stored[0]["answers"] == 22 + 1 + 1  # 22 factor questions, screening, overall
    staff = new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(staff)
    staff.goto(f"/results?counter={counter.code}&from={_today()}&to={_today()}")
    expect(staff.locator('tr[data-factor="PAKN"]')).to_contain_text("0 / 0")


@pytest.mark.browser
def test_kiosk_returns_to_vietnamese_for_the_next_citizen(live, new_context):
    counter = create_counter(live, "L", ["Võ Văn Lâm"])
    page = new_context(**KIOSK).new_page()
    page.goto(f"/k/{counter.code}?lang=en")
    page.get_by_role("button", name="Start the survey").click()
    next_button = page.locator("nav.steps-nav [data-next]")
    next_button.click()  # the officer is optional
    for codes in counter.factors.values():
        for code in codes:
            choose(page, counter.questions[code], counter.answer(code, 4))
        next_button.click()
    choose(page, counter.questions["TONGTHE"], 4)
    page.locator("nav.steps-nav [data-submit]").click()
    expect(page.locator("#kiosk-thanks")).to_be_visible()
    # After the gap between citizens the kiosk is back at its start, in Vietnamese.
    expect(page.get_by_role("heading", name="Mời Ông/Bà đánh giá sự phục vụ")).to_be_visible(timeout=15_000)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    _queue_is_empty(page, counter)
    assert len(_responses(live, counter)) == 1


@pytest.mark.browser
def test_a_kiosk_citizen_who_gave_no_feedback_skips_its_questions(live, new_context):
    """On the tablet the script hides the factor's questions (older tablet browsers lack CSS :has)."""
    counter = create_counter(live, "N", ["Võ Văn Lâm"])
    page = new_context(**KIOSK).new_page()
    _kiosk_start(page, counter)
    kiosk_next(page)
    for factor, codes in counter.factors.items():
        if factor == "PAKN":
            choose(page, counter.questions["PAKN-CO"], 0)
            expect(visible_step(page).locator(".gated")).to_have_attribute("hidden", "")
        else:
            for code in codes:
                choose(page, counter.questions[code], 4)
        kiosk_next(page)
        expect(page.locator("#kiosk .step-err")).to_be_hidden()
    _kiosk_closing_step(page, counter, 4)
    page.locator("nav.steps-nav [data-submit]").click()
    expect(page.locator("#kiosk-thanks")).to_be_visible()
    _queue_is_empty(page, counter)
    stored = _responses(live, counter)
    assert len(stored) == 1 and stored[0]["answers"] == 22 + 1 + 1  # no PAKN answers, the screening, overall
