"""The hotline log (/duong-day-nong): who may do what, logging a call, turning it into a PAKN (once), the list,
its masking of phone numbers, the XLSX export."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from feedback_app.complaints.policies import seed_policies
from feedback_app.extensions import db
from feedback_app.hotline import services
from feedback_app.models import AuditEvent, Complaint, HotlineCall, User
from feedback_app.surveys.questionnaires import seed_questionnaires
from feedback_app.timeutil import LOCAL_TZ, as_utc, to_local, utcnow

from . import factories
from .conftest import migrated_app

ROLES = ("admin", "office", "unit", "counter", "viewer", "hotline")
CALL_AT = datetime(2026, 11, 2, 9, 15, tzinfo=LOCAL_TZ)  # a Monday
NOTES = ("Ông Lê Văn Tám gọi: nộp hồ sơ cấp phép xây dựng ngày 10/10/2026 tại quầy 20, hẹn trả 24/10 "
         "nhưng đến nay chưa có kết quả; đề nghị Sở trả lời lý do chậm.")


@pytest.fixture
def policies(db_session):
    seed_policies()
    db_session.commit()


def _call(world, operator: User, agency=None, **kw) -> HotlineCall:
    call = HotlineCall(agency_id=(agency or world.agency).id, operator_id=operator.id,
                       started_at=as_utc(kw.pop("started_at", CALL_AT)),
                       duration_seconds=kw.pop("duration_seconds", 270),
                       caller_name=kw.pop("caller_name", "Lê Văn Tám"),
                       caller_phone=kw.pop("caller_phone", "0905123456"),
                       topic=kw.pop("topic", "Chậm trả kết quả cấp phép xây dựng"), notes=kw.pop("notes", NOTES),
                       outcome=kw.pop("outcome", "answered"), **kw)
    db.session.add(call)
    db.session.flush()
    return call


def _operator(world) -> User:
    user = factories.user("hotline", world.agency)
    db.session.commit()
    return user


def _token(client) -> str:
    return factories.csrf_token(client, "/account/password")


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


# --- who may do what ---------------------------------------------------------------------------------------------

OPERATORS = {"admin", "office", "hotline"}
READERS = OPERATORS | {"viewer"}
PAGES = [  # (method, path template, roles allowed)
    ("GET", "/duong-day-nong", READERS),
    ("GET", "/duong-day-nong/xuat.xlsx", READERS),
    ("GET", "/duong-day-nong/{id}", READERS),
    ("GET", "/duong-day-nong/ghi", OPERATORS),
    ("POST", "/duong-day-nong/ghi", OPERATORS),
    ("GET", "/duong-day-nong/{id}/chuyen-pakn", OPERATORS),
    ("POST", "/duong-day-nong/{id}/chuyen-pakn", OPERATORS),
    ("GET", "/xu-ly/tiep-nhan", {"admin", "office"}),
    ("POST", "/xu-ly/tiep-nhan", {"admin", "office"}),
    ("GET", "/xu-ly/tiep-nhan/da-tiep-nhan/PA-2026-999999", {"admin", "office"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "allowed"), PAGES, ids=[f"{m} {p}" for m, p, _a in PAGES])
def test_every_role_against_every_page(login_as, client, world, role, method, path, allowed):
    call = _call(world, _operator(world))
    db.session.commit()
    login_as(role, officer=world.officer_a if role == "counter" else None)
    data = {"csrf_token": _token(client)} if method == "POST" else None
    response = client.open(path.format(id=call.id), method=method, data=data)
    if role in allowed:
        # Allowed: the page, or (an empty POST) the form back with what to fix; the unknown code is not found.
        assert response.status_code in (200, 400, 404), response.status_code
        assert response.status_code != 404 or "da-tiep-nhan" in path
    else:
        assert response.status_code == 403
    assert _count(Complaint) == 0 and _count(HotlineCall) == 1  # an empty POST stores nothing


@pytest.mark.parametrize(("method", "path", "_allowed"), PAGES, ids=[f"{m} {p}" for m, p, _a in PAGES])
def test_a_visitor_is_sent_to_the_login_page(client, world, method, path, _allowed):
    response = client.open(path.format(id=1), method=method)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- logging a call ----------------------------------------------------------------------------------------------

def _call_form(client, **overrides) -> dict[str, str]:
    data = {"csrf_token": _token(client), "started_at": "02/11/2026 09:15", "caller_name": "Lê Văn Tám",
            "caller_phone": "+84 905 123 456", "duration": "04:30", "topic": "Chậm trả kết quả cấp phép",
            "notes": NOTES, "outcome": "answered"}
    data.update(overrides)
    return data


def test_an_operator_logs_a_call_as_it_was_said(login_as, client, world):
    operator = login_as("hotline")
    response = client.post("/duong-day-nong/ghi", data=_call_form(client))
    assert response.status_code == 303
    call = db.session.scalars(select(HotlineCall)).one()
    assert as_utc(call.started_at) == datetime(2026, 11, 2, 2, 15, tzinfo=UTC)  # 09:15 in Hà Nội time
    assert (call.caller_phone, call.duration_seconds, call.notes) == ("0905123456", 270, NOTES)
    assert (call.agency_id, call.operator_id, call.outcome, call.complaint_id) == (
        world.agency.id, operator.id, "answered", None)
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "hotline.log")).one()
    assert audit.user_id == operator.id and audit.entity_id == str(call.id)
    assert "Đã ghi cuộc gọi" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_form_opens_at_the_current_local_time(login_as, client):
    login_as("hotline")
    html = client.get("/duong-day-nong/ghi").get_data(as_text=True)
    assert to_local(utcnow()).strftime("%d/%m/%Y") in html


def test_save_and_convert_goes_to_the_conversion_form(login_as, client, world):
    login_as("office")
    response = client.post("/duong-day-nong/ghi", data={**_call_form(client), "then": "convert"})
    call = db.session.scalars(select(HotlineCall)).one()
    assert response.headers["Location"].endswith(f"/duong-day-nong/{call.id}/chuyen-pakn")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("notes", "   ", "ghi lại trung thực nội dung"),
    ("started_at", "FUTURE", "không thể ở tương lai"),
    ("started_at", "31/02/2026 10:00", "dd/mm/yyyy HH:MM"),
    # Years the working calendar does not cover: a PAKN made of the call could not have its deadlines counted.
    ("started_at", "02/11/1026 08:00", "phải từ 01/01/1995 đến nay"),
    ("started_at", "01/01/1900 08:00", "phải từ 01/01/1995 đến nay"),
    ("started_at", "01/01/0001 00:00", "phải từ 01/01/1995 đến nay"),
    ("caller_phone", "12345", "Số điện thoại người gọi chưa đúng"),
    ("duration", "mười phút", "Thời lượng chưa đúng"),
    ("duration", "99:99", "Thời lượng chưa đúng"),
    ("topic", "", "chủ đề cuộc gọi"),
])
def test_bad_input_is_refused_with_a_message_and_kept(login_as, client, world, field, value, message):
    login_as("hotline")
    if value == "FUTURE":
        value = to_local(utcnow() + timedelta(hours=2)).strftime("%d/%m/%Y %H:%M")
    data = _call_form(client, **{field: value}, caller_name="Nguyễn Thị Hoa Giữ Lại")
    response = client.post("/duong-day-nong/ghi", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Nguyễn Thị Hoa Giữ Lại" in html  # what was typed comes back
    assert _count(HotlineCall) == 0
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action.like("hotline.%"))) is None


@pytest.mark.parametrize(("text", "seconds"), [("04:30", 270), ("5", 300), ("7,5", 450), ("2.25", 135),
                                               ("", None), ("0:59", 59)])
def test_durations_people_type(text, seconds):
    assert services.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["abc", "-3", "1:75", "999:00", "5 phút"])
def test_durations_that_make_no_sense(text):
    with pytest.raises(ValueError):
        services.parse_duration(text)


# --- a call becomes a PAKN ---------------------------------------------------------------------------------------

def _convert(client, call_id: int, **overrides):
    data = {"csrf_token": _token(client), "kind": "phan_anh", "nature": "pakn",
            "address": "12 Trần Phú, Nha Trang", "consent": "y"}
    data.update(overrides)
    return client.post(f"/duong-day-nong/{call_id}/chuyen-pakn", data={k: v for k, v in data.items() if v is not None})


def test_a_call_becomes_a_pakn_with_its_content_and_time(login_as, client, world, policies):
    operator = login_as("hotline")
    call = _call(world, operator)
    db.session.commit()
    response = _convert(client, call.id)
    assert response.status_code == 303
    complaint = db.session.scalars(select(Complaint)).one()
    assert (complaint.channel, complaint.content, complaint.title) == ("hotline", NOTES, call.topic)
    assert as_utc(complaint.received_at) == as_utc(call.started_at)
    assert (complaint.sender_name, complaint.sender_phone, complaint.sender_address) == (
        "Lê Văn Tám", "0905123456", "12 Trần Phú, Nha Trang")
    assert complaint.legal and complaint.consent_at is not None and complaint.nature == "pakn"
    # Deadlines run from the call (Monday 02/11/2026): classification by Monday 09/11, answer by Monday 16/11.
    assert to_local(complaint.classify_due_at).date().isoformat() == "2026-11-09"
    assert complaint.answer_due_at is not None
    assert to_local(complaint.answer_due_at).date().isoformat() == "2026-11-16"
    db.session.refresh(call)
    assert (call.outcome, call.complaint_id) == ("pakn", complaint.id)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hotline.to_complaint",
                                                      AuditEvent.entity_id == str(call.id))) is not None
    page = client.get(f"/duong-day-nong/{call.id}", follow_redirects=True).get_data(as_text=True)
    assert complaint.code in page


def test_a_call_logged_with_a_year_the_calendar_does_not_cover_is_not_converted(login_as, client, world, policies):
    operator = login_as("hotline")
    call = _call(world, operator, started_at=datetime(1026, 11, 2, 8, 0, tzinfo=LOCAL_TZ))  # logged before the check
    db.session.commit()
    response = _convert(client, call.id)
    assert response.status_code == 400
    assert "ngoài các năm 1995–2200" in response.get_data(as_text=True)
    assert _count(Complaint) == 0
    db.session.refresh(call)
    assert call.complaint_id is None and call.outcome == "answered"


def test_a_call_is_converted_once(login_as, client, world, policies):
    operator = login_as("office")
    call = _call(world, operator)
    db.session.commit()
    assert _convert(client, call.id).status_code == 303
    second = _convert(client, call.id)
    assert second.status_code == 409
    assert "đã được chuyển thành PAKN" in second.get_data(as_text=True)
    assert _count(Complaint) == 1
    with pytest.raises(services.CallAlreadyConverted):
        services.call_to_complaint(operator, call.id, "phan_anh", "pakn", "12 Trần Phú", True)
    assert _count(Complaint) == 1


def test_without_the_callers_consent_nothing_is_filed(login_as, client, world, policies):
    call = _call(world, login_as("hotline"))
    db.session.commit()
    response = _convert(client, call.id, consent=None)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Hãy hỏi người gọi có đồng ý" in html and "12 Trần Phú, Nha Trang" in html
    assert _count(Complaint) == 0
    db.session.refresh(call)
    assert (call.outcome, call.complaint_id) == ("answered", None)


def test_a_khieu_nai_is_marked_to_be_referred_without_pakn_deadlines(login_as, client, world, policies):
    call = _call(world, login_as("hotline"))
    db.session.commit()
    response = _convert(client, call.id, nature="khieu_nai", kind="kien_nghi")
    assert response.status_code == 303
    complaint = db.session.scalars(select(Complaint)).one()
    assert (complaint.nature, complaint.channel, complaint.state) == ("khieu_nai", "hotline", "received")
    assert complaint.answer_due_at is None  # not handled as a PAKN: the office refers it
    assert "Khiếu nại" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_another_agency_neither_sees_nor_converts_the_call(login_as, client, world, policies):
    other_agency = factories.unit("Sở Y tế", "so", parent=world.province)
    other_call = _call(world, _operator(world), agency=other_agency, topic="Cuộc gọi của Sở khác")
    db.session.commit()
    login_as("office")
    assert client.get(f"/duong-day-nong/{other_call.id}").status_code == 404
    assert _convert(client, other_call.id).status_code == 404
    assert client.get(f"/duong-day-nong/{other_call.id}/chuyen-pakn").status_code == 404
    assert "Cuộc gọi của Sở khác" not in client.get("/duong-day-nong").get_data(as_text=True)
    assert _count(Complaint) == 0
    with pytest.raises(services.CallNotFound):
        services.call_to_complaint(db.session.get(User, factories.user("hotline", world.agency).id),
                                   other_call.id, "phan_anh")


def test_two_clicks_at_the_same_moment_file_one_complaint(app, tmp_root):
    # Real transactions on their own database: the test's rolled-back session cannot show a race.
    application = migrated_app(app.config["BACKEND"], tmp_root, "hotline_race")
    with application.app_context():
        seed_questionnaires()
        world = factories.build_world()
        seed_policies()
        operator = factories.user("hotline", world.agency)
        call = _call(world, operator)
        db.session.commit()
        call_id, operator_id = call.id, operator.id
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def click() -> None:
        with application.test_request_context():
            user = db.session.get(User, operator_id)
            db.session.commit()
            start.wait(timeout=10)
            try:
                services.call_to_complaint(user, call_id, "phan_anh", "pakn", "12 Trần Phú", True)
                outcomes.append("filed")
            except services.CallAlreadyConverted:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with application.app_context():
        complaints = db.session.scalar(select(func.count(Complaint.id)))
        linked = db.session.scalar(select(HotlineCall.complaint_id).where(HotlineCall.id == call_id))
        db.session.remove()
        db.engine.dispose()
    assert sorted(outcomes) == ["filed", "refused"]
    assert complaints == 1 and linked is not None


# --- the list and what each role sees ----------------------------------------------------------------------------

def test_the_list_masks_phones_and_filters(login_as, client, world):
    operator = _operator(world)
    _call(world, operator, topic="Hỏi lệ phí đăng kiểm", outcome="answered", caller_phone="0912345678",
          started_at=CALL_AT - timedelta(days=20))
    _call(world, operator, topic="Chậm trả giấy phép", outcome="not_pakn", caller_phone="0905123456")
    db.session.commit()
    login_as("office")
    html = client.get("/duong-day-nong").get_data(as_text=True)
    assert "0905***456" in html and "0905123456" not in html and "0912***678" in html
    assert html.index("Chậm trả giấy phép") < html.index("Hỏi lệ phí đăng kiểm")  # newest first
    found = client.get("/duong-day-nong?q=lệ+phí").get_data(as_text=True)
    assert "Hỏi lệ phí đăng kiểm" in found and "Chậm trả giấy phép" not in found
    by_outcome = client.get("/duong-day-nong?outcome=not_pakn").get_data(as_text=True)
    assert "Chậm trả giấy phép" in by_outcome and "Hỏi lệ phí đăng kiểm" not in by_outcome
    by_date = client.get("/duong-day-nong?date_from=01/11/2026&date_to=02/11/2026").get_data(as_text=True)
    assert "Chậm trả giấy phép" in by_date and "Hỏi lệ phí đăng kiểm" not in by_date
    bad = client.get("/duong-day-nong?date_from=hôm+qua")
    assert bad.status_code == 400 and "dd/mm/yyyy" in bad.get_data(as_text=True)



@pytest.mark.parametrize("query", ["date_from=01/01/0001", "date_to=31/12/9999", "date_from=01/01/1900",
                                   "date_to=9999-12-31"])
@pytest.mark.parametrize("path", ["/duong-day-nong", "/duong-day-nong/xuat.xlsx"])
def test_a_date_filter_outside_the_calendars_years_is_refused(login_as, client, world, path, query):
    _call(world, _operator(world))
    db.session.commit()
    login_as("office")
    response = client.get(f"{path}?{query}&q=giấy+phép")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "phải nằm trong các năm 1995–2200" in html
    assert 'value="giấy phép"' in html  # the other filters are kept
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hotline.export")) is None


def test_a_number_too_large_for_an_id_is_not_found(login_as, client, world):
    login_as("office")
    for path in ("/duong-day-nong/" + "9" * 25, f"/duong-day-nong/{2**63}", f"/duong-day-nong/{2**63}/chuyen-pakn"):
        assert client.get(path).status_code == 404


def test_the_summary_counts_this_months_calls_by_outcome(login_as, client, world):
    operator = _operator(world)
    now = utcnow()
    _call(world, operator, outcome="not_pakn", started_at=now - timedelta(minutes=30), duration_seconds=60)
    _call(world, operator, outcome="dropped", started_at=now - timedelta(minutes=20), duration_seconds=180)
    _call(world, operator, outcome="answered", started_at=now - timedelta(days=40), duration_seconds=600)
    db.session.commit()
    user = factories.user("hotline", world.agency)
    summary = services.month_summary(user)
    assert summary.total == 2
    assert (summary.by_outcome["not_pakn"], summary.by_outcome["dropped"], summary.by_outcome["answered"]) == (1, 1, 0)
    assert summary.average_seconds == 120
    login_as("hotline")
    assert "02:00" in client.get("/duong-day-nong").get_data(as_text=True)


def test_the_operator_sees_the_caller_on_one_call_a_viewer_does_not(login_as, client, world):
    call = _call(world, _operator(world), caller_name="Phạm Thị Lan")
    db.session.commit()
    login_as("hotline")
    html = client.get(f"/duong-day-nong/{call.id}").get_data(as_text=True)
    assert "0905123456" in html and "Phạm Thị Lan" in html and NOTES in html
    client.post("/logout", data={"csrf_token": _token(client)})
    login_as("viewer")
    listing = client.get("/duong-day-nong").get_data(as_text=True)
    one = client.get(f"/duong-day-nong/{call.id}").get_data(as_text=True)
    for html in (listing, one):
        assert "0905123456" not in html and "Phạm Thị Lan" not in html
    assert "0905***456" in one and NOTES in one


def _workbook(client, query: str = ""):
    response = client.get("/duong-day-nong/xuat.xlsx" + query)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(("role", "phone", "name"), [
    ("office", "0905***456", "Lê Văn Tám"), ("admin", "0905***456", "Lê Văn Tám"),
    ("hotline", "0905***456", "Lê Văn Tám"), ("viewer", "0905***456", None),
])
def test_the_export_opens_and_masks_phones_for_every_role(login_as, client, world, role, phone, name):
    """A file travels: the full number is read on one call's page only, never exported (not even to the office)."""
    _call(world, _operator(world))
    db.session.commit()
    login_as(role)
    rows = _workbook(client)
    assert len(rows) == 2 and rows[0][0] == "Thời điểm gọi"
    started, duration, caller, number, topic, notes, outcome, code = rows[1]
    assert started == CALL_AT.replace(tzinfo=None) and duration == "04:30"
    assert (caller, number, notes, outcome) == (name, phone, NOTES, "Đã giải đáp")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hotline.export")) is not None


def test_the_export_follows_the_filters(login_as, client, world):
    operator = _operator(world)
    _call(world, operator, topic="Hỏi lệ phí")
    _call(world, operator, topic="Chậm trả giấy phép")
    db.session.commit()
    login_as("office")
    rows = _workbook(client, "?q=giấy+phép")
    assert [r[4] for r in rows[1:]] == ["Chậm trả giấy phép"]


@pytest.mark.parametrize(("phone", "masked"), [("0905123456", "0905***456"), ("02583822222", "0258***222"),
                                               (None, ""), ("113", "***")])
def test_mask_phone(phone, masked):
    assert services.mask_phone(phone) == masked
