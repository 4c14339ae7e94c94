"""Apology slips of late dossiers: the new date on the working calendar, refusals, delivery (late or not),
sending by SMS/e-mail in the slip's transaction, the DOCX and the printable page, rights and audit rows."""

from __future__ import annotations

import io
import itertools
from datetime import date, datetime, timedelta

import pytest
from docx import Document
from flask import render_template
from flask_login import login_user
from sqlalchemy import func, select

from feedback_app.calendar_service import add_exception
from feedback_app.dossiers import slips
from feedback_app.dossiers.slip_docx import build_docx, written_date
from feedback_app.extensions import db
from feedback_app.models import ApologySlip, AuditEvent, Dossier
from feedback_app.models.messaging import OutboxMessage
from feedback_app.models.survey import IllegalTransition
from feedback_app.timeutil import LOCAL_TZ, local_today

from . import factories

_seq = itertools.count(1)


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def make_dossier(agency, *, appointment: date, received: date | None = None, returned: date | None = None,
                 status: str | None = None, supplements: int = 0, channel: str = "online",
                 phone: str | None = "0905123456", email: str | None = "dan@example.vn",
                 officer=None) -> Dossier:
    """A dossier of the agency (the one-stop system's fields the slip uses)."""
    n = next(_seq)
    dossier = Dossier(code=f"000.00.12.H34-260210-{n:04d}", agency_id=agency.id, procedure_code="1.009994",
                      procedure_name="Cấp giấy phép xây dựng nhà ở riêng lẻ", citizen_name="Nguyễn Văn Dân",
                      phone=phone, email=email, received_date=received or appointment - timedelta(days=14),
                      appointment_date=appointment, returned_date=returned,
                      status=status or ("returned" if returned else "processing"), supplement_count=supplements,
                      channel=channel, officer_id=officer.id if officer else None)
    db.session.add(dossier)
    db.session.flush()
    return dossier


def create(user, dossier, days: int = 3, now: datetime | None = None, **kw) -> ApologySlip:
    values = {"reason": "Hồ sơ phải lấy ý kiến của Sở Tài nguyên và Môi trường", "extra_days": days,
              "signer_name": "Lê Văn Trưởng", "signer_title": "Giám đốc"} | kw
    return slips.create_slip(user, dossier, now=now, **values)


def audit_actions(entity) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == type(entity).__name__, AuditEvent.entity_id == str(entity.id))
        .order_by(AuditEvent.id)))


@pytest.fixture
def office(world):
    user = factories.user("office", world.agency)
    world.agency.address = "Số 4 Phan Chu Trinh, phường Nha Trang, tỉnh Khánh Hòa"
    db.session.commit()
    return user


# The new date on the working calendar ---------------------------------------------------------------------------

def test_new_date_skips_tet_and_the_weekends_and_the_slip_is_numbered_and_audited(world, office):
    # Appointment Friday 13/02/2026, written on Tuesday 10/02 (before the date: the point of the slip).
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13))
    slip = create(office, dossier, days=3, now=local(2026, 2, 10))
    # Tết 16-20/02 and the weekends 14-15 and 21-22 are skipped: 23, 24, 25.
    assert slip.new_appointment_date == date(2026, 2, 25)
    assert slip.original_appointment_date == date(2026, 2, 13)
    assert slip.number == f"1/PXL-{world.agency.code}"
    assert slip.delivered_at is None and slip.created_by_id == office.id
    assert audit_actions(slip) == ["apology_slip.create"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "apology_slip.create"))
    assert event.details["ground"] == "at_risk" and event.details["new_date"] == "2026-02-25"


def test_new_date_counts_from_today_when_the_date_has_passed_and_skips_24_november(world, office):
    dossier = make_dossier(world.agency, appointment=date(2026, 11, 18))
    # Written late, on Friday 20/11/2026: counted from today; Ngày Văn hóa Việt Nam (Tuesday 24/11) is off.
    slip = create(office, dossier, days=2, now=local(2026, 11, 20))
    assert slip.new_appointment_date == date(2026, 11, 25)


