"""The Văn phòng Sở's PAKN queue: intake, deadlines on the real calendar, every action through the pages, rights,
stale edits, duplicates, extensions, reminders and the calendar moving open deadlines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedback_app.calendar_service import add_exception
from feedback_app.complaints import actions
from feedback_app.complaints.errors import ComplaintInputError, StaleComplaint
from feedback_app.complaints.intake import Intake, Sender, file_complaint, submit
from feedback_app.complaints.reminders import send_due_reminders
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Complaint, ComplaintEvent, User
from feedback_app.models.messaging import Notification, OutboxMessage
from feedback_app.models.survey import IllegalTransition
from feedback_app.timeutil import as_utc, to_local

from . import factories

SENDER = Sender(name="Lê Văn Tám", address="12 Yersin, Nha Trang", phone="0905 123 456", email="tam@example.vn")
TET_EVE = datetime(2026, 2, 11, 9, 0, tzinfo=UTC)  # Wednesday 11/02/2026, before Tết (16–20/02 off)


def _file(world, *, sender=SENDER, received_at=None, kind="phan_anh", content="Quầy 3 trả hồ sơ trễ hẹn 5 ngày.",
          commit=True, **kw) -> Complaint:
    intake = Intake(agency_id=world.agency.id, kind=kind, content=content, channel=kw.pop("channel", "web"),
                    sender=sender, consent=bool(sender.name or sender.phone or sender.email),
                    received_at=received_at, **kw)
    complaint, _secret = submit(intake) if commit else file_complaint(intake)
    return complaint


def _client(app, user: User):
    client = app.test_client()
    token = factories.csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def _post(client, complaint: Complaint, action: str, **data):
    token = factories.csrf_token(client, f"/xu-ly/pakn/{complaint.id}")
    db.session.refresh(complaint)
    data.setdefault("version", complaint.version)
    return client.post(f"/xu-ly/pakn/{complaint.id}/{action}", data={"csrf_token": token, **data})


@pytest.fixture
def office(world, db_session):
    user = factories.user("office", world.agency)
    user.is_head = True
    db_session.commit()
    return user


@pytest.fixture
def unit_user(world, db_session):
    user = factories.user("unit", world.unit_a)
    db_session.commit()
    return user


# Intake and deadlines ------------------------------------------------------------------------------------------

def test_a_legal_pakn_gets_a_code_and_deadlines_counted_over_tet(world, db_session):
    complaint = _file(world, received_at=TET_EVE)
    assert complaint.code == f"PA-2026-{complaint.id:06d}" and complaint.legal
    # 5 working days: 12, 13/02, then Tết and the weekends, then 23, 24, 25/02 — closing at 17:00.
    assert to_local(complaint.classify_due_at) == datetime(2026, 2, 25, 17, 0, tzinfo=to_local(TET_EVE).tzinfo)
    # 10 working days for a phản ánh: … 26, 27/02, 02, 03, 04/03.
    assert to_local(complaint.answer_due_at).date() == date(2026, 3, 4)
    assert complaint.events[0].action == "received"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "complaint.receive",
                                                      AuditEvent.entity_id == str(complaint.id)))


def test_the_receipt_goes_to_the_sender_and_the_office_is_told(world, office, db_session):
    complaint = _file(world)
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "pakn_receipt",
                                                         OutboxMessage.entity_id == complaint.id))
    assert mail.recipient == "tam@example.vn" and complaint.code in mail.body and "/pakn/" in mail.body
    note = db.session.scalar(select(Notification).where(Notification.user_id == office.id))
    assert complaint.code in note.text and note.link == f"/xu-ly/pakn/{complaint.id}"


def test_without_name_address_and_phone_it_is_an_anonymous_gop_y_without_deadlines(world, db_session):
    complaint = _file(world, sender=Sender(email="an@example.vn"))
    assert not complaint.legal
    assert complaint.classify_due_at is None and complaint.answer_due_at is None


@pytest.mark.parametrize(("change", "field"), [
    ({"content": "   "}, "content"),
    ({"sender": Sender(name="A", address="B", phone="12345")}, "phone"),
    ({"kind": "khieu_nai"}, "kind"),
    ({"sender": Sender(email="not-an-address")}, "email"),
])
def test_bad_intake_is_refused_with_the_field_and_nothing_is_stored(world, db_session, change, field):
    before = db.session.scalar(select(db.func.count(Complaint.id)))
    args = {"sender": SENDER, **change}
    with pytest.raises(ComplaintInputError) as refused:
        _file(world, **args)
    assert field in refused.value.errors
    assert db.session.scalar(select(db.func.count(Complaint.id))) == before


def test_personal_data_without_consent_is_refused(world, db_session):
    with pytest.raises(ComplaintInputError) as refused:
        submit(Intake(agency_id=world.agency.id, kind="phan_anh", content="Nội dung", channel="web",
                      sender=SENDER, consent=False))
    assert "consent" in refused.value.errors


def test_a_date_of_receipt_in_the_future_is_refused(world, db_session):
    with pytest.raises(ComplaintInputError) as refused:
        _file(world, received_at=datetime.now(UTC) + timedelta(days=2))
    assert "received_at" in refused.value.errors


# The office's day through the pages ----------------------------------------------------------------------------

def test_the_whole_way_through_the_pages(app, world, office, unit_user, db_session):
    complaint = _file(world)
    office_client, unit_client = _client(app, office), _client(app, unit_user)
    queue = office_client.get("/xu-ly/pakn/").get_data(as_text=True)
    assert complaint.code in queue
    assert _post(office_client, complaint, "classify", decision="handle").status_code == 303
    assert _post(office_client, complaint, "assign", unit=world.unit_a.id).status_code == 303
    assert complaint.code in unit_client.get("/xu-ly/pakn/").get_data(as_text=True)
    assert _post(unit_client, complaint, "draft", answer_text="Đơn vị xin lỗi, đã trả kết quả.").status_code == 303
    assert _post(office_client, complaint, "return", reason="Chưa nêu lý do trễ hẹn.").status_code == 303
    assert complaint.state == "assigned"
    assert _post(unit_client, complaint, "draft",
                 answer_text="Hồ sơ trễ do thiếu xác nhận của xã; đã trả kết quả ngày 05/11.").status_code == 303
    assert _post(office_client, complaint, "approve").status_code == 303
    assert _post(office_client, complaint, "notify").status_code == 303
    assert (complaint.state, complaint.outcome) == ("notified", "answered")
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "pakn_outcome"))
    assert "đã trả kết quả ngày 05/11" in mail.body and mail.recipient == "tam@example.vn"
    published = _post(office_client, complaint, "publish", published_text="Hồ sơ trễ hẹn; đã trả kết quả.",
                      published_answer="Đã trả kết quả ngày 05/11.")
    assert published.status_code == 303
    assert _post(office_client, complaint, "close").status_code == 303
    db.session.refresh(complaint)
    assert complaint.state == "closed"
    steps = [e.action for e in complaint.events]
    assert steps == ["received", "classify", "assign", "draft", "return", "draft", "approve", "notify", "publish",
                     "close"]
    assert {e.user_id for e in complaint.events[1:]} == {office.id, unit_user.id}
    audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(complaint.id))).all()
    assert "complaint.approve" in audited and "complaint.publish" in audited
    page = office_client.get(f"/xu-ly/pakn/{complaint.id}").get_data(as_text=True)
    assert "Chưa nêu lý do trễ hẹn." in page  # the return's reason stays in the history


def test_a_move_out_of_order_is_refused_and_changes_nothing(app, world, office, db_session):
    complaint = _file(world)
    client = _client(app, office)
    response = _post(client, complaint, "approve")
    assert response.status_code == 409
    assert "trạng thái hiện tại" in response.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.state == "received" and len(complaint.events) == 1


def test_missing_reason_keeps_the_typed_text_and_saves_nothing(app, world, office, db_session):
    complaint = _file(world)
    client = _client(app, office)
    response = _post(client, complaint, "classify", decision="forwarded", forwarded_to="", reason="Thuộc UBND xã")
    assert response.status_code == 400
    assert "Thuộc UBND xã" in response.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.state == "received"


def test_an_edit_from_a_stale_page_gets_a_clear_message(app, world, office, db_session):
    complaint = _file(world)
    client = _client(app, office)
    old_version = complaint.version
    actions.classify(office, complaint, complaint.version, "handle")  # someone else, meanwhile
    token = factories.csrf_token(client, f"/xu-ly/pakn/{complaint.id}")
    response = client.post(f"/xu-ly/pakn/{complaint.id}/classify",
                           data={"csrf_token": token, "version": old_version, "decision": "not_accepted",
                                 "reason": "Không thuộc thẩm quyền"})
    assert response.status_code == 409
    assert "người khác thay đổi" in response.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.outcome is None


def test_two_simultaneous_edits_cannot_overwrite_each_other(world, office, db_session):
    """The version column: the second writer's UPDATE matches no row once the first one committed."""
    complaint = _file(world)
    actions.classify(office, complaint, None, "handle")
    # Another request approved a reassignment meanwhile: the row's version moved on under our loaded object.
    other = Session(bind=db_session.connection(), join_transaction_mode="create_savepoint")
    other.execute(update(Complaint).where(Complaint.id == complaint.id)
                  .values(version=Complaint.version + 1, unit_id=world.unit_b.id, state="assigned"))
    other.commit()  # that other request committed; here the item stays loaded with its old version
    with pytest.raises(StaleComplaint):
        actions.assign(office, [complaint], world.unit_a.id)
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).unit_id != world.unit_a.id  # the loser's change is not stored


