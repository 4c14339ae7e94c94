"""The working-time calendar on the real 2025-2026 dates, office hours, and its laws checked by hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback_app.workcalendar import LOCAL_TZ, DayOverride, OfficeHours, WorkCalendar

CALENDAR = WorkCalendar()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def due_local(calendar: WorkCalendar, start: datetime, n: int) -> datetime:
    due = calendar.add_working_days(start, n)
    assert due.tzinfo is UTC
    return due.astimezone(LOCAL_TZ)


@pytest.mark.parametrize("day", [
    *(date(2026, 2, d) for d in range(16, 21)),  # Tết Bính Ngọ: 16-20/02/2026
    date(2026, 1, 1), date(2026, 4, 30), date(2026, 5, 1),
    date(2026, 4, 27),  # Giỗ Tổ Hùng Vương falls on Sunday 26/04/2026: Monday is off instead
    date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2),  # Quốc khánh, 31/08 for the worked Saturday 22/08
    date(2026, 11, 24),  # Ngày Văn hóa Việt Nam, a day off from 2026
    date(2025, 4, 30), date(2025, 5, 1), date(2025, 5, 2),  # 02/05/2025 off for the worked Saturday 26/04/2025
    date(2025, 9, 1), date(2025, 9, 2),
])
def test_days_off(day):
    assert not CALENDAR.is_working_day(day)


@pytest.mark.parametrize("day", [
    date(2026, 8, 22), date(2025, 4, 26),  # Saturdays worked for a swap
    date(2026, 2, 13), date(2026, 2, 23), date(2026, 4, 28), date(2026, 11, 25),
])
def test_working_days(day):
    assert CALENDAR.is_working_day(day)


def test_a_holiday_on_a_weekend_moves_to_the_next_working_day():
    names = {d.day: d for d in CALENDAR.non_working_days(2026)}
    assert names[date(2026, 4, 26)].name == "Ngày Giỗ Tổ Hùng Vương"
    assert "nghỉ bù" in names[date(2026, 4, 27)].name
    assert CALENDAR.next_working_day(date(2026, 4, 25)) == date(2026, 4, 28)
    # 1/5/2027 is a Saturday: Monday 3/5/2027 is off.
    assert not CALENDAR.is_working_day(date(2027, 5, 3))


def test_year_listing_names_sources_and_worked_saturdays():
    off = CALENDAR.non_working_days(2026)
    listed = {d.day: d for d in off if d.source != "weekend"}
    assert listed[date(2026, 2, 17)] == (date(2026, 2, 17), "Tết Nguyên Đán", "package")
    assert date(2026, 8, 22) not in {d.day for d in off}
    assert [d.day for d in CALENDAR.make_up_working_days(2026)] == [date(2026, 8, 22)]
    assert CALENDAR.make_up_working_days(2025, "en")[0].name == "Make-up working day"
    assert {d.source for d in off} == {"package", "weekend"}
    english = {d.day: d.name for d in CALENDAR.non_working_days(2026, "en")}
    assert english[date(2026, 11, 24)] == "Vietnam Cultural Day"
    assert len(CALENDAR.working_days_in(2026)) == 365 - sum(1 for _ in off)


def test_the_deadline_rule_ignores_the_day_of_receipt():
    # Friday 13/02/2026, whatever the hour, and Saturday 14/02: day 1 is Monday 23/02 (after Tết), due Friday 27/02.
    for start in (local(2026, 2, 13, 8), local(2026, 2, 13, 20), local(2026, 2, 14, 9)):
        assert due_local(CALENDAR, start, 5) == local(2026, 2, 27, 17)
    # Quốc khánh 2026: received Friday 28/08, 3 working days: 31/08, 1/09 and 2/09 are off, so 3/09, 4/09 and
    # Monday 7/09.
    assert due_local(CALENDAR, local(2026, 8, 28, 10), 3) == local(2026, 9, 7, 17)
    # Received Friday 21/08: the worked Saturday 22/08 is day 1.
    assert due_local(CALENDAR, local(2026, 8, 21, 10), 1) == local(2026, 8, 22, 17)
    # An instant given in UTC is taken in Vietnam's time: 20:00 UTC on 12/02 is 03:00 on the 13th locally.
    assert due_local(CALENDAR, datetime(2026, 2, 12, 20, tzinfo=UTC), 1) == local(2026, 2, 23, 17)


def test_zero_and_negative_working_days():
    assert due_local(CALENDAR, local(2026, 2, 13, 20), 0) == local(2026, 2, 13, 17)
    assert due_local(CALENDAR, local(2026, 2, 14, 9), 0) == local(2026, 2, 23, 17)
    # Two working days before Tuesday 24/02/2026 (reminders): Monday 23/02, then Friday 13/02 across Tết.
    assert due_local(CALENDAR, local(2026, 2, 24, 9), -2) == local(2026, 2, 13, 17)


def test_an_exception_moves_a_deadline_and_wins_over_the_package():
    start = local(2026, 2, 13, 10)
    extra_day_off = WorkCalendar({date(2026, 2, 23): DayOverride(False, "Công điện của Thủ tướng")})
    assert due_local(extra_day_off, start, 5) == local(2026, 3, 2, 17)
    worked_tet_day = WorkCalendar({date(2026, 2, 20): DayOverride(True, "Quyết định giả định")})
    assert due_local(worked_tet_day, start, 1) == local(2026, 2, 20, 17)
    assert worked_tet_day.make_up_working_days(2026)[0] == (date(2026, 2, 20), "Quyết định giả định", "exception")
    saturday_off = WorkCalendar({date(2026, 8, 22): DayOverride(False, "Hủy làm bù")})
    assert not saturday_off.is_working_day(date(2026, 8, 22))
    assert (date(2026, 8, 22), "Hủy làm bù", "exception") in saturday_off.non_working_days(2026)


def test_office_hours_end_the_day_and_shape_working_hours():
    hours = OfficeHours(time(7, 30), time(11, 30), time(13, 0), time(16, 30))
    agency = CALENDAR.with_hours(hours)
    assert due_local(agency, local(2026, 3, 2, 9), 1) == local(2026, 3, 3, 16, 30)
    assert agency.hours.day_length == timedelta(hours=7, minutes=30)
    with pytest.raises(ValueError):
        OfficeHours(time(8), time(12), time(11), time(17))


def test_working_hours_across_lunch_and_a_weekend():
    # Friday 06/03/2026 16:00 + 8 working hours: 1 h on Friday, 4.5 h Monday morning, 2.5 h after lunch.
    assert CALENDAR.add_working_hours(local(2026, 3, 6, 16), 8).astimezone(LOCAL_TZ) == local(2026, 3, 9, 16)
    # 11:00 + 1 h: half an hour before lunch, half an hour after.
    assert CALENDAR.add_working_hours(local(2026, 3, 9, 11), 1).astimezone(LOCAL_TZ) == local(2026, 3, 9, 14)
    # Filling the morning ends at 11:30, not at the afternoon's opening; from the evening, count from opening.
    assert CALENDAR.add_working_hours(local(2026, 3, 9, 7), 4.5).astimezone(LOCAL_TZ) == local(2026, 3, 9, 11, 30)
    assert CALENDAR.add_working_hours(local(2026, 3, 9, 20), 8).astimezone(LOCAL_TZ) == local(2026, 3, 10, 17)
    # Eight working hours from Friday 13/02/2026 at 14:00: 3 h that day, then Tết: 5 h on Monday 23/02.
    assert CALENDAR.add_working_hours(local(2026, 2, 13, 14), 8).astimezone(LOCAL_TZ) == local(2026, 2, 23, 14)
    # Zero hours from the lunch break: the afternoon's opening.
    assert CALENDAR.add_working_hours(local(2026, 3, 9, 12), 0).astimezone(LOCAL_TZ) == local(2026, 3, 9, 13, 30)
    with pytest.raises(ValueError):
        CALENDAR.add_working_hours(local(2026, 3, 9, 12), -1)


def test_time_left_and_overdue():
    due = CALENDAR.add_working_days(local(2026, 2, 13, 10), 5)
    left = CALENDAR.working_time_between(local(2026, 2, 13, 10), due)
    assert (left.days, left.hours) == (5, 45.0)  # 5 h on Friday 13/02, then 5 days of 8 h
    overdue = CALENDAR.working_time_between(local(2026, 3, 3, 9), due)  # read on Tuesday 03/03 at 09:00
    assert (overdue.days, overdue.hours) == (-2, -10.0)  # Monday (8 h) and two hours of Tuesday
    weekend = CALENDAR.working_time_between(local(2026, 3, 7, 9), local(2026, 3, 8, 15))
    assert (weekend.days, weekend.hours) == (0, 0.0)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.add_working_days(datetime(2026, 2, 13, 10), 1)


def test_a_hundred_thousand_deadlines_take_well_under_a_second_each_kind():
    starts = [datetime(2026, 1, 5, 2, tzinfo=UTC) + timedelta(minutes=17 * i) for i in range(100_000)]
    calendar = WorkCalendar()
    began = perf_counter()
    for start in starts:
        calendar.add_working_days(start, 15)
    assert perf_counter() - began < 5  # about 0.3 s here; generous for slow CI machines


# Properties ---------------------------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.just(LOCAL_TZ))
# A calendar with some administrator's entries on top of the package, drawn too.
entries = st.dictionaries(st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31)),
                          st.builds(DayOverride, st.booleans(), st.just("căn cứ")), max_size=8)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


@PROPERTY
@given(instants, st.integers(min_value=1, max_value=300), entries)
def test_adding_n_working_days_then_counting_gives_n(start, n, overrides):
    calendar = WorkCalendar(overrides)
    due = calendar.add_working_days(start, n)
    assert calendar.working_time_between(start, due).days == n
    assert calendar.working_time_between(due, start).days == -n


@PROPERTY
@given(instants, st.integers(min_value=0, max_value=300), entries)
def test_a_deadline_is_the_close_of_a_working_day(start, n, overrides):
    calendar = WorkCalendar(overrides)
    due = calendar.add_working_days(start, n).astimezone(LOCAL_TZ)
    assert calendar.is_working_day(due.date())
    assert due.time() == time(17, 0)
    assert due > start or n == 0


@PROPERTY
@given(instants, st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
def test_deadlines_grow_with_n(start, m, n):
    low, high = sorted((m, n))
    assert CALENDAR.add_working_days(start, low) <= CALENDAR.add_working_days(start, high)


@PROPERTY
@given(instants, st.integers(min_value=0, max_value=400 * 3600), entries)
def test_working_hours_land_inside_office_hours_and_count_back(start, seconds, overrides):
    calendar = WorkCalendar(overrides)
    amount = timedelta(seconds=seconds)
    due = calendar.add_working_hours(start, amount)
    moment = due.astimezone(LOCAL_TZ)
    assert calendar.is_working_day(moment.date())
    hours = calendar.hours
    assert hours.morning_start <= moment.time() <= hours.morning_end or \
        hours.afternoon_start <= moment.time() <= hours.afternoon_end
    assert calendar.working_time_between(start, due).time == amount
    assert due >= start


@PROPERTY
@given(instants, instants)
def test_working_time_is_antisymmetric(a, b):
    forth, back = CALENDAR.working_time_between(a, b), CALENDAR.working_time_between(b, a)
    assert (forth.days, forth.time) == (-back.days, -back.time)