def test_new_date_follows_a_day_off_the_administrator_added(world, office):
    add_exception(None, date(2026, 3, 3), False, "Quyết định số 1/QĐ-UBND (thử)")
    dossier = make_dossier(world.agency, appointment=date(2026, 3, 2))
    slip = create(office, dossier, days=1, now=local(2026, 2, 27))
    assert slip.new_appointment_date == date(2026, 3, 4)


def test_numbers_run_per_agency_and_year(world, office):
    first = create(office, make_dossier(world.agency, appointment=date(2026, 12, 10)), now=local(2026, 12, 1))
    second = create(office, make_dossier(world.agency, appointment=date(2026, 12, 10)), now=local(2026, 12, 2))
    next_year = create(office, make_dossier(world.agency, appointment=date(2027, 1, 8)), now=local(2027, 1, 4))
    other_agency = factories.unit("Sở Tư pháp", "so", parent=world.province)
    other = create(factories.user("office", other_agency),
                   make_dossier(other_agency, appointment=date(2026, 12, 10)), now=local(2026, 12, 2))
    assert [s.number.split("/")[0] for s in (first, second, next_year, other)] == ["1", "2", "1", "1"]


# Refusals and input --------------------------------------------------------------------------------------------

def test_no_slip_for_a_dossier_returned_on_time_or_cancelled(world, office):
    on_time = make_dossier(world.agency, appointment=date(2026, 2, 13), returned=date(2026, 2, 12))
    with pytest.raises(IllegalTransition, match="đúng hẹn"):
        create(office, on_time, now=local(2026, 2, 12))
    cancelled = make_dossier(world.agency, appointment=date(2026, 2, 13), status="cancelled")
    with pytest.raises(IllegalTransition, match="hủy"):
        create(office, cancelled, now=local(2026, 2, 12))
    assert db.session.scalar(select(ApologySlip.id)) is None


def test_late_returned_and_supplemented_dossiers_get_slips(world, office):
    returned_late = make_dossier(world.agency, appointment=date(2026, 2, 13), returned=date(2026, 2, 24))
    supplemented = make_dossier(world.agency, appointment=date(2026, 2, 13), returned=date(2026, 2, 12),
                                supplements=2)
    assert create(office, returned_late, now=local(2026, 2, 24)).new_appointment_date == date(2026, 2, 27)
    assert create(office, supplemented, now=local(2026, 2, 10)).new_appointment_date == date(2026, 2, 25)
    with pytest.raises(IllegalTransition, match="đã có phiếu"):
        slip = returned_late.slips[0]
        slips.record_delivery(office, slip, method="counter", now=local(2026, 2, 24, 10))
        create(office, returned_late, now=local(2026, 2, 25))


def test_one_slip_per_missed_promise(world, office):
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13))
    first = create(office, dossier, days=3, now=local(2026, 2, 10))
    with pytest.raises(IllegalTransition, match="chưa được giao"):
        create(office, dossier, now=local(2026, 2, 11))
    slips.record_delivery(office, first, method="counter", now=local(2026, 2, 11))
    # The new date is missed too: the second slip apologises for the first slip's date.
    second = create(office, dossier, days=2, now=local(2026, 2, 24))
    assert second.original_appointment_date == date(2026, 2, 25)
    assert second.new_appointment_date == date(2026, 2, 27)


@pytest.mark.parametrize(("field", "values"), [
    ("reason", {"reason": "   "}),
    ("reason", {"reason": "lý do\u202e"}),
    ("extra_working_days", {"extra_days": 0}),
    ("extra_working_days", {"extra_days": 61}),
    ("extra_working_days", {"extra_days": None}),
    ("signer_name", {"signer_name": ""}),
    ("signer_title", {"signer_title": "x" * 121}),
])
def test_bad_input_is_named_and_nothing_is_saved(world, office, field, values):
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13))
    with pytest.raises(slips.SlipInputError) as caught:
        create(office, dossier, now=local(2026, 2, 10), **values)
    assert field in caught.value.errors
    assert db.session.scalar(select(ApologySlip.id)) is None