# Rights ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("office", 200), ("unit", 200), ("viewer", 200),
                                              ("counter", 403), ("hotline", 403)])
def test_who_may_open_the_queue(client, login_as, role, status):
    login_as(role)
    assert client.get("/xu-ly/pakn/").status_code == status


def test_the_queue_needs_a_login(client, world):
    response = client.get("/xu-ly/pakn/")
    assert response.status_code in (302, 401) and "/login" in response.headers.get("Location", "/login")


def test_a_unit_sees_only_its_items_and_not_the_sender(app, world, office, unit_user, db_session):
    mine, other = _file(world), _file(world, content="Cảng vụ thu phí sai.")
    for item, unit in ((mine, world.unit_a), (other, world.unit_b)):
        actions.classify(office, item, None, "handle")
        actions.assign(office, [item], unit.id)
    client = _client(app, unit_user)
    queue = client.get("/xu-ly/pakn/").get_data(as_text=True)
    assert mine.code in queue and other.code not in queue
    assert client.get(f"/xu-ly/pakn/{other.id}").status_code == 404
    page = client.get(f"/xu-ly/pakn/{mine.id}").get_data(as_text=True)
    assert "0905123456" not in page and "Lê Văn Tám" not in page and "tam@example.vn" not in page
    actions.share_identity(office, mine, None, True)
    assert "Lê Văn Tám" in client.get(f"/xu-ly/pakn/{mine.id}").get_data(as_text=True)


