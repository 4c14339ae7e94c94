"""Staff entry of PAKN received by letter, e-mail or paper form (/xu-ly/tiep-nhan): deadlines from the original
date of receipt, clear refusals, attachments, the agency of the user."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from feedback_app.complaints.policies import seed_policies
from feedback_app.extensions import db
from feedback_app.models import Attachment, AuditEvent, Complaint
from feedback_app.staff_intake.services import receipt_instant
from feedback_app.timeutil import local_today, to_local

from . import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CONTENT = "Tôi nộp hồ sơ cấp phép xây dựng ngày 10/10/2026, hẹn trả 24/10 nhưng đến nay chưa có kết quả."


@pytest.fixture
def policies(db_session):
    seed_policies()
    db_session.commit()


def _form(client, **overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": factories.csrf_token(client, "/xu-ly/tiep-nhan"), "channel": "letter",
        "received_on": "02/11/2026", "received_time": "", "kind": "phan_anh", "nature": "pakn", "title": "",
        "content": CONTENT, "sender_name": "Trần Văn Bình", "sender_address": "5 Lê Lợi, Nha Trang",
        "sender_phone": "0905 123 456", "sender_email": "", "consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_a_letter_runs_on_deadlines_from_its_original_date(login_as, client, world, policies):
    user = login_as("office")
    response = client.post("/xu-ly/tiep-nhan", data=_form(client))
    assert response.status_code == 303
    item = db.session.scalars(select(Complaint)).one()
    assert response.headers["Location"].endswith((f"/xu-ly/pakn/{item.id}", f"/da-tiep-nhan/{item.code}"))
    assert (item.channel, item.content, item.legal, item.created_by_id) == ("letter", CONTENT, True, user.id)
    assert item.sender_phone == "0905123456" and item.consent_at is not None
    assert to_local(item.received_at).strftime("%d/%m/%Y %H:%M") == "02/11/2026 08:00"
    # Received on Monday 02/11/2026: that day never counts; five working days later is Monday 09/11/2026.
    assert to_local(item.classify_due_at).date().isoformat() == "2026-11-09"
    assert to_local(item.answer_due_at).date().isoformat() == "2026-11-16"  # phản ánh: 10 working days
    assert item.code.startswith("PA-2026-")
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "complaint.receive")) is not None
    done = client.get(f"/xu-ly/tiep-nhan/da-tiep-nhan/{item.code}").get_data(as_text=True)
    assert item.code in done and "09/11/2026" in done


def test_the_hour_of_receipt_is_kept_when_given(login_as, client, world, policies):
    login_as("office")
    response = client.post("/xu-ly/tiep-nhan", data=_form(client, received_time="16:45", channel="paper"))
    assert response.status_code == 303
    item = db.session.scalars(select(Complaint)).one()
    assert to_local(item.received_at).strftime("%d/%m/%Y %H:%M") == "02/11/2026 16:45"
    assert item.channel == "paper"
    assert to_local(item.classify_due_at).date().isoformat() == "2026-11-09"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("received_on", "TOMORROW", "không thể ở tương lai"),
    ("received_on", "2/13/2026", "dd/mm/yyyy"),
    ("received_on", "", "dd/mm/yyyy"),
    # Years the working calendar does not cover (deadlines could not be counted; year 1 overflows in UTC).
    ("received_on", "01/01/1900", "phải từ 01/01/1995 đến hôm nay"),
    ("received_on", "01/01/0001", "phải từ 01/01/1995 đến hôm nay"),
    ("received_on", "1994-12-31", "phải từ 01/01/1995 đến hôm nay"),
    ("received_time", "25:00", "HH:MM"),
    ("content", "  ", "Vui lòng nhập nội dung"),
    ("sender_phone", "12345", "Số điện thoại chưa đúng"),
    ("sender_email", "khong-phai-email", "thư điện tử chưa đúng"),
    ("consent", None, "Hãy đồng ý"),
])
def test_bad_input_is_refused_with_a_message_and_kept(login_as, client, world, policies, field, value, message):
    login_as("office")
    if value == "TOMORROW":
        value = (local_today() + timedelta(days=1)).strftime("%d/%m/%Y")
    response = client.post("/xu-ly/tiep-nhan", data=_form(client, **{field: value}, title="Tiêu đề giữ lại"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Tiêu đề giữ lại" in html and "Trần Văn Bình" in html
    assert _count(Complaint) == 0


def test_scans_are_attached_and_other_files_refused(login_as, client, world, policies):
    login_as("office")
    bad = client.post("/xu-ly/tiep-nhan", content_type="multipart/form-data",
                      data={**_form(client), "files": [(io.BytesIO(b"MZ\x90\x00 not a scan"), "thu.exe")]})
    assert bad.status_code == 400 and "không phải ảnh" in bad.get_data(as_text=True)
    assert _count(Complaint) == 0
    good = client.post("/xu-ly/tiep-nhan", content_type="multipart/form-data",
                       data={**_form(client), "files": [(io.BytesIO(PDF), "thu-quet.pdf")]})
    assert good.status_code == 303
    attachment = db.session.scalars(select(Attachment)).one()
    assert (attachment.mime, attachment.filename, attachment.size) == ("application/pdf", "thu-quet.pdf", len(PDF))


def test_a_to_cao_is_marked_and_runs_on_no_pakn_deadline(login_as, client, world, policies):
    login_as("office")
    response = client.post("/xu-ly/tiep-nhan", data=_form(client, nature="to_cao", channel="email",
                                                           sender_email="binh@example.com"))
    assert response.status_code == 303
    item = db.session.scalars(select(Complaint)).one()
    assert (item.nature, item.channel, item.sender_email) == ("to_cao", "email", "binh@example.com")
    assert item.classify_due_at is None and item.answer_due_at is None


def test_the_office_enters_only_for_its_agency_an_admin_chooses(login_as, client, world, policies):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    login_as("office")
    page = client.get("/xu-ly/tiep-nhan").get_data(as_text=True)
    assert world.agency.name in page and other.name not in page
    refused = client.post("/xu-ly/tiep-nhan", data=_form(client, agency_id=str(other.id)))
    assert refused.status_code == 400 and _count(Complaint) == 0
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/xu-ly/tiep-nhan")})
    login_as("admin")
    assert client.post("/xu-ly/tiep-nhan", data=_form(client, agency_id=str(other.id))).status_code == 303
    assert db.session.scalars(select(Complaint)).one().agency_id == other.id


def test_another_agencys_confirmation_is_not_found(login_as, client, world, policies):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    login_as("admin")
    client.post("/xu-ly/tiep-nhan", data=_form(client, agency_id=str(other.id)))
    code = db.session.scalars(select(Complaint.code)).one()
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/xu-ly/tiep-nhan")})
    login_as("office")
    assert client.get(f"/xu-ly/tiep-nhan/da-tiep-nhan/{code}").status_code == 404


def test_receipt_instant_defaults_to_eight_in_the_morning():
    assert to_local(receipt_instant("02/11/2026")).strftime("%H:%M") == "08:00"
    assert to_local(receipt_instant("2026-11-02", "14h30")).strftime("%H:%M") == "14:30"


def test_a_letter_with_scans_larger_than_the_general_body_limit_is_accepted(login_as, client, world, policies, app):
    """Scans of a several-page letter exceed the app's general request limit (portraits): the entry form takes
    what its attachment limits allow."""
    login_as("office")
    scan = PDF + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    assert len(scan) <= app.config["PAKN_MAX_FILE_BYTES"]
    response = client.post("/xu-ly/tiep-nhan", content_type="multipart/form-data",
                           data={**_form(client), "files": [(io.BytesIO(scan), "thu-quet-4-trang.pdf")]})
    assert response.status_code == 303
    assert db.session.scalars(select(Attachment.size)).one() == len(scan)