# Delivery ------------------------------------------------------------------------------------------------------

def test_delivered_late_uses_the_local_date(world, office):
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13))
    slip = create(office, dossier, now=local(2026, 2, 10))
    # 23:30 on the appointment date in Vietnam: in time.
    slips.record_delivery(office, slip, method="counter", delivered_at=local(2026, 2, 13, 23, 30),
                          now=local(2026, 2, 14, 8))
    assert slip.delivered_late is False and slip.delivery_method == "counter"
    assert slip.delivered_by_id == office.id

    other = make_dossier(world.agency, appointment=date(2026, 2, 13))
    late = create(office, other, now=local(2026, 2, 10))
    # 00:30 on the 14th in Vietnam is still the 13th in UTC: late all the same.
    slips.record_delivery(office, late, method="post", delivered_at=local(2026, 2, 14, 0, 30),
                          now=local(2026, 2, 14, 8))
    assert late.delivered_late is True
    assert audit_actions(late) == ["apology_slip.create", "apology_slip.deliver"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "apology_slip.deliver",
                                                       AuditEvent.entity_id == str(late.id)))
    assert event.details["late"] is True and event.details["method"] == "post"


def test_a_slip_is_delivered_once_and_never_in_the_future_or_before_it_was_written(world, office):
    slip = create(office, make_dossier(world.agency, appointment=date(2026, 2, 13)), now=local(2026, 2, 10))
    with pytest.raises(slips.SlipInputError) as caught:
        slips.record_delivery(office, slip, method="counter", delivered_at=local(2026, 2, 12),
                              now=local(2026, 2, 11))
    assert "delivered_at" in caught.value.errors
    with pytest.raises(slips.SlipInputError):
        slips.record_delivery(office, slip, method="counter", delivered_at=local(2026, 2, 9), now=local(2026, 2, 11))
    with pytest.raises(slips.SlipInputError) as caught:
        slips.record_delivery(office, slip, method="fax", now=local(2026, 2, 11))
    assert "method" in caught.value.errors
    slips.record_delivery(office, slip, method="counter", now=local(2026, 2, 11))
    with pytest.raises(IllegalTransition):
        slips.record_delivery(office, slip, method="post", now=local(2026, 2, 12))
    assert slip.delivery_method == "counter"


# Sending -------------------------------------------------------------------------------------------------------

def outbox_rows(slip) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.entity_type == "apology_slips", OutboxMessage.entity_id == slip.id)
        .order_by(OutboxMessage.channel)))


def test_sending_queues_sms_and_email_and_records_the_delivery(app, world, office):
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13), phone="+84 905 123 456")
    slip = create(office, dossier, now=local(2026, 2, 10))
    slips.send_slip(office, slip, sms=True, email=True, now=local(2026, 2, 11))
    email, sms = outbox_rows(slip)
    assert (sms.channel, sms.recipient, sms.kind, sms.agency_id) == ("sms", "0905123456", "apology_slip",
                                                                       world.agency.id)
    assert dossier.code in sms.body and "25/02/2026" in sms.body and "xin lỗi" in sms.body
    assert len(sms.body) <= 134  # at most two UCS-2 segments
    assert email.recipient == "dan@example.vn" and dossier.code in email.subject
    assert f"\n- Mã hồ sơ: {dossier.code}\n- Thủ tục hành chính: " in email.body
    assert "Hồ sơ phải lấy ý kiến" in email.body and "25/02/2026" in email.body and "Lê Văn Trưởng" in email.body
    assert slip.delivery_method == "email" and slip.delivered_late is False
    assert slip.delivered_at is not None
    assert audit_actions(slip) == ["apology_slip.create", "apology_slip.send"]
    with pytest.raises(IllegalTransition):
        slips.send_slip(office, slip, sms=True, email=False, now=local(2026, 2, 12))
    assert len(outbox_rows(slip)) == 2