@pytest.mark.parametrize("action", ["classify", "approve", "notify", "publish", "close", "extend", "share", "erase"])
def test_a_unit_may_not_take_the_offices_actions(app, world, office, unit_user, db_session, action):
    complaint = _file(world)
    actions.classify(office, complaint, None, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    response = _post(_client(app, unit_user), complaint, action, decision="handle", reason="x")
    assert response.status_code == 403


def test_a_viewer_reads_without_the_sender_and_cannot_act(app, world, db_session):
    complaint = _file(world)
    viewer = factories.user("viewer", world.agency)
    db_session.commit()
    client = _client(app, viewer)
    page = client.get(f"/xu-ly/pakn/{complaint.id}").get_data(as_text=True)
    assert complaint.code in page and "Lê Văn Tám" not in page
    assert _post(client, complaint, "note", note="ghi chú").status_code == 403


def test_another_agencys_office_never_reaches_the_item(app, world, db_session):
    complaint = _file(world)
    elsewhere = factories.unit("Sở Y tế", "so", parent=world.province)
    stranger = factories.user("office", elsewhere)
    db_session.commit()
    client = _client(app, stranger)
    assert client.get(f"/xu-ly/pakn/{complaint.id}").status_code == 404
    assert complaint.code not in client.get("/xu-ly/pakn/?state=all").get_data(as_text=True)


# Queue ----------------------------------------------------------------------------------------------------------

def test_filters_and_bulk_assignment(app, world, office, db_session):
    long_ago = datetime.now(UTC) - timedelta(days=60)
    late, fresh = _file(world, received_at=long_ago), _file(world)
    client = _client(app, office)
    overdue = client.get("/xu-ly/pakn/?due=overdue").get_data(as_text=True)
    assert late.code in overdue and fresh.code not in overdue
    token = factories.csrf_token(client, "/xu-ly/pakn/")
    # One of them is not classified yet: nothing is assigned, and the message names it.
    response = client.post("/xu-ly/pakn/giao", data={"csrf_token": token, "ids": [late.id, fresh.id],
                                                     "unit": world.unit_a.id}, follow_redirects=True)
    assert late.code in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Complaint, fresh.id).unit_id is None
    for item in (late, fresh):
        actions.classify(office, db.session.get(Complaint, item.id), None, "handle")
    client.post("/xu-ly/pakn/giao", data={"csrf_token": token, "ids": [late.id, fresh.id], "unit": world.unit_a.id})
    db.session.expire_all()
    assert {db.session.get(Complaint, i).unit_id for i in (late.id, fresh.id)} == {world.unit_a.id}


