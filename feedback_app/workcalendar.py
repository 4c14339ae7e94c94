"""Working days and office hours in Vietnam: the `holidays` package's calendar with an administrator's exceptions.

Pure: imports nothing of ours. Instants are timezone-aware; arithmetic happens in Asia/Ho_Chi_Minh and every
instant returned is UTC.

The deadline rule (`add_working_days`), from Bộ luật Dân sự 2015 arts. 147-148 as Vietnamese offices apply it:
the day of the event (receipt of a PAKN, of a dossier) is never counted, whatever the hour; counting starts on
the next working day ("ngày làm việc tiếp theo"), which is day 1; the deadline is the close of office hours
(end of the afternoon session) of the n-th working day. So a PAKN received on Friday 13/02/2026 at 10:00 or
at 20:00, or on Saturday 14/02/2026, with 5 working days, is due on Friday 27/02/2026 at 17:00: Tết (16-20/02)
and the weekends are skipped, Monday 23/02 is day 1. Deadlines in working hours (`add_working_hours`) start
at the instant itself (art. 147(1)) and run only inside office sessions.

Speed: which days are working is worked out once per year (the package's `is_working_day`, then the
exceptions), with a running count, so each deadline is a few list look-ups, whatever n is.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MIN_YEAR, MAX_YEAR = 1995, 2200  # the package counts Vietnam's observed days from 1995
US = 1_000_000  # microseconds in a second: working time is counted in whole microseconds, never floats
SOURCES = ("package", "exception", "weekend")
# The package's language codes; names of weekend days and make-up days are not in the package.
_PACKAGE_LANGUAGE = {"vi": "vi", "en": "en_US"}
_WEEKEND_NAMES = {"vi": ("Thứ Bảy", "Chủ nhật"), "en": ("Saturday", "Sunday")}
_MAKE_UP_NAME = {"vi": "Ngày làm việc bù", "en": "Make-up working day"}


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class OfficeHours:
    """An agency's two office sessions in local time."""

    morning_start: time = time(7, 0)
    morning_end: time = time(11, 30)
    afternoon_start: time = time(13, 30)
    afternoon_end: time = time(17, 0)

    def __post_init__(self) -> None:
        if not self.morning_start < self.morning_end <= self.afternoon_start < self.afternoon_end:
            raise ValueError("office hours must run morning start < morning end <= afternoon start < afternoon end")

    @property
    def sessions(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The two sessions as (start, end) in microseconds since local midnight."""
        return ((_seconds(self.morning_start) * US, _seconds(self.morning_end) * US),
                (_seconds(self.afternoon_start) * US, _seconds(self.afternoon_end) * US))

    @property
    def day_length(self) -> timedelta:
        """Working time in one working day."""
        return timedelta(microseconds=sum(end - start for start, end in self.sessions))


DEFAULT_HOURS = OfficeHours()


@dataclass(frozen=True)
class DayOverride:
    """An administrator's exception: this date is a working day or a day off, and why."""

    working: bool
    basis: str


class CalendarDay(NamedTuple):
    """A day in a year's listing, with what makes it so: "package", "exception" or "weekend"."""

    day: date
    name: str
    source: str


@dataclass(frozen=True)
class WorkingTime:
    """Working time from one instant to another; both parts negative when the second is earlier.

    days: working days after the first instant's date up to and including the second's ("3 days left",
    "overdue by 1 day"); time: working time inside office sessions between the two instants."""

    days: int
    time: timedelta

    @property
    def hours(self) -> float:
        return self.time / timedelta(hours=1)


class _Span(NamedTuple):
    """Working days of whole years [first_year, last_year]: flags and running counts by day, ordinals."""

    first_year: int
    last_year: int
    first_ordinal: int
    flags: bytearray  # 1 for a working day, indexed by ordinal - first_ordinal
    before: array  # before[i]: working days before first_ordinal + i (one more entry than flags)
    ordinals: array  # the working days' ordinals, ascending


class _Days:
    """Which dates are working days: the package's calendar, then the exceptions; grown a year span at a time.

    Shared by every WorkCalendar built on the same exceptions (they differ only in office hours). Growing
    replaces the whole span in one assignment, so threads reading the old one never see half of the new."""

    def __init__(self, exceptions: Mapping[date, DayOverride]) -> None:
        self.exceptions = dict(exceptions)
        self._span: _Span | None = None
        self._lock = threading.Lock()
        self._names: dict[tuple[int, str], holidays.HolidayBase] = {}

    def span(self, first_year: int, last_year: int) -> _Span:
        span = self._span
        if span is not None and span.first_year <= first_year and last_year <= span.last_year:
            return span
        if first_year < MIN_YEAR or last_year > MAX_YEAR:
            raise ValueError(f"the calendar covers {MIN_YEAR}-{MAX_YEAR}")
        with self._lock:
            span = self._span
            if span is not None:
                first_year, last_year = min(first_year, span.first_year), max(last_year, span.last_year)
            self._span = span = self._build(first_year, last_year)
        return span

    def _build(self, first_year: int, last_year: int) -> _Span:
        # One year more on each side: a swap can cross New Year (a day off in January for a Saturday in December).
        package = holidays.country_holidays("VN", years=range(first_year - 1, last_year + 2), language="vi")
        first = date(first_year, 1, 1)
        days = (date(last_year, 12, 31) - first).days + 1
        flags = bytearray(days)
        before = array("l", [0]) * (days + 1)
        ordinals = array("l")
        for i in range(days):
            day = first + timedelta(days=i)
            override = self.exceptions.get(day)
            working = override.working if override is not None else package.is_working_day(day)
            if working:
                flags[i] = 1
                ordinals.append(first.toordinal() + i)
            before[i + 1] = len(ordinals)
        return _Span(first_year, last_year, first.toordinal(), flags, before, ordinals)

    def package_days(self, year: int, language: str) -> holidays.HolidayBase:
        """The package's holidays of a year, named in a language ("vi" or "en")."""
        key = (year, language)
        if key not in self._names:
            self._names[key] = holidays.country_holidays("VN", years=year,
                                                         language=_PACKAGE_LANGUAGE.get(language, "vi"))
        return self._names[key]

    def is_working(self, day: date) -> bool:
        span = self.span(day.year, day.year)
        return bool(span.flags[day.toordinal() - span.first_ordinal])

    def shift(self, day: date, n: int) -> date:
        """The n-th working day after this date (n > 0) or before it (n < 0); the date itself never counts."""
        span = self.span(day.year, day.year)
        while True:
            i = day.toordinal() - span.first_ordinal
            index = span.before[i + 1] + n - 1 if n > 0 else span.before[i] + n
            if 0 <= index < len(span.ordinals):
                return date.fromordinal(span.ordinals[index])
            years = abs(n) // 200 + 1  # about 250 working days a year: grow enough in one step
            if index < 0:
                span = self.span(span.first_year - years, span.last_year)
            else:
                span = self.span(span.first_year, span.last_year + years)


class WorkCalendar:
    """Working days and office hours of one agency."""

    def __init__(self, exceptions: Mapping[date, DayOverride] | None = None, hours: OfficeHours | None = None,
                 *, _days: _Days | None = None) -> None:
        self._days = _days or _Days(exceptions or {})
        self.hours = hours or DEFAULT_HOURS
        self._sessions = self.hours.sessions
        self._day_us = sum(end - start for start, end in self._sessions)

    @property
    def exceptions(self) -> Mapping[date, DayOverride]:
        return self._days.exceptions

    def with_hours(self, hours: OfficeHours) -> WorkCalendar:
        """The same days with another agency's office hours (shares the precomputed years)."""
        return self if hours == self.hours else WorkCalendar(hours=hours, _days=self._days)

    # Days -----------------------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on this date."""
        return self._days.is_working(day)

    def next_working_day(self, day: date) -> date:
        """The first working day after this date ("ngày làm việc tiếp theo"); the date itself never."""
        return self._days.shift(day, 1)

    def working_days_in(self, year: int) -> list[date]:
        """Every working day of a year."""
        span = self._days.span(year, year)
        start, end = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        lo, hi = span.before[start - span.first_ordinal], span.before[end - span.first_ordinal + 1]
        return [date.fromordinal(o) for o in span.ordinals[lo:hi]]

    def non_working_days(self, year: int, language: str = "vi") -> list[CalendarDay]:
        """Every day off of a year with its name and source; plain weekend days have source "weekend"."""
        package = self._days.package_days(year, language)
        days: list[CalendarDay] = []
        day = date(year, 1, 1)
        while day.year == year:
            if not self.is_working_day(day):
                override = self.exceptions.get(day)
                if override is not None:
                    days.append(CalendarDay(day, override.basis, "exception"))
                elif day in package:
                    days.append(CalendarDay(day, package[day], "package"))
                else:
                    days.append(CalendarDay(day, _WEEKEND_NAMES.get(language, _WEEKEND_NAMES["vi"])[day.weekday() - 5],
                                            "weekend"))
            day += timedelta(days=1)
        return days

    def make_up_working_days(self, year: int, language: str = "vi") -> list[CalendarDay]:
        """Days worked though they would be off (a Saturday worked for a swap, a holiday taken back)."""
        package = self._days.package_days(year, language)
        days = []
        for day in self.working_days_in(year):
            if day.weekday() < 5 and day not in package:
                continue  # an ordinary working day
            override = self.exceptions.get(day)
            if override is not None:
                days.append(CalendarDay(day, override.basis, "exception"))
            else:
                days.append(CalendarDay(day, _MAKE_UP_NAME.get(language, _MAKE_UP_NAME["vi"]), "package"))
        return days

    # Instants -------------------------------------------------------------------------------------------------

    def add_working_days(self, instant: datetime, n: int) -> datetime:
        """The deadline n working days after an instant: the close of office hours of the n-th working day after
        the instant's local date (that date never counts, whatever the hour: see the module's docstring).
        n < 0 counts back (the close of the |n|-th working day before); n = 0 is the close of the instant's
        own date when it is a working day, else of the next working day."""
        day = _local(instant).date()
        if n == 0:
            target = day if self.is_working_day(day) else self.next_working_day(day)
        else:
            target = self._days.shift(day, n)
        return self._instant(target, self._sessions[1][1])

    def add_working_hours(self, instant: datetime, hours: float | timedelta) -> datetime:
        """The instant when this much working time has passed, counting only office sessions of working days.
        From outside office hours the count starts when the next session opens; a deadline that fills a session
        exactly is that session's end (11:30, 17:00), not the next opening."""
        amount = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
        if amount < timedelta(0):
            raise ValueError("working hours must not be negative")
        if not amount:
            return self._next_open(instant)
        local = _local(instant)
        day = local.date()
        # Working time measured from the opening of `day`; a day off counts as already used up.
        used = self._worked_today(_clock(local)) if self.is_working_day(day) else self._day_us
        index, offset = divmod(used + amount // timedelta(microseconds=1) - 1, self._day_us)
        offset += 1  # in (0, day length]: a full day ends at its close, not at the next day's opening
        target = day if index == 0 else self._days.shift(day, index)
        for start, end in self._sessions:
            if offset <= end - start:
                return self._instant(target, start + offset)
            offset -= end - start
        raise AssertionError("offset beyond the working day")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> WorkingTime:
        """Working days and working time from a to b (negative when b is earlier): "time left", "overdue by"."""
        la, lb = _local(a), _local(b)
        span = self._days.span(min(la.year, lb.year), max(la.year, lb.year))
        ia, ib = la.toordinal() - span.first_ordinal, lb.toordinal() - span.first_ordinal
        # A position is the working time since the span's first day: whole working days, then the day's own part.
        position_a = span.before[ia] * self._day_us + (self._worked_today(_clock(la)) if span.flags[ia] else 0)
        position_b = span.before[ib] * self._day_us + (self._worked_today(_clock(lb)) if span.flags[ib] else 0)
        return WorkingTime(span.before[ib + 1] - span.before[ia + 1], timedelta(microseconds=position_b - position_a))

    # Internals ------------------------------------------------------------------------------------------------

    def _instant(self, day: date, microseconds: int) -> datetime:
        local = datetime.combine(day, time(0), LOCAL_TZ) + timedelta(microseconds=microseconds)
        return local.astimezone(UTC)

    def _worked_today(self, clock_us: int) -> int:
        """Working time of a working day before a local time of day."""
        (start_1, end_1), (start_2, end_2) = self._sessions
        return max(0, min(clock_us, end_1) - start_1) + max(0, min(clock_us, end_2) - start_2)

    def _next_open(self, instant: datetime) -> datetime:
        """The instant itself inside an office session, else the next session's opening."""
        local = _local(instant)
        day = local.date()
        if self.is_working_day(day):
            clock = _clock(local)
            for start, end in self._sessions:
                if clock <= end:
                    return instant.astimezone(UTC) if clock >= start else self._instant(day, start)
        return self._instant(self.next_working_day(day), self._sessions[0][0])


def _clock(local: datetime) -> int:
    """Microseconds since local midnight."""
    return (local.hour * 3600 + local.minute * 60 + local.second) * US + local.microsecond


def _local(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(LOCAL_TZ)