def test_sms_without_diacritics_when_the_setting_says_so(app, world, office):
    app.config["SMS_ASCII_ONLY"] = True
    try:
        slip = create(office, make_dossier(world.agency, appointment=date(2026, 2, 13), email=None),
                      now=local(2026, 2, 10))
        slips.send_slip(office, slip, sms=True, email=False, now=local(2026, 2, 16))
    finally:
        app.config["SMS_ASCII_ONLY"] = False
    (sms,) = outbox_rows(slip)
    assert sms.body.isascii() and len(sms.body) <= 160 and "xin loi" in sms.body
    assert slip.delivery_method == "sms" and slip.delivered_late is True  # sent on the 16th, after the 13th


def test_outbox_rows_and_delivery_share_one_transaction(world, office, monkeypatch):
    slip = create(office, make_dossier(world.agency, appointment=date(2026, 2, 13)), now=local(2026, 2, 10))

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(slips, "record", broken)
    with pytest.raises(RuntimeError):
        slips.send_slip(office, slip, sms=True, email=True, now=local(2026, 2, 11))
    db.session.expire_all()
    assert outbox_rows(slip) == []
    assert db.session.get(ApologySlip, slip.id).delivered_at is None


def test_no_phone_and_no_email_is_said_clearly(world, office):
    slip = create(office, make_dossier(world.agency, appointment=date(2026, 2, 13), phone=None, email=None),
                  now=local(2026, 2, 10))
    with pytest.raises(slips.SlipInputError) as caught:
        slips.send_slip(office, slip, sms=True, email=True, now=local(2026, 2, 11))
    assert "không có số điện thoại và địa chỉ e-mail" in caught.value.errors["channels"]
    with pytest.raises(slips.SlipInputError):
        slips.send_slip(office, create_with_phone_only(world, office), sms=False, email=True, now=local(2026, 2, 11))
    assert slip.delivered_at is None


def create_with_phone_only(world, office) -> ApologySlip:
    return create(office, make_dossier(world.agency, appointment=date(2026, 2, 13), email=None),
                  now=local(2026, 2, 10))


# The documents -------------------------------------------------------------------------------------------------

def test_docx_opens_back_with_the_slips_texts(world, office):
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13), received=date(2026, 1, 30))
    slip = create(office, dossier, now=local(2026, 2, 5))
    document = Document(io.BytesIO(build_docx(slip)))
    cells = [p.text for table in document.tables for cell in table._cells for p in cell.paragraphs]
    body = [p.text for p in document.paragraphs]
    everything = "\n".join(cells + body)
    assert world.agency.name.upper() in cells and world.province.name.upper() in cells
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert f"Số: {slip.number}" in cells
    assert "Khánh Hòa, ngày 05 tháng 02 năm 2026" in cells
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in body
    assert "Kính gửi: Ông/Bà Nguyễn Văn Dân." in body
    for text in (dossier.code, "Cấp giấy phép xây dựng nhà ở riêng lẻ (mã 1.009994)", "Ngày tiếp nhận: 30/01/2026",
                 "Ngày hẹn trả kết quả: 13/02/2026", "lý do: Hồ sơ phải lấy ý kiến của Sở Tài nguyên và Môi trường.",
                 "xin lỗi Ông/Bà", "là ngày 25/02/2026 (thêm 3 ngày làm việc)", "GIÁM ĐỐC", "Lê Văn Trưởng",
                 "Nơi nhận:"):
        assert text in everything, text
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert round(section.left_margin.cm, 1) == 3.0 and round(section.right_margin.cm, 1) == 1.5
    runs = [r for p in document.paragraphs for r in p.runs]
    assert runs and all(r.font.name == "Times New Roman" and r.font.size.pt in (13, 14) for r in runs)


def test_written_dates_follow_the_decree():
    assert written_date(date(2026, 2, 5)) == "ngày 05 tháng 02 năm 2026"
    assert written_date(date(2026, 11, 24)) == "ngày 24 tháng 11 năm 2026"
    assert written_date(date(2026, 3, 9)) == "ngày 09 tháng 3 năm 2026"