# Duplicates, extensions, withdrawal, erasure ---------------------------------------------------------------------

def test_a_duplicate_follows_its_main_item_and_its_sender_gets_the_answer(world, office, unit_user, db_session):
    main = _file(world)
    copy = _file(world, sender=Sender(name="Phạm Thị Hoa", address="3 Trần Phú", phone="0912000111",
                                      email="hoa@example.vn"))
    actions.mark_duplicate(office, copy, None, main.code)
    actions.classify(office, main, None, "handle")
    actions.assign(office, [main], world.unit_a.id)
    actions.draft(unit_user, main, None, "Đã khắc phục.")
    actions.approve(office, main, None)
    actions.notify_sender(office, main, None)
    db.session.refresh(copy)
    assert (copy.state, copy.outcome, copy.answer_text) == ("notified", "duplicate", "Đã khắc phục.")
    recipients = set(db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.kind == "pakn_outcome")))
    assert recipients == {"tam@example.vn", "hoa@example.vn"}


def test_an_extension_keeps_who_why_and_both_dates(app, world, office, db_session):
    complaint = _file(world, received_at=TET_EVE)
    actions.classify(office, complaint, None, "handle")
    client = _client(app, office)
    assert _post(client, complaint, "extend", new_date="07/03/2026", reason="x").status_code == 400  # Saturday
    assert _post(client, complaint, "extend", new_date="31/03/2026", reason="x").status_code == 400  # past the limit
    response = _post(client, complaint, "extend", new_date="10/03/2026", reason="Cần xác minh thực địa.")
    assert response.status_code == 303
    db.session.refresh(complaint)
    assert to_local(complaint.answer_due_at).date() == date(2026, 3, 10)
    event = complaint.events[-1]
    assert (event.action, event.user_id, event.reason) == ("extended", office.id, "Cần xác minh thực địa.")
    assert event.details["old"].startswith("2026-03-04") and event.details["new"].startswith("2026-03-10")


def test_withdrawal_and_erasure(world, office, db_session):
    complaint = _file(world)
    actions.erase_personal(office, complaint, None, "Người gửi yêu cầu qua điện thoại ngày 01/12/2026")
    assert complaint.sender_name is None and complaint.sender_phone is None and complaint.personal_erased_at
    actions.withdraw(office, complaint, None, "Người gửi rút lại")
    assert (complaint.state, complaint.outcome) == ("closed", "withdrawn")


def test_not_accepted_is_told_to_the_sender_with_the_reason(world, office, db_session):
    complaint = _file(world)
    actions.classify(office, complaint, None, "not_accepted", reason="Nội dung không thuộc phạm vi PAKN.")
    actions.notify_sender(office, complaint, None)
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "pakn_outcome"))
    assert "Không thụ lý" in mail.body and "không thuộc phạm vi" in mail.body


# The calendar and reminders --------------------------------------------------------------------------------------

