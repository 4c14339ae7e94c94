"""Dossiers, apology slips and the SMS settings in a real browser: the office imports a small CSV through the upload
page (preview, progress bar to 100 %, result), opens a late dossier, writes its apology slip, prints it and records
its delivery; an administrator edits the invitation text with the live segment count and saves; the staff pages
fit a phone's width; the citizen's one-time link passes axe in English. Screenshots: tests/artifacts/dossiers-*.png."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from feedback_app.dossiers import slips, uploads
from feedback_app.extensions import db
from feedback_app.models import ApologySlip, Dossier, OutboxMessage, SurveyInvitation
from feedback_app.timeutil import local_today

from .browser_support import LiveServer, login, screenshot

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Page, expect
except ImportError:  # reported by the browser_available fixture
    Axe = expect = None  # type: ignore[assignment,misc]
    Page = object  # type: ignore[assignment,misc]

pytestmark = pytest.mark.usefixtures("no_server_errors")  # shared browser fixtures: tests/browser_fixtures.py
OFFICE = "vanphong@demo.khanhhoa.gov.vn"
STAFF_SCREEN = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
HEADER = ("STT,Mã hồ sơ,Mã thủ tục,Tên thủ tục,Lĩnh vực,Người nộp,Số điện thoại,Quầy,Cán bộ tiếp nhận,Ngày tiếp nhận,"
          "Ngày hẹn trả,Ngày trả kết quả,Số lần bổ sung,Hình thức nộp,Trạng thái")
# Records every step the import's progress bar shows (value, max, words) in sessionStorage, which outlives the
# navigation to the result page that follows the last step at once.
PROGRESS_RECORDER = """
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("import-status"), bar = document.getElementById("import-bar");
  if (!status || !bar) return;
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem("import-progress") || "[]");
    seen.push([bar.value, bar.max, status.textContent]);
    sessionStorage.setItem("import-progress", JSON.stringify(seen));
  }).observe(status, {childList: true, characterData: true, subtree: true});
});
"""


def _phone() -> str:
    return "09" + "".join(random.choice("0123456789") for _ in range(8))


def _csv(codes: dict[str, str]) -> bytes:
    """Four rows: returned on time today (so invited), two late ones not returned yet, one with a date no one can
    read (an error that must not block the others)."""
    today = local_today()
    d = lambda days: (today + timedelta(days=days)).strftime("%d/%m/%Y")  # noqa: E731
    rows = [
        f'1,{codes["on_time"]},1.002861,Cấp phù hiệu xe ô tô kinh doanh vận tải,Đường bộ,Trần Văn Bình,{_phone()},'
        f"Quầy 20,Nguyễn Thị Mai,{d(-6)},{d(0)},{d(0)},0,Trực tiếp,Đã trả kết quả",
        f'2,{codes["late"]},1.009972,"Cấp giấy phép xây dựng mới đối với công trình cấp II",Hoạt động xây dựng,'
        f"Lê Thị Hoa,{_phone()},Quầy 20,Trần Quốc Bảo,{d(-20)},{d(-3)},,1,Trực tuyến,Đang xử lý",
        f'3,{codes["late2"]},1.002859,Cấp giấy phép kinh doanh vận tải bằng xe ô tô,Đường bộ,Võ Minh Tâm,{_phone()},'
        f"Quầy 20,Nguyễn Thị Mai,{d(-12)},{d(-1)},,0,Trực tiếp,Đang xử lý",
        f'4,{codes["bad"]},1.002861,Cấp phù hiệu xe ô tô kinh doanh vận tải,Đường bộ,Phan Văn Đức,{_phone()},'
        f"Quầy 20,Nguyễn Thị Mai,31/02/2026,{d(0)},,0,Trực tiếp,Đang xử lý",
    ]
    return ("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n").encode("utf-8")


def _overflow(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def _axe(page: Page, what: str) -> list[str]:
    problems = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = "; ".join(", ".join(map(str, n["target"])) for n in violation["nodes"][:5])
            problems.append(f"{what}: {violation['id']} ({violation['impact']}): {violation['help']} [{targets}]")
    return problems


@pytest.fixture(scope="module")
def imported(live: LiveServer) -> dict[str, str]:
    """The codes of the module's CSV (the first test imports it through the browser)."""
    tag = uuid.uuid4().hex[:4].upper()
    return {name: f"000.00.17.H34-BR{tag}-{i}" for i, name in enumerate(("on_time", "late", "late2", "bad"), 1)}


