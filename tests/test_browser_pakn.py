"""The citizen's PAKN pages in a real browser (headless Chromium through Playwright) on a phone-sized screen:
fill the form, keep the receipt's link, open it, answer the one satisfaction question; and an axe-core audit of
every page a citizen sees. Screenshots go to tests/artifacts/pakn-*.png."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback_app.complaints.intake import Intake, submit
from feedback_app.extensions import db
from feedback_app.models import Complaint, OrgUnit, User

from .browser_support import (
    LiveServer,
    create_counter,
    layout_problems,
    screenshot,
)

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # reported by the browser_available fixture
    Axe = sync_playwright = expect = None  # type: ignore[assignment,misc]
    Browser = BrowserContext = Page = object  # type: ignore[assignment,misc]

pytestmark = pytest.mark.usefixtures("no_server_errors")  # shared browser fixtures: tests/browser_fixtures.py
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
SENDER = {"Họ và tên": "Phạm Văn Lộc", "Địa chỉ": "25 Yersin, phường Nha Trang", "Số điện thoại": "0914 222 333"}


def _axe_problems(page: Page, what: str) -> list[str]:
    lines = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        lines.append(f"{what}: {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
    return lines


def _to_notified(live: LiveServer, code: str, publish: str | None = None) -> None:
    """The office's steps, done directly: the outcome reaches the sender (and is published with a text)."""

    def run() -> None:
        complaint = db.session.scalar(select(Complaint).where(Complaint.code == code))
        staff = db.session.scalar(select(User).where(User.role.in_(("office", "admin"))).order_by(User.id))
        complaint.classify("handle")
        complaint.assign(complaint.agency_id)
        complaint.draft_answer("Cơ quan đã làm việc với quầy và bố trí thêm một cán bộ vào buổi sáng.", staff.id)
        complaint.approve(staff.id)
        complaint.notify()
        if publish:
            complaint.publish(publish, complaint.answer_text)
        db.session.commit()

    live.call(run)


@pytest.mark.browser
def test_a_citizen_sends_a_pakn_from_a_phone_and_follows_it(live, new_context, artifacts):
    counter = create_counter(live, "PAKN", ["Đoàn Thị Hạnh"])
    page = new_context(**PHONE).new_page()
    page.goto(f"/pakn/new?quay={counter.code}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gửi phản ánh, kiến nghị")
    expect(page.locator("#anon-live")).to_be_visible()  # nothing typed yet: it would be an anonymous góp ý
    screenshot(page, artifacts, "pakn-1-form", full_page=True)
    page.get_by_label(re.compile("^Phản ánh")).check()
    page.get_by_label("Nội dung phản ánh, kiến nghị").fill(
        "Sáng 12/3 tôi chờ hơn hai giờ ở quầy thu phí mà không được hướng dẫn lấy số.")
    for label, value in SENDER.items():
        page.get_by_label(label, exact=False).first.fill(value)
    expect(page.locator("#anon-live")).to_be_hidden()  # name, address and phone: a PAKN under the law
    page.locator("#files").set_input_files([{"name": "giay-hen.png", "mimeType": "image/png", "buffer": PNG}])
    page.locator("#consent").check()
    problems = layout_problems(page, "button, .btn, label.chk, select", 44)  # whole labels are the targets
    assert not problems, "\n".join(problems)
    page.get_by_role("button", name="Gửi phản ánh, kiến nghị").click()
    expect(page).to_have_url(re.compile(r"/pakn/da-gui$"))
    code = page.get_by_test_id("code").inner_text()
    link = page.get_by_test_id("private-link").inner_text()
    assert re.fullmatch(r"PA-\d{4}-\d{6}", code) and f"/pakn/{code}/" in link
    screenshot(page, artifacts, "pakn-2-receipt", full_page=True)
    axe = _axe_problems(page, "receipt")
    page.goto(link)
    expect(page.get_by_test_id("state")).to_contain_text("Mới tiếp nhận")
    screenshot(page, artifacts, "pakn-3-lookup", full_page=True)
    _to_notified(live, code)
    page.reload()
    expect(page.get_by_text("Ông/bà có hài lòng với việc tiếp nhận, xử lý")).to_be_visible()
    axe += _axe_problems(page, "lookup with the question")
    screenshot(page, artifacts, "pakn-4-question", full_page=True)
    page.locator("fieldset#satisfaction label:has(input[value='4'])").click()
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_test_id("satisfaction-done")).to_be_visible()
    screenshot(page, artifacts, "pakn-5-answered", full_page=True)
    assert not axe, "axe found serious or critical violations:\n" + "\n".join(axe)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_pakn_pages_have_no_serious_accessibility_violations(live, new_context, artifacts, lang):
    counter = create_counter(live, f"PA{lang.upper()}", ["Hồ Minh Tâm"])

    def published() -> str:
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "SXD"))
        complaint, _secret = submit(Intake(agency_id=agency.id, kind="kien_nghi", channel="web",
                                           content="Đề nghị niêm yết lệ phí ở cửa ra vào."))
        return complaint.code

    code = live.call(published)
    _to_notified(live, code, publish="Đề nghị niêm yết lệ phí tại cửa ra vào của Trung tâm.")
    page = new_context(**PHONE).new_page()
    problems: list[str] = []
    for path in (f"/pakn/new?quay={counter.code}", "/pakn/new", "/cong-khai/pakn"):
        page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        problems += _axe_problems(page, path)
    screenshot(page, artifacts, f"pakn-published-{lang}", full_page=True)
    page.goto(f"/pakn/new?quay={counter.code}&lang={lang}")
    page.locator("#consent").check()
    page.locator("form#pakn button[type=submit]").click()  # nothing written: the errors are shown
    expect(page.locator("#err-summary")).to_be_visible()
    problems += _axe_problems(page, "/pakn/new after a validation error")
    screenshot(page, artifacts, f"pakn-errors-{lang}", full_page=True)
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