def test_a_new_day_off_moves_open_deadlines_and_keeps_the_old_date(world, office, db_session):
    complaint = _file(world, received_at=TET_EVE)
    before = to_local(complaint.answer_due_at).date()
    add_exception(office, date(2026, 2, 27), working=False, basis="Quyết định nghỉ bù (thử nghiệm)")
    db.session.commit()
    db.session.refresh(complaint)
    assert to_local(complaint.answer_due_at).date() == date(2026, 3, 5) and before == date(2026, 3, 4)
    moved = db.session.scalar(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id,
                                                           ComplaintEvent.action == "deadline_moved"))
    assert "nghỉ bù" in moved.reason and moved.details["answer_due_at"][0].startswith("2026-03-04")


def test_reminders_climb_the_steps_once_each(world, office, unit_user, db_session):
    unit_head = factories.user("unit", world.unit_a)
    unit_head.is_head = True
    db_session.commit()
    complaint = _file(world, received_at=TET_EVE)
    actions.classify(office, complaint, None, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    due = as_utc(complaint.answer_due_at)  # 04/03/2026 17:00

    def told(user):
        return db.session.scalar(select(db.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.text.contains("hạn"))) or 0

    send_due_reminders(datetime(2026, 2, 27, 2, 0, tzinfo=UTC))  # Friday: nothing due yet (step 1 is 02/03)
    assert told(unit_user) == 0
    send_due_reminders(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # two working days before
    assert told(unit_user) == 1 and told(unit_head) == 1  # the head is also unit staff at step 1
    send_due_reminders(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))  # again the same day: nothing new
    assert told(unit_user) == 1
    send_due_reminders(due - timedelta(hours=2))  # the day itself: the unit's head
    assert told(unit_head) == 2 and told(unit_user) == 1
    send_due_reminders(datetime(2026, 3, 5, 2, 0, tzinfo=UTC))  # the day after: overdue, the office's head
    assert told(office) >= 1
    assert "quá hạn" in db.session.scalars(select(Notification.text).where(Notification.user_id == office.id)
                                           .order_by(Notification.id.desc())).first()


# Retention ---------------------------------------------------------------------------------------------------------

def test_personal_data_is_erased_after_the_retention_period_only(app, world, office, db_session):
    old, recent, still_open = _file(world), _file(world), _file(world)
    for item in (old, recent):
        actions.classify(office, item, None, "not_accepted", reason="Không thuộc phạm vi")
        actions.notify_sender(office, item, None)
        actions.close(office, item, None)
    old.closed_at = datetime.now(UTC) - timedelta(days=app.config["PAKN_RETENTION_DAYS"] + 1)
    db_session.commit()
    runner = app.test_cli_runner()
    assert "would erase: personal data of 1 closed PAKN" in runner.invoke(args=["pakn", "erase-expired",
                                                                                "--dry-run"]).output
    assert db.session.get(Complaint, old.id).sender_name == "Lê Văn Tám"
    assert "erased: personal data of 1 closed PAKN" in runner.invoke(args=["pakn", "erase-expired"]).output
    db.session.expire_all()
    erased = db.session.get(Complaint, old.id)
    assert erased.sender_name is erased.sender_phone is erased.sender_email is erased.sender_address is None
    assert erased.personal_erased_at and erased.content  # the matter stays
    assert db.session.get(Complaint, recent.id).sender_name == "Lê Văn Tám"
    assert db.session.get(Complaint, still_open.id).sender_phone == "0905123456"


def test_the_export_keeps_to_the_scope_and_holds_no_personal_data(app, world, office, unit_user, db_session):
    from io import BytesIO

    from openpyxl import load_workbook

    mine, other = _file(world), _file(world, content="Cảng vụ thu phí sai.")
    for item, unit in ((mine, world.unit_a), (other, world.unit_b)):
        actions.classify(office, item, None, "handle")
        actions.assign(office, [item], unit.id)
    response = _client(app, unit_user).get("/xu-ly/pakn/xuat.xlsx?state=all")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Mã" and [r[0] for r in rows[1:]] == [mine.code]
    text = " ".join(str(v) for row in rows for v in row)
    assert "Lê Văn Tám" not in text and "0905123456" not in text and "tam@example.vn" not in text
    office_rows = load_workbook(BytesIO(_client(app, office).get("/xu-ly/pakn/xuat.xlsx").data)).active.max_row
    assert office_rows == 3


def test_two_people_deciding_at_the_same_moment_one_wins_the_other_is_told(app, tmp_root):
    """Real transactions on their own database: the office approves while a colleague returns the same draft,
    both from a page showing the same version. One change is stored; the other person gets StaleComplaint."""
    import threading

    from .conftest import migrated_app

    application = migrated_app(app.config["BACKEND"], tmp_root, "complaint_race")
    with application.app_context():
        from feedback_app.complaints.policies import seed_policies
        from feedback_app.surveys.questionnaires import seed_questionnaires

        seed_questionnaires()
        seed_policies()
        world = factories.build_world()
        first, second, unit_user = (factories.user("office", world.agency), factories.user("office", world.agency),
                                    factories.user("unit", world.unit_a))
        db.session.commit()
        complaint = _file(world)
        actions.classify(first, complaint, None, "handle")
        actions.assign(first, [complaint], world.unit_a.id)
        actions.draft(unit_user, complaint, None, "Đã khắc phục.")
        ids, seen_version = (complaint.id, first.id, second.id), complaint.version
        db.session.remove()
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(who: str, user_id: int) -> None:
        with application.app_context():
            user, item = db.session.get(User, user_id), db.session.get(Complaint, ids[0])
            db.session.commit()  # both have read the item; their decisions start from the same point
            start.wait(timeout=10)
            try:
                if who == "approve":
                    actions.approve(user, item, seen_version)
                else:
                    actions.return_draft(user, item, seen_version, "Chưa đủ ý.")
                outcomes[who] = "stored"
            except StaleComplaint:
                outcomes[who] = "stale"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=("approve", ids[1])),
               threading.Thread(target=decide, args=("return", ids[2]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with application.app_context():
        stored = db.session.get(Complaint, ids[0])
        state, actions_done = stored.state, [e.action for e in stored.events]
        db.session.remove()
        db.engine.dispose()
    assert sorted(outcomes.values()) == ["stale", "stored"]
    winner = next(who for who, outcome in outcomes.items() if outcome == "stored")
    assert state == {"approve": "approved", "return": "assigned"}[winner]
    assert actions_done.count("approve") + actions_done.count("return") == 1


# Defects found in review, each with the move that used to go through ------------------------------------------------

def test_after_erasure_the_public_page_shows_only_the_published_answer(app, client, world, office, unit_user,
                                                                         db_session):
    complaint = _file(world)
    actions.classify(office, complaint, None, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    actions.draft(unit_user, complaint, None, "Kính gửi ông Lê Văn Tám (0905 123 456): hồ sơ đã trả.")
    actions.approve(office, complaint, None)
    actions.notify_sender(office, complaint, None)
    actions.publish(office, complaint, None, "Phản ánh về trả hồ sơ trễ hẹn.", "Hồ sơ đã trả; cơ quan xin lỗi.")
    actions.erase_personal(office, complaint, None, "Yêu cầu của người gửi")
    for page in (client.get("/cong-khai/pakn"), client.get(f"/open311/v2/requests/{complaint.code}.json")):
        text = page.get_data(as_text=True)
        assert "cơ quan xin lỗi" in text and "Lê Văn Tám" not in text and "0905 123 456" not in text


def test_erasure_reaches_the_hotline_call_and_the_e_mails(world, office, db_session):
    from feedback_app.models import HotlineCall

    complaint = _file(world, channel="hotline")
    call = HotlineCall(agency_id=world.agency.id, operator_id=office.id, started_at=datetime.now(UTC),
                       caller_name="Lê Văn Tám", caller_phone="0905123456", topic="Trễ hẹn", notes="…",
                       outcome="pakn", complaint_id=complaint.id)
    db_session.add(call)
    db_session.commit()
    actions.erase_personal(office, complaint, None, "Yêu cầu của người gửi")
    db.session.refresh(call)
    assert call.caller_name is None and call.caller_phone is None and call.personal_erased_at
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.entity_id == complaint.id)).all()
    assert mails and all(m.recipient == "" and m.body == "" and m.status != "pending" for m in mails)


def test_an_office_account_in_the_van_phong_unit_works_the_agencys_queue(app, world, db_session):
    van_phong = factories.unit("Văn phòng Sở", "phong", parent=world.agency)
    clerk = factories.user("office", van_phong)
    db_session.commit()
    complaint = _file(world)
    client = _client(app, clerk)
    assert complaint.code in client.get("/xu-ly/pakn/").get_data(as_text=True)
    assert client.get(f"/xu-ly/pakn/{complaint.id}").status_code == 200


def test_a_new_policy_never_changes_the_days_an_open_item_was_given(world, office, db_session):
    from feedback_app.models import DeadlinePolicy

    complaint = _file(world, received_at=TET_EVE)
    before = (complaint.classify_due_at, complaint.answer_due_at)
    old = db.session.get(DeadlinePolicy, complaint.policy_id)
    old.active = False
    db.session.add(DeadlinePolicy(kind="phan_anh", legal_basis="Quy định mới", classify_days=3, answer_days=30))
    db_session.commit()
    add_exception(office, date(2199, 1, 2), working=False, basis="Ngày nghỉ không liên quan")
    db.session.commit()
    db.session.refresh(complaint)
    assert (as_utc(complaint.classify_due_at), as_utc(complaint.answer_due_at)) == tuple(as_utc(d) for d in before)
    assert complaint.policy_id == old.id


def test_duplicates_cannot_chain_be_reclassified_or_strand_their_senders(world, office, db_session):
    main, middle, last = _file(world), _file(world), _file(world)
    actions.mark_duplicate(office, last, None, middle.code)
    with pytest.raises(ComplaintInputError):
        actions.mark_duplicate(office, middle, None, main.code)  # middle has a follower
    with pytest.raises(IllegalTransition):
        actions.classify(office, last, None, "handle")  # a duplicate follows; it is not handled on its own
    with pytest.raises(ComplaintInputError):
        actions.withdraw(office, middle, None, "Rút lại")  # its follower would wait for ever


def test_a_duplicate_of_an_item_not_accepted_is_told_why(world, office, db_session):
    main = _file(world)
    copy = _file(world, sender=Sender(name="Phạm Thị Hoa", address="3 Trần Phú", phone="0912000111",
                                      email="hoa@example.vn"))
    actions.mark_duplicate(office, copy, None, main.code)
    actions.classify(office, main, None, "not_accepted", reason="Không thuộc thẩm quyền của Sở.")
    actions.notify_sender(office, main, None)
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "pakn_outcome",
                                                         OutboxMessage.recipient == "hoa@example.vn"))
    assert "Không thuộc thẩm quyền của Sở." in mail.body and "None" not in mail.body
    assert main.code in mail.body


