"""The office's day in a real browser: a new PAKN is classified, assigned from the queue, drafted by the unit,
returned, drafted again, approved, notified and published — two people in two browsers, with screenshots."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback_app.complaints.intake import Intake, Sender, submit
from feedback_app.extensions import db
from feedback_app.models import Complaint, OrgUnit

from .browser_support import login, screenshot

try:
    from playwright.sync_api import expect
except ImportError:  # reported by the browser_available fixture
    expect = None  # type: ignore[assignment]

OFFICE = "vanphong@demo.khanhhoa.gov.vn"
UNIT = "dangkiem@demo.khanhhoa.gov.vn"
STAFF_SCREEN = {"viewport": {"width": 1366, "height": 900}}
pytestmark = pytest.mark.usefixtures("no_server_errors")  # shared browser fixtures: tests/browser_fixtures.py


def _new_pakn(server) -> tuple[int, str]:
    def file() -> tuple[int, str]:
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "SXD"))
        complaint, _secret = submit(Intake(
            agency_id=agency.id, kind="phan_anh", channel="web", title="Đăng kiểm xe tải chờ quá lâu",
            content="Ngày 20/11 tôi chờ đăng kiểm xe tải từ 7 giờ đến 15 giờ mới đến lượt; không ai thông báo.",
            sender=Sender(name="Đặng Văn Lực", address="5 Võ Thị Sáu, Nha Trang", phone="0906 555 123",
                          email="luc.dv@example.vn"), consent=True))
        return complaint.id, complaint.code

    return server.call(file)


def test_the_office_and_the_unit_take_a_pakn_from_receipt_to_publication(live, new_context, artifacts):
    complaint_id, code = _new_pakn(live)
    office = new_context(**STAFF_SCREEN).new_page()
    login(office, OFFICE)
    office.goto("/xu-ly/pakn/")
    row = office.locator("tr", has=office.get_by_role("link", name=code))
    expect(row).to_contain_text("Mới tiếp nhận")
    screenshot(office, artifacts, "office-1-queue", full_page=True)

    office.get_by_role("link", name=code).click()
    office.get_by_label("Thụ lý, xử lý tại cơ quan").check()
    office.get_by_role("button", name="Lưu phân loại").click()
    expect(office.locator(".flash.success")).to_be_visible()

    # Assign from the queue: tick the row, choose the unit, one click.
    office.goto("/xu-ly/pakn/")
    office.get_by_label(f"Chọn {code}").check()
    office.locator("form[action*='giao'] select[name=unit]").select_option(
        label="Trung tâm Đăng kiểm xe cơ giới Khánh Hòa")
    office.get_by_role("button", name="Giao", exact=True).click()
    expect(office.locator(".flash.success")).to_contain_text("Đã giao 1 mục")

    unit = new_context(**STAFF_SCREEN).new_page()
    login(unit, UNIT)
    unit.goto("/xu-ly/pakn/")
    unit.get_by_role("link", name=code).click()
    expect(unit.locator("main")).not_to_contain_text("0906555123")  # the unit does not see the sender
    unit.get_by_label("Dự thảo trả lời").fill("Trung tâm xin lỗi Ông.")
    unit.get_by_role("button", name=re.compile("Lưu dự thảo")).click()
    expect(unit.locator(".flash.success")).to_be_visible()

    office.goto(f"/xu-ly/pakn/{complaint_id}")
    expect(office.locator("main")).to_contain_text("0906555123")  # the office does
    office.get_by_label("Trả lại đơn vị — lý do").fill("Chưa nêu nguyên nhân và biện pháp khắc phục.")
    office.get_by_role("button", name="Trả lại dự thảo").click()
    expect(office.locator("main")).to_contain_text("Đã giao đơn vị")

    unit.reload()
    unit.get_by_label("Dự thảo trả lời").fill(
        "Ngày 20/11 một dây chuyền kiểm định dừng để bảo trì đột xuất. Trung tâm xin lỗi Ông; từ 01/12 Trung tâm "
        "nhắn tin báo giờ dự kiến đến lượt và mở thêm dây chuyền cho xe tải vào cuối tháng.")
    unit.get_by_role("button", name=re.compile("Lưu dự thảo")).click()
    screenshot(unit, artifacts, "office-2-unit-draft", full_page=True)

    office.reload()
    office.get_by_role("button", name="Duyệt trả lời").click()
    office.get_by_role("button", name="Thông báo người gửi").click()
    expect(office.locator("main")).to_contain_text("Đã thông báo người gửi")
    office.get_by_label(re.compile("Nội dung công khai")).fill(
        "Phản ánh về thời gian chờ đăng kiểm xe tải ngày 20/11.")
    office.get_by_role("button", name="Công khai câu trả lời").click()
    expect(office.locator("main")).to_contain_text("Đã công khai")
    screenshot(office, artifacts, "office-3-published", full_page=True)

    history = office.locator("table").last
    for step in ("Phân loại", "Giao đơn vị", "Trả lại dự thảo", "Duyệt trả lời", "Thông báo người gửi",
                 "Công khai"):
        expect(history).to_contain_text(step)

    def stored() -> tuple[str, str | None]:
        complaint = db.session.get(Complaint, complaint_id)
        return complaint.state, complaint.outcome

    assert live.call(stored) == ("published", "answered")
