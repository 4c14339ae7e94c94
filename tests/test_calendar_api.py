"""The public calendar API: a year's days off, deadlines on the real calendar, 400s that name the field."""

from __future__ import annotations

from datetime import date, time
from urllib.parse import quote

import pytest

from feedback_app.calendar_service import add_exception, remove_exception, set_office_hours
from feedback_app.extensions import db, limiter
from feedback_app.workcalendar import OfficeHours

from . import factories

FRIDAY_EVENING = quote("2026-02-13T18:00:00+07:00")


def test_a_year_lists_holidays_and_worked_saturdays_without_a_login(client, world):
    response = client.get("/api/v1/calendar/2026")
    assert response.status_code == 200
    body = response.get_json()
    off = {d["date"]: d for d in body["non_working_days"]}
    for day in ("2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-04-30", "2026-05-01",
                "2026-08-31", "2026-09-01", "2026-09-02", "2026-11-24"):
        assert off[day]["source"] == "package"
    assert off["2026-02-17"] == {"date": "2026-02-17", "date_local": "17/02/2026", "weekday": 2,
                                 "name": "Tết Nguyên Đán", "source": "package"}
    assert "2026-01-03" not in off  # plain weekends are counted, not listed
    assert [d["date"] for d in body["make_up_working_days"]] == ["2026-08-22"]
    assert body["working_days"] + body["weekend"]["days_off"] + len(off) == 365
    english = client.get("/api/v1/calendar/2026?lang=en").get_json()
    assert {d["date"]: d["name"] for d in english["non_working_days"]}["2026-11-24"] == "Vietnam Cultural Day"


def test_an_entry_shows_with_its_basis(client, world):
    add_exception(None, date(2026, 12, 31), False, "Quyết định giả định 1/QĐ-TTg")
    db.session.commit()
    off = {d["date"]: d for d in client.get("/api/v1/calendar/2026").get_json()["non_working_days"]}
    assert off["2026-12-31"]["source"] == "exception"
    assert off["2026-12-31"]["name"] == "Quyết định giả định 1/QĐ-TTg"


@pytest.mark.parametrize("year", ["abc", "1800", "99999", "-1"])
def test_a_bad_year_is_a_problem_naming_it(client, world, year):
    response = client.get(f"/api/v1/calendar/{year}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "year"


@pytest.mark.parametrize("start", [FRIDAY_EVENING, "2026-02-13T18:00:00+07:00", "2026-02-13T11:00:00Z",
                                   quote("2026-02-14T09:30+07:00")])
def test_a_known_deadline(client, world, start):
    # Received Friday 13/02/2026 after hours (an unencoded "+" arrives as a space, and is read back) or on
    # Saturday: Tết 16-20/02 is skipped, day 1 is Monday 23/02, 5 working days end Friday 27/02 at 17:00.
    response = client.get(f"/api/v1/calendar/deadline?start={start}&working_days=5")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["due"], body["due_local"], body["working_days"]) == ("2026-02-27T10:00:00Z", "27/02/2026 17:00", 5)
    assert body["office_hours"] == {"morning": ["07:00", "11:30"], "afternoon": ["13:30", "17:00"]}


def test_a_deadline_in_working_hours_and_on_an_agencys_hours(client, world):
    start = quote("2026-03-06T16:00:00+07:00")  # a Friday: 1 h that day, the rest on Monday 09/03
    body = client.get(f"/api/v1/calendar/deadline?start={start}&working_hours=8").get_json()
    assert (body["due_local"], body["working_hours"]) == ("09/03/2026 16:00", 8.0)
    half = client.get(f"/api/v1/calendar/deadline?start={start}&working_hours=1,5").get_json()
    assert half["due_local"] == "09/03/2026 07:30"
    set_office_hours(factories.user("admin", world.agency), world.agency.id,
                     OfficeHours(time(7, 30), time(11, 30), time(13, 0), time(16, 30)))
    db.session.commit()
    body = client.get(f"/api/v1/calendar/deadline?start={FRIDAY_EVENING}&working_days=5&unit={world.unit_a.code}")
    assert body.get_json()["due_local"] == "27/02/2026 16:30" and body.get_json()["unit"] == world.unit_a.code


def test_an_entry_moves_the_deadline_and_removing_it_moves_it_back(client, world):
    url = f"/api/v1/calendar/deadline?start={FRIDAY_EVENING}&working_days=5"
    add_exception(None, date(2026, 2, 23), False, "Công điện giả định")
    db.session.commit()
    assert client.get(url).get_json()["due_local"] == "02/03/2026 17:00"
    remove_exception(None, date(2026, 2, 23))
    db.session.commit()
    assert client.get(url).get_json()["due_local"] == "27/02/2026 17:00"


@pytest.mark.parametrize(("query", "field"), [
    ("working_days=5", "start"),
    ("start=yesterday&working_days=5", "start"),
    ("start=2026-02-13T18:00:00&working_days=5", "start"),  # no offset: which instant is meant is unknown
    ("start=1900-01-01T00:00:00Z&working_days=5", "start"),
    (f"start={FRIDAY_EVENING}", "working_days"),
    (f"start={FRIDAY_EVENING}&working_days=5&working_hours=8", "working_hours"),
    (f"start={FRIDAY_EVENING}&working_days=-1", "working_days"),
    (f"start={FRIDAY_EVENING}&working_days=5000", "working_days"),
    (f"start={FRIDAY_EVENING}&working_hours=abc", "working_hours"),
    (f"start={FRIDAY_EVENING}&working_hours=NaN", "working_hours"),
    (f"start={FRIDAY_EVENING}&working_days=5&unit=NO-SUCH-UNIT", "unit"),
    (f"start={FRIDAY_EVENING}&working_days=5&days=5", "days"),
])
def test_bad_parameters_are_problems_naming_the_field(client, world, query, field):
    response = client.get(f"/api/v1/calendar/deadline?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_messages_follow_the_language(client, world):
    response = client.get("/api/v1/calendar/deadline?working_days=5&lang=en")
    assert response.get_json()["errors"][0]["message"].startswith("Give the start")


def test_the_calendar_api_is_rate_limited(client, world, app):
    limit = app.config["CALENDAR_API_LIMIT"]
    app.config["CALENDAR_API_LIMIT"] = "2 per minute"
    limiter.reset()
    try:
        statuses = [client.get("/api/v1/calendar/2026").status_code,
                    client.get(f"/api/v1/calendar/deadline?start={FRIDAY_EVENING}&working_days=1").status_code,
                    client.get("/api/v1/calendar/2025").status_code]
        assert statuses == [200, 200, 429]
    finally:
        app.config["CALENDAR_API_LIMIT"] = limit
        limiter.reset()


def test_the_openapi_document_describes_the_calendar(client, world):
    doc = client.get("/api/v1/openapi.json").get_json()
    deadline = doc["paths"]["/api/v1/calendar/deadline"]["get"]
    assert {p["name"] for p in deadline["parameters"]} >= {"start", "working_days", "working_hours", "unit"}
    assert deadline["security"] == [] and "/api/v1/calendar/{year}" in doc["paths"]