def test_a_khieu_nai_is_referred_never_handled_as_pakn(world, office, db_session):
    complaint = _file(world, nature="khieu_nai")
    with pytest.raises(IllegalTransition):
        actions.classify(office, complaint, None, "handle")
    actions.classify(office, complaint, None, "referred", forwarded_to="Thanh tra tỉnh")
    assert complaint.outcome == "referred"


def test_no_withdrawal_once_the_sender_was_told(world, office, db_session):
    complaint = _file(world)
    actions.classify(office, complaint, None, "not_accepted", reason="Không thuộc phạm vi")
    actions.notify_sender(office, complaint, None)
    with pytest.raises(IllegalTransition):
        actions.withdraw(office, complaint, None, "Rút lại")


def test_a_late_refusal_is_counted_late(world, office, db_session):
    from feedback_app.complaints.deadlines import answered_on_time

    complaint = _file(world, received_at=datetime.now(UTC) - timedelta(days=12))  # past the 5 working days
    actions.classify(office, complaint, None, "forwarded", forwarded_to="UBND xã Diên Khánh")
    actions.notify_sender(office, complaint, None)
    assert answered_on_time(complaint) is False


def test_unusual_digits_in_the_assignment_form_are_refused_not_a_500(app, world, office, db_session):
    client = _client(app, office)
    token = factories.csrf_token(client, "/xu-ly/pakn/")
    response = client.post("/xu-ly/pakn/giao", data={"csrf_token": token, "ids": "²", "unit": "²"})
    assert response.status_code == 303


