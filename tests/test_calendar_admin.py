"""The calendar page, its service (audit, signal, cache) and commands: entries move deadlines and are audited."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from feedback_app.calendar_service import (
    CalendarError,
    add_exception,
    calendar_changed,
    current_calendar,
    remove_exception,
)
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, CalendarException, OfficeHours
from feedback_app.workcalendar import LOCAL_TZ

from . import factories

PAGE = "/admin/calendar/2026"
# Received Monday 23/11/2026: 24/11 is Ngày Văn hóa Việt Nam, so 2 working days end on Thursday 26/11.
RECEIVED = datetime(2026, 11, 23, 10, tzinfo=LOCAL_TZ)


def _due(unit_id=None, n=2) -> str:
    return f"{current_calendar(unit_id).add_working_days(RECEIVED, n).astimezone(LOCAL_TZ):%d/%m/%Y %H:%M}"


def _post(client, path, data):
    return client.post(path, data={"csrf_token": factories.csrf_token(client, PAGE), **data})


def _entries() -> int:
    return db.session.scalar(select(func.count(CalendarException.id)))


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("office", 200), ("unit", 403), ("viewer", 403),
                                              ("counter", 403)])
def test_who_reads_the_calendar(client, world, login_as, role, status):
    login_as(role, officer=world.officer_a if role == "counter" else None)
    assert client.get(PAGE).status_code == status
    assert client.get("/admin/calendar").status_code == status


def test_the_year_page_lists_holidays_and_worked_saturdays_with_their_source(client, world, login_as):
    login_as("office")
    html = client.get(PAGE).get_data(as_text=True)
    for day in ("16/02/2026", "20/02/2026", "27/04/2026", "31/08/2026", "02/09/2026", "24/11/2026"):
        assert day in html
    assert "Tết Nguyên Đán" in html and "Ngày nghỉ (thay cho ngày 22/08/2026)" in html
    assert "22/08/2026" in html and "Ngày làm việc bù" in html and "Lịch nghỉ lễ quốc gia" in html
    assert "03/01/2026" not in html  # a plain Saturday: weekends are counted, not listed
    assert "Thêm mục điều chỉnh" not in html  # the office reads; only administrators change the calendar
    assert "Lịch làm việc" in client.get("/admin/").get_data(as_text=True)


def test_office_cannot_change_the_calendar(client, world, login_as):
    add_exception(None, date(2026, 12, 31), False, "Quyết định giả định")
    db.session.commit()
    entry = db.session.scalar(select(CalendarException))
    login_as("office")
    response = _post(client, PAGE, {"day": "25/11/2026", "kind": "off", "basis": "Quyết định 1/QĐ-TTg"})
    assert response.status_code == 403 and _entries() == 1
    token = factories.csrf_token(client, PAGE)
    assert client.post(f"/admin/calendar/entries/{entry.id}/remove", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/calendar/hours", data={"csrf_token": token, "unit_id": world.agency.id}).status_code \
        == 403
    assert _entries() == 1 and client.get("/admin/calendar/1800").status_code == 404


def test_a_new_day_off_moves_deadlines_is_audited_and_removing_it_moves_them_back(client, world, login_as):
    admin = login_as("admin")
    assert _due() == "26/11/2026 17:00"
    response = _post(client, PAGE, {"day": "25/11/2026", "kind": "off", "basis": "Công điện 99/CĐ-TTg ngày 20/11/2026"})
    assert response.status_code == 303
    entry = db.session.scalar(select(CalendarException))
    assert (entry.day, entry.working, entry.created_by_id) == (date(2026, 11, 25), False, admin.id)
    assert _due() == "27/11/2026 17:00"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.add"))
    assert event.user_id == admin.id and event.details["basis"] == "Công điện 99/CĐ-TTg ngày 20/11/2026"
    html = client.get(PAGE).get_data(as_text=True)
    assert "Công điện 99/CĐ-TTg ngày 20/11/2026" in html and admin.full_name in html

    response = client.post(f"/admin/calendar/entries/{entry.id}/remove",
                           data={"csrf_token": factories.csrf_token(client, PAGE)})
    assert response.status_code == 303 and _entries() == 0
    assert _due() == "26/11/2026 17:00"
    removed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.remove"))
    assert removed.user_id == admin.id and removed.details["day"] == "2026-11-25"


def test_a_make_up_working_day_counts(client, world, login_as):
    login_as("admin")
    assert _due(n=4) == "30/11/2026 17:00"
    response = _post(client, PAGE, {"day": "28/11/2026", "kind": "working", "basis": "Thông báo làm bù số 5"})
    assert response.status_code == 303
    assert _due(n=4) == "28/11/2026 17:00"  # 25, 26, 27 and the Saturday worked
    assert "Thông báo làm bù số 5" in client.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"day": "31/02/2026", "kind": "off", "basis": "Quyết định số 7"}, "dd/mm/yyyy"),
    ({"day": "", "kind": "off", "basis": "Quyết định số 7"}, "dd/mm/yyyy"),
    ({"day": "25/11/2026", "kind": "off", "basis": "   "}, "Vui lòng nhập mục này"),
    ({"day": "25/11/2026", "kind": "maybe", "basis": "Quyết định số 7"}, "Lựa chọn không hợp lệ"),
])
def test_bad_input_is_refused_with_the_input_kept(client, world, login_as, data, message):
    login_as("admin")
    response = _post(client, PAGE, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html and _entries() == 0
    if data["day"]:
        assert f'value="{data["day"]}"' in html
    assert data["basis"].strip() in html


def test_a_second_entry_for_a_day_is_refused_with_the_input_kept(client, world, login_as):
    login_as("admin")
    first = {"day": "25/11/2026", "kind": "off", "basis": "Công điện 99/CĐ-TTg"}
    assert _post(client, PAGE, first).status_code == 303
    response = _post(client, PAGE, {"day": "25/11/2026", "kind": "working", "basis": "Thông báo khác"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "đã có một mục điều chỉnh" in html
    assert 'value="25/11/2026"' in html and "Thông báo khác" in html
    assert _entries() == 1


def test_office_hours_of_an_agency_apply_to_its_units(client, world, login_as):
    admin = login_as("admin")
    response = _post(client, "/admin/calendar/hours", {
        "unit_id": world.agency.id, "morning_start": "07:30", "morning_end": "11:30",
        "afternoon_start": "13:00", "afternoon_end": "16:30"})
    assert response.status_code == 303
    assert _due(world.unit_a.id) == "26/11/2026 16:30"  # a unit without its own follows its agency
    assert _due(world.centre.id) == "26/11/2026 17:00"  # another branch keeps the default
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.office_hours"))
    assert event.user_id == admin.id and event.details["new"] == "07:30–11:30, 13:00–16:30"
    hours = db.session.scalar(select(OfficeHours))
    response = client.post(f"/admin/calendar/hours/{hours.id}/remove",
                           data={"csrf_token": factories.csrf_token(client, PAGE)})
    assert response.status_code == 303 and _due(world.unit_a.id) == "26/11/2026 17:00"


def test_office_hours_out_of_order_are_refused(client, world, login_as):
    login_as("admin")
    response = _post(client, "/admin/calendar/hours", {
        "unit_id": world.agency.id, "morning_start": "08:00", "morning_end": "12:00",
        "afternoon_start": "11:00", "afternoon_end": "17:00"})
    assert response.status_code == 400 and "theo thứ tự" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(OfficeHours.id))) == 0


# Service ------------------------------------------------------------------------------------------------------

def test_subscribers_hear_of_a_change_inside_its_transaction_and_see_the_new_calendar(db_session, world, app):
    heard = []

    def recompute(sender, days, unit_id, reason, user):
        # What the PAKN module does: the open deadline's old and new date, with the reason.
        heard.append((days, unit_id, reason, _due()))

    admin = factories.user("admin", world.agency)
    with calendar_changed.connected_to(recompute, sender=app):
        add_exception(admin, date(2026, 11, 25), False, "Công điện 99/CĐ-TTg")
        remove_exception(admin, date(2026, 11, 25))
    assert heard == [
        ([date(2026, 11, 25)], None, "Công điện 99/CĐ-TTg", "27/11/2026 17:00"),
        ([date(2026, 11, 25)], None, "Bỏ điều chỉnh ngày 25/11/2026 (Công điện 99/CĐ-TTg)", "26/11/2026 17:00"),
    ]


def test_refusals_name_the_field_and_keep_the_transaction_usable(db_session, world):
    admin = factories.user("admin", world.agency)
    add_exception(admin, date(2026, 11, 25), False, "Công điện 99")
    with pytest.raises(CalendarError) as duplicate:
        add_exception(admin, date(2026, 11, 25), True, "Khác")
    assert duplicate.value.field == "day" and "Công điện 99" in str(duplicate.value)
    with pytest.raises(CalendarError) as unknown:
        remove_exception(admin, date(2026, 11, 26))
    assert unknown.value.field == "day"
    with pytest.raises(CalendarError) as empty:
        add_exception(admin, date(2026, 11, 27), False, " \u200b ")
    assert empty.value.field == "basis"
    with pytest.raises(CalendarError):
        add_exception(admin, date(2026, 11, 27), False, "bad\u202etext")
    assert _entries() == 1  # the first entry survived the refused duplicate


def test_the_cache_sees_committed_changes_at_once_and_never_a_rolled_back_one(db_session, world, app):
    app.config["CALENDAR_CACHE_SECONDS"] = 3600
    try:
        assert _due() == "26/11/2026 17:00"  # cached from here on
        add_exception(None, date(2026, 11, 25), False, "Công điện 99")
        assert _due() == "27/11/2026 17:00"  # the changing transaction sees its own change
        db.session.rollback()
        assert _due() == "26/11/2026 17:00"  # rolled back: never served
        add_exception(None, date(2026, 11, 25), False, "Công điện 99")
        db.session.commit()
        assert _due() == "27/11/2026 17:00"  # committed: this process rechecks at once
        # Another process's change is seen at the next check (here forced; normally within the setting).
        db.session.execute(CalendarException.__table__.delete())
        db.session.commit()
        assert _due() == "27/11/2026 17:00"
        app.extensions["calendar_cache"].checked_at = float("-inf")
        assert _due() == "26/11/2026 17:00"
    finally:
        app.config["CALENDAR_CACHE_SECONDS"] = 0


# Commands -----------------------------------------------------------------------------------------------------

def test_commands_add_and_remove_entries_as_audited_system_actions(db_session, world, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calendar", "add", "25/11/2026", "--off", "--basis", "Công điện 99/CĐ-TTg"])
    assert result.exit_code == 0, result.output
    assert "25/11/2026" in result.output and _due() == "27/11/2026 17:00"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.add"))
    assert event.user_id is None and event.details["via"] == "cli"
    duplicate = runner.invoke(args=["calendar", "add", "2026-11-25", "--working", "--basis", "Khác"])
    assert duplicate.exit_code == 1 and "đã có một mục điều chỉnh" in duplicate.output
    result = runner.invoke(args=["calendar", "remove", "2026-11-25"])
    assert result.exit_code == 0 and _due() == "26/11/2026 17:00"
    again = runner.invoke(args=["calendar", "remove", "25/11/2026"])
    assert again.exit_code == 1 and "không có mục điều chỉnh" in again.output
    bad = runner.invoke(args=["calendar", "add", "31/02/2026", "--off", "--basis", "x"])
    assert bad.exit_code == 2 and "dd/mm/yyyy" in bad.output
    undecided = runner.invoke(args=["calendar", "add", "25/11/2026", "--basis", "x"])
    assert undecided.exit_code == 2 and "--off" in undecided.output
    assert _entries() == 0


def test_office_hours_times_are_stored_as_given(db_session, world):
    from feedback_app.calendar_service import set_office_hours
    from feedback_app.workcalendar import OfficeHours as Hours

    admin = factories.user("admin", world.agency)
    set_office_hours(admin, world.unit_b.id, Hours(time(7, 30), time(11, 30), time(13, 30), time(17, 30)))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(OfficeHours.afternoon_end)) == time(17, 30)
    assert _due(world.unit_b.id) == "26/11/2026 17:30"