@pytest.mark.browser
def test_the_office_imports_a_csv_writes_a_slip_prints_it_and_records_its_delivery(
        live, new_context, artifacts, imported, monkeypatch, tmp_path):
    monkeypatch.setattr(uploads, "CHUNK", 1)  # one row per request: the bar moves in steps a user would see
    file = tmp_path / "ho-so-thang.csv"
    file.write_bytes(_csv(imported))
    context = new_context(**STAFF_SCREEN)
    context.add_init_script(PROGRESS_RECORDER)
    page = context.new_page()
    login(page, OFFICE)

    page.goto("/xu-ly/ho-so/")
    page.get_by_role("link", name="Nhập hồ sơ (CSV, XLSX)").click()
    page.get_by_label("Tệp hồ sơ").set_input_files(str(file))
    screenshot(page, artifacts, "dossiers-1-upload", full_page=True)
    page.get_by_role("button", name="Tải lên và xem trước").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Xem trước tệp hồ sơ")
    counts = page.locator("#counts-h + p + ul.counts")
    expect(counts).to_contain_text("Số dòng hồ sơ trong tệp: 4")
    expect(counts).to_contain_text("Hồ sơ mới sẽ được thêm: 3")
    expect(counts).to_contain_text("Dòng lỗi, sẽ không được nhập: 1")
    report = page.locator("table.report tbody tr")
    expect(report).to_have_count(1)
    expect(report.first.locator("td").first).to_have_text("5")  # the file's line, header being line 1
    expect(report.first).to_contain_text("Lỗi: dòng không được nhập")
    screenshot(page, artifacts, "dossiers-2-preview", full_page=True)

    page.get_by_role("button", name="Xác nhận nhập hồ sơ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kết quả nhập hồ sơ")
    steps = page.evaluate("JSON.parse(sessionStorage.getItem('import-progress') || '[]')")
    assert len(steps) >= 3, f"the progress bar moved only through {steps}"
    assert [s[0] for s in steps] == sorted(s[0] for s in steps), f"the bar went backwards: {steps}"
    assert steps[-1][:2] == [4, 4] and steps[-1][2] == "Đã xử lý 4 / 4 dòng (100%)", steps
    done = page.locator("ul.counts")
    for line in ("Thêm mới: 3", "Cập nhật: 0", "Không thay đổi: 0", "Dòng lỗi, không nhập: 1"):
        expect(done).to_contain_text(line)
    screenshot(page, artifacts, "dossiers-3-result", full_page=True)

    # The late dossier, found through the list's filter.
    page.get_by_role("link", name="Xem danh sách hồ sơ").click()
    page.get_by_label("Mã hồ sơ có chứa").fill(imported["late"])
    page.get_by_role("button", name="Lọc").click()
    row = page.locator("table.data tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Quá hạn, chưa trả")  # late before it is even returned
    page.get_by_role("link", name=imported["late"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {imported['late']}")
    expect(page.get_by_role("note")).to_contain_text("Hồ sơ trễ hẹn")
    screenshot(page, artifacts, "dossiers-4-detail", full_page=True)

    def expected_new_date() -> str:
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == imported["late"]))
        day = slips.new_appointment_date(dossier.agency_id, slips.missed_date(dossier), local_today(), 7)
        return f"{day:%d/%m/%Y}"

    new_date = live.call(expected_new_date)
    page.get_by_role("link", name="Lập phiếu xin lỗi").click()
    page.get_by_label("Lý do chậm trễ").fill("Hồ sơ cần lấy ý kiến thẩm định của Phòng Quản lý xây dựng.")
    page.get_by_label("Số ngày làm việc hẹn thêm").fill("7")
    page.get_by_role("button", name="Xem ngày hẹn mới").click()  # no script: the form posts and comes back
    expect(page.get_by_role("status")).to_have_text(f"Ngày hẹn mới sẽ là: {new_date}")
    expect(page.get_by_label("Lý do chậm trễ")).to_have_value(re.compile("thẩm định"))  # kept
    page.get_by_label("Chức vụ người ký").fill("KT. Giám đốc - Phó Giám đốc")
    page.get_by_label("Họ tên người ký").fill("Nguyễn Văn Hòa")
    screenshot(page, artifacts, "dossiers-5-slip-form", full_page=True)
    page.get_by_role("button", name="Lập phiếu", exact=True).click()

    # The printable slip: the facts on screen, the document below; printing leaves only the document.
    expect(page.locator(".flash.success")).to_contain_text(f"hẹn lại ngày {new_date}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"Ngày hẹn mới{new_date}")
    slip = page.locator("article.slip")
    expect(slip).to_contain_text(imported["late"])
    expect(slip).to_contain_text(f"xin hẹn lại ngày trả kết quả giải quyết hồ sơ là ngày {new_date}")
    expect(page.get_by_text("Đã quá ngày hẹn cũ: giao bây giờ sẽ là giao muộn")).to_be_visible()
    screenshot(page, artifacts, "dossiers-6-slip", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".noprint")).to_be_hidden()
    expect(slip).to_be_visible()
    screenshot(page, artifacts, "dossiers-7-slip-print", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_label("Cách giao").select_option(label="Tại quầy")
    page.get_by_role("button", name="Ghi nhận đã giao").click()
    expect(page.locator(".flash.warning")).to_have_text("Đã ghi nhận giao phiếu muộn (sau ngày hẹn cũ).")
    expect(facts).to_contain_text("Giao muộn: sau ngày hẹn cũ")
    expect(page.get_by_role("button", name="Ghi nhận đã giao")).to_have_count(0)  # once only
    screenshot(page, artifacts, "dossiers-8-slip-delivered", full_page=True)

    page.get_by_role("link", name=f"Hồ sơ {imported['late']}").click()
    slip_row = page.locator("section.slips tbody tr")
    expect(slip_row).to_have_count(1)
    expect(slip_row.get_by_test_id("new-date")).to_have_text(new_date)
    expect(slip_row).to_contain_text("Giao muộn")


@pytest.mark.browser
def test_the_staff_pages_fit_a_phone(live, new_context, artifacts, imported):
    page = new_context(**PHONE).new_page()
    login(page, OFFICE)
    problems = []
    for name, path in (("list", "/xu-ly/ho-so/"), ("slips", "/xu-ly/ho-so/phieu-xin-loi"),
                       ("upload", "/xu-ly/ho-so/nhap")):
        page.goto(path)
        if (extra := _overflow(page)) > 0:
            problems.append(f"{path}: {extra}px wider than the phone")
        screenshot(page, artifacts, f"dossiers-phone-{name}", full_page=True)
    # Each dossier of the list reads as a card: every cell says which column it is.
    page.goto("/xu-ly/ho-so/?q=" + imported["late"])
    cell = page.locator("table.data tbody tr").first.locator("td").first
    if page.locator("table.data tbody tr td[data-label]").count():
        assert rendered_label(page) == "Mã hồ sơ"
    else:
        expect(cell).to_contain_text("Chưa có hồ sơ nào")  # the import test did not run first
    slip_ids = live.call(lambda: db.session.scalars(select(ApologySlip.id)).all())
    page.goto(f"/xu-ly/ho-so/phieu-xin-loi/{slip_ids[0]}")
    if (extra := _overflow(page)) > 0:
        problems.append(f"the printable slip: {extra}px wider than the phone")
    screenshot(page, artifacts, "dossiers-phone-slip", full_page=True)
    admin = new_context(**PHONE).new_page()
    login(admin)
    for name, path in (("sms", "/admin/sms"), ("funnel", "/admin/sms/funnel")):
        admin.goto(path)
        if (extra := _overflow(admin)) > 0:
            problems.append(f"{path}: {extra}px wider than the phone")
        screenshot(admin, artifacts, f"dossiers-phone-{name}", full_page=True)
    assert not problems, "\n".join(problems)


def rendered_label(page: Page) -> str:
    """The column name a stacked cell shows before its value (CSS generated content)."""
    return page.evaluate("""() => getComputedStyle(document.querySelector('table.data tbody td[data-label]'),
                                                    '::before').content.replace(/^"|"$/g, '')""")


@pytest.mark.browser
def test_the_administrator_sees_the_segment_count_change_while_typing_and_saves(live, new_context, artifacts):
    page = new_context(**STAFF_SCREEN).new_page()
    login(page)
    page.goto("/admin/sms")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tin nhắn SMS mời đánh giá")
    live_count = page.locator("#tpl-count")
    expect(live_count).to_contain_text("3 tin nhắn")  # the default text with diacritics
    template = page.get_by_label("Mẫu tin mời đánh giá")
    template.fill("{agency}: {link}")
    expect(live_count).to_contain_text("1 tin nhắn")
    template.press_sequentially(" Mời Ông/Bà đánh giá: trả lời 1 đến 5.", delay=5)
    expect(live_count).to_contain_text("có dấu")
    typed = live_count.inner_text()
    screenshot(page, artifacts, "dossiers-sms-1-typing", full_page=True)
    page.get_by_label("Tên định danh (brandname) đã đăng ký").fill("SXDKHANHHOA")
    expect(live_count).not_to_have_text(typed)  # the brand name is part of every message
    typed = live_count.inner_text()
    page.get_by_role("button", name="Lưu cài đặt").click()
    expect(page.locator(".flash.success")).to_contain_text("Đã lưu cài đặt tin nhắn")
    expect(page.locator("#sms-preview-saved")).to_contain_text("Mời Ông/Bà đánh giá: trả lời 1 đến 5.")
    expect(page.locator("#sms-preview-saved")).to_contain_text("SXDKHANHHOA")
    # What the page counted while typing is what the server counts for the saved text.
    segments = re.search(r"(\d+) tin nhắn", typed).group(1)
    expect(page.locator("#sms-count-saved")).to_contain_text(f"{segments} tin nhắn")
    expect(page.get_by_label("Mẫu tin mời đánh giá")).to_have_value(re.compile(r"^\{agency\}: \{link\} Mời"))
    screenshot(page, artifacts, "dossiers-sms-2-saved", full_page=True)


@pytest.mark.browser
def test_the_one_time_link_in_english_on_a_phone_passes_axe(live, new_context, artifacts, imported):
    """The Vietnamese page is audited in test_browser_survey_link; here the English one."""

    def token() -> str | None:
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == imported["on_time"]))
        invitation = dossier and db.session.scalar(select(SurveyInvitation)
                                                   .where(SurveyInvitation.dossier_id == dossier.id))
        if invitation is None or invitation.outbox_message_id is None:
            return None
        body = db.session.get(OutboxMessage, invitation.outbox_message_id).body
        return re.search(r"/s/([A-Za-z0-9_-]{12})", body).group(1)

    found = live.call(token)
    if found is None:
        pytest.skip("the import test did not run first (no invitation for its returned dossier)")
    page = new_context(**PHONE).new_page()
    page.goto(f"/s/{found}?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Satisfaction survey")
    assert _overflow(page) <= 0
    screenshot(page, artifacts, "dossiers-link-en", full_page=True)
    problems = _axe(page, "/s/<token>?lang=en")
    assert not problems, "\n".join(problems)