def test_staff_are_told_in_vietnamese_whatever_the_citizens_language(app, world, office, db_session):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        complaint = _file(world, channel="kiosk")
    text = db.session.scalar(select(Notification.text).where(Notification.user_id == office.id))
    assert text == f"PAKN mới {complaint.code} qua kênh Kiosk tại quầy"


def test_an_office_cannot_take_over_a_shared_answer_template(client, login_as, world, db_session):
    from feedback_app.models import AnswerTemplate

    shared = AnswerTemplate(agency_id=None, kind=None, title="Chung", body="Mẫu chung")
    db_session.add(shared)
    db_session.commit()
    login_as("office")
    assert client.get(f"/admin/answer-templates/{shared.id}").status_code == 404
    db.session.refresh(shared)
    assert shared.agency_id is None and shared.body == "Mẫu chung"


def test_the_queue_order_is_served_by_its_index_on_postgresql(app, world, db_session):
    """The ORDER BY of the queue must stay the very expression migration 0014 indexed, or PostgreSQL sorts the
    whole table on every page (bench/README.md: 1 s at 100,000 items)."""
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from feedback_app.complaints.queries import QueueFilter, queue_query

    admin = factories.user("admin", world.province)
    db_session.flush()
    stmt = queue_query(admin, QueueFilter(state="all")).limit(50)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    db.session.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
    assert "ix_complaints_due_order" in plan, plan