def test_dossier_section_shows_the_slips_and_the_late_flag(app, world, office):
    dossier = make_dossier(world.agency, appointment=date(2026, 2, 13))
    slip = create(office, dossier, now=local(2026, 2, 10))
    slips.record_delivery(office, slip, method="post", delivered_at=local(2026, 2, 16), now=local(2026, 2, 16, 10))
    with app.test_request_context():
        login_user(office)
        html = render_template("dossiers/_slips.html", dossier=dossier)
    assert slip.number in html and "Giao muộn" in html and "25/02/2026" in html
    viewer = factories.user("viewer", world.agency)
    with app.test_request_context():
        login_user(viewer)
        assert render_template("dossiers/_slips.html", dossier=dossier).strip() == ""


# Pages ---------------------------------------------------------------------------------------------------------

def csrf(client, path: str) -> str:
    return factories.csrf_token(client, path)


def test_office_writes_prints_downloads_and_delivers_through_the_pages(client, world, login_as):
    user = login_as("office")
    today = local_today()
    previous = make_dossier(world.agency, appointment=today + timedelta(days=1))
    create(user, previous, signer_name="Phạm Thị Giám", signer_title="Giám đốc")
    dossier = make_dossier(world.agency, appointment=today + timedelta(days=1))
    db.session.commit()
    page = client.get(f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi/moi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Phạm Thị Giám"' in html  # the signer of the agency's last slip

    token = csrf(client, f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi/moi")
    bad = client.post(f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi",
                      data={"csrf_token": token, "reason": "Chờ ý kiến", "extra_working_days": "99",
                            "signer_name": "Phạm Thị Giám", "signer_title": "Giám đốc"})
    assert bad.status_code == 400
    assert "Chờ ý kiến" in bad.get_data(as_text=True)  # the typed text is kept
    preview = client.post(f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi",
                          data={"csrf_token": token, "preview": "1", "extra_working_days": "2"})
    assert preview.status_code == 200
    assert len(dossier.slips) == 0
    done = client.post(f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi",
                       data={"csrf_token": token, "reason": "Chờ ý kiến thẩm định", "extra_working_days": "2",
                             "signer_name": "Phạm Thị Giám", "signer_title": "Giám đốc"})
    assert done.status_code == 303
    slip = db.session.scalar(select(ApologySlip).where(ApologySlip.dossier_id == dossier.id))
    assert done.headers["Location"].endswith(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}")

    shown = client.get(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in html
    assert slip.new_appointment_date.strftime("%d/%m/%Y") in html
    assert "css/slip.css" in html and "Chờ ý kiến thẩm định" in html and "0905***456" in html

    docx = client.get(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}.docx")
    assert docx.status_code == 200 and docx.mimetype.endswith("wordprocessingml.document")
    assert "PHIẾU XIN LỖI" in "\n".join(p.text for p in Document(io.BytesIO(docx.data)).paragraphs)

    token = csrf(client, f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}")
    wrong = client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/giao",
                        data={"csrf_token": token, "method": "counter", "day": "31/02/2026"})
    assert wrong.status_code == 400 and "dd/mm/yyyy" in wrong.get_data(as_text=True)
    given = client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/giao", data={"csrf_token": token, "method": "counter"})
    assert given.status_code == 303
    assert slip.delivery_method == "counter" and slip.delivered_late is False
    again = client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/giao", data={"csrf_token": token, "method": "post"})
    assert again.status_code == 409


def test_sending_from_the_page(client, world, login_as):
    user = login_as("office")
    slip = create(user, make_dossier(world.agency, appointment=local_today() + timedelta(days=1)))
    db.session.commit()
    token = csrf(client, f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}")
    none = client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/gui", data={"csrf_token": token})
    assert none.status_code == 400
    sent = client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/gui", data={"csrf_token": token, "sms": "1"})
    assert sent.status_code == 303
    assert [m.channel for m in outbox_rows(slip)] == ["sms"] and slip.delivery_method == "sms"


def test_list_shows_what_is_due_waiting_and_delivered_late(client, world, login_as):
    user = login_as("office")
    today = local_today()
    soon = make_dossier(world.agency, appointment=today + timedelta(days=1))
    far = make_dossier(world.agency, appointment=today + timedelta(days=60))
    overdue = make_dossier(world.agency, appointment=today - timedelta(days=3))
    on_time = make_dossier(world.agency, appointment=today - timedelta(days=3), returned=today - timedelta(days=4))
    waiting_dossier = make_dossier(world.agency, appointment=today + timedelta(days=2))
    waiting = create(user, waiting_dossier)
    late_dossier = make_dossier(world.agency, appointment=today - timedelta(days=2))
    late = create(user, late_dossier, days=10)
    slips.record_delivery(user, late, method="counter")
    db.session.commit()
    html = client.get("/xu-ly/ho-so/phieu-xin-loi").get_data(as_text=True)
    due_part, rest = html.split('id="waiting-h"')
    waiting_part, late_part = rest.split('id="late-h"')
    assert soon.code in due_part and overdue.code in due_part
    assert far.code not in html and on_time.code not in html
    assert waiting.number in waiting_part and waiting_dossier.code not in due_part
    assert late.number in late_part and "Giao muộn" in late_part and "1 trên 1 phiếu đã giao" in late_part
    assert late_dossier.code not in due_part  # its slip's new date is ahead


def test_the_list_reads_the_dossiers_with_the_slips_not_one_query_per_row(client, world, login_as):
    from sqlalchemy import event

    user = login_as("office")
    today = local_today()

    def queries() -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/xu-ly/ho-so/phieu-xin-loi").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    counts = []
    for batch in (2, 12):
        for _ in range(batch):
            create(user, make_dossier(world.agency, appointment=today + timedelta(days=2)))  # waiting
            late = create(user, make_dossier(world.agency, appointment=today - timedelta(days=2)))
            slips.record_delivery(user, late, method="counter")  # delivered late
        db.session.commit()
        db.session.expire_all()
        counts.append(queries())
    assert counts[0] == counts[1], counts


# Rights --------------------------------------------------------------------------------------------------------

def test_login_required(client, world, office):
    slip = create(office, make_dossier(world.agency, appointment=date(2026, 2, 13)), now=local(2026, 2, 10))
    db.session.commit()
    for path in ("/xu-ly/ho-so/phieu-xin-loi", f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}",
                 f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}.docx", f"/xu-ly/ho-so/{slip.dossier_id}/phieu-xin-loi/moi"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_another_agencys_staff_see_nothing(client, world, office, login_as):
    dossier = make_dossier(world.agency, appointment=local_today() + timedelta(days=1))
    slip = create(office, dossier)
    db.session.commit()
    other = factories.unit("Sở Tư pháp", "so", parent=world.province)
    login_as("office", unit=other)
    for path in (f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}", f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}.docx",
                 f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi/moi"):
        assert client.get(path).status_code == 404, path
    token = csrf(client, "/xu-ly/ho-so/phieu-xin-loi")
    assert client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/giao",
                       data={"csrf_token": token, "method": "counter"}).status_code == 404
    assert client.post(f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi",
                       data={"csrf_token": token, "reason": "x", "extra_working_days": "2", "signer_name": "A",
                             "signer_title": "B"}).status_code == 404
    assert dossier.code not in client.get("/xu-ly/ho-so/phieu-xin-loi").get_data(as_text=True)
    assert slip.delivered_at is None and len(dossier.slips) == 1