def test_a_code_searches_the_code_and_words_the_content(app, world, office, db_session):
    one, other = _file(world, content="Bãi giữ xe chật"), _file(world, content=f"Xem thêm {_file(world).code}")
    client = _client(app, office)
    by_code = client.get(f"/xu-ly/pakn/?q={one.code.lower()}").get_data(as_text=True)
    assert one.code in by_code and other.code not in by_code
    assert other.code in client.get("/xu-ly/pakn/?q=Xem thêm").get_data(as_text=True)


def test_the_summary_counts_each_outcome_apart_and_shows_late_answers(app, world, office, db_session):
    late = _file(world, received_at=datetime.now(UTC) - timedelta(days=12))
    actions.classify(office, late, None, "forwarded", forwarded_to="UBND xã Diên Khánh")
    actions.notify_sender(office, late, None)  # after the 5 working days
    on_time = _file(world)
    actions.classify(office, on_time, None, "not_accepted", reason="Không thuộc phạm vi")
    actions.notify_sender(office, on_time, None)
    _file(world, received_at=datetime.now(UTC) - timedelta(days=20))  # still open, overdue
    _file(world, sender=Sender())  # anonymous
    page = _client(app, office).get("/xu-ly/pakn/tong-hop?from=01/01/2026&to=31/12/2026").get_data(as_text=True)
    summary = re.sub(r"\s+", " ", page)
    assert "Tiếp nhận</dt><dd>4 (3 có đủ họ tên" in summary
    assert "Đã báo người gửi đúng hạn</dt><dd>1</dd>" in summary
    assert re.search(r"Đã báo người gửi trễ hạn</dt><dd[^>]*>1 \(50,00%\)", summary)
    assert re.search(r"Đang xử lý, đã quá hạn</dt><dd[^>]*>1<", summary)
    assert "<td>Chuyển cơ quan khác</td><td>1</td>" in summary and "<td>Không thụ lý</td><td>1</td>" in summary


def test_the_office_can_give_a_sender_without_e_mail_the_private_link(app, world, office, unit_user, db_session):
    complaint = _file(world, sender=Sender(name="Lê Văn Tám", address="12 Yersin", phone="0905123456"),
                      channel="letter")
    page = _client(app, office).get(f"/xu-ly/pakn/{complaint.id}").get_data(as_text=True)
    link = re.search(r'class="private-link">([^<]+)<', page).group(1)
    assert f"/pakn/{complaint.code}/" in link
    private = app.test_client().get(urlparse(link).path)
    assert private.status_code == 200 and complaint.code in private.get_data(as_text=True)
    actions.classify(office, complaint, None, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    assert "private-link" not in _client(app, unit_user).get(f"/xu-ly/pakn/{complaint.id}").get_data(as_text=True)