def test_viewers_are_refused(client, world, login_as):
    login_as("viewer")
    assert client.get("/xu-ly/ho-so/phieu-xin-loi").status_code == 403


def test_counter_officers_hand_over_their_own_dossiers_slips_only(client, world, office, login_as):
    own = make_dossier(world.agency, appointment=local_today() + timedelta(days=1), officer=world.officer_a)
    others = make_dossier(world.agency, appointment=local_today() + timedelta(days=1), officer=world.officer_b)
    own_slip, other_slip = create(office, own), create(office, others)
    db.session.commit()
    clerk = login_as("counter", officer=world.officer_a)
    assert not slips.can(clerk, "create", own) and slips.can(clerk, "deliver", own)
    assert client.get(f"/xu-ly/ho-so/{own.id}/phieu-xin-loi/moi").status_code == 403
    assert client.get(f"/xu-ly/ho-so/phieu-xin-loi/{other_slip.id}").status_code == 404
    token = csrf(client, f"/xu-ly/ho-so/phieu-xin-loi/{own_slip.id}")
    assert client.post(f"/xu-ly/ho-so/phieu-xin-loi/{own_slip.id}/gui",
                       data={"csrf_token": token, "sms": "1"}).status_code == 403
    assert client.post(f"/xu-ly/ho-so/phieu-xin-loi/{own_slip.id}/giao",
                       data={"csrf_token": token, "method": "post"}).status_code == 400
    assert client.post(f"/xu-ly/ho-so/phieu-xin-loi/{own_slip.id}/giao",
                       data={"csrf_token": token, "method": "counter"}).status_code == 303
    assert own_slip.delivered_by_id == clerk.id
    assert audit_actions(own_slip)[-1] == "apology_slip.deliver"


def test_forms_need_their_csrf_token(client, world, login_as):
    user = login_as("office")
    dossier = make_dossier(world.agency, appointment=local_today() + timedelta(days=1))
    slip = create(user, make_dossier(world.agency, appointment=local_today() + timedelta(days=1)))
    db.session.commit()
    assert client.post(f"/xu-ly/ho-so/{dossier.id}/phieu-xin-loi",
                       data={"reason": "x", "extra_working_days": "2", "signer_name": "A",
                             "signer_title": "B"}).status_code == 400
    assert client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/giao", data={"method": "counter"}).status_code == 400
    assert client.post(f"/xu-ly/ho-so/phieu-xin-loi/{slip.id}/gui", data={"sms": "1"}).status_code == 400
    assert dossier.slips == [] and slip.delivered_at is None and outbox_rows(slip) == []


def test_slips_written_at_the_same_moment_get_their_own_numbers_and_one_per_dossier(app, tmp_root):
    """Real transactions on their own database: two clerks write slips at once. Two dossiers of one agency get
    two numbers; two slips for one dossier: one is stored, the other is refused."""
    import threading

    from feedback_app.models import User

    from .conftest import migrated_app

    if app.config["BACKEND"] != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    application = migrated_app("postgresql", tmp_root, "slip_race")
    with application.app_context():
        from feedback_app.surveys.questionnaires import seed_questionnaires

        seed_questionnaires()
        world = factories.build_world()
        users = [factories.user("office", world.agency).id, factories.user("office", world.agency).id]
        a, b, c = (make_dossier(world.agency, appointment=date(2026, 12, 10)).id for _ in range(3))
        db.session.commit()
        db.session.remove()

    def race(pairs: list[tuple[int, int]]) -> list[str]:
        start, outcomes = threading.Barrier(len(pairs)), []

        def write(user_id: int, dossier_id: int) -> None:
            with application.app_context():
                user, dossier = db.session.get(User, user_id), db.session.get(Dossier, dossier_id)
                assert dossier.slips == []
                db.session.commit()
                start.wait(timeout=10)
                try:
                    outcomes.append(create(user, dossier, now=local(2026, 12, 3)).number)
                except IllegalTransition:
                    outcomes.append("refused")
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=write, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return sorted(outcomes)

    two_dossiers = race([(users[0], a), (users[1], b)])
    one_dossier = race([(users[0], c), (users[1], c)])
    with application.app_context():
        agency_code = db.session.get(Dossier, a).agency.code
        stored = db.session.scalar(select(func.count(ApologySlip.id)).where(ApologySlip.dossier_id == c))
        db.session.remove()
        db.engine.dispose()
    assert two_dossiers == [f"1/PXL-{agency_code}", f"2/PXL-{agency_code}"]
    assert one_dossier == [f"3/PXL-{agency_code}", "refused"] and stored == 1
