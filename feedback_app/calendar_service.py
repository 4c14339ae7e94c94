"""The calendar every deadline uses: the administrator's exceptions and office hours over the pure WorkCalendar.

Caching: each app keeps one calendar per process, rebuilt only when the calendar tables change. A cheap
signature query (count, highest id and newest stamp of both tables) runs at most every CALENDAR_CACHE_SECONDS;
after a transaction that changed the calendar through this module ends, this process checks at once. Other
processes see a change within CALENDAR_CACHE_SECONDS. A transaction that changed the calendar reads its own,
uncommitted, calendar and never puts it in the shared cache, so a rolled-back change is never served.
"""

from __future__ import annotations

import threading
import time as clock
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from blinker import Namespace
from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from .audit import record
from .extensions import db
from .models import CalendarException, OfficeHours, OrgUnit, User
from .models.calendar import BASIS_MAX
from .parsing import clean_text
from .workcalendar import DEFAULT_HOURS, MAX_YEAR, MIN_YEAR, CalendarDay, DayOverride, WorkCalendar
from .workcalendar import OfficeHours as Hours

DEFAULT_CACHE_SECONDS = 5
_PENDING = "calendar_pending"  # session.info key: this transaction changed the calendar (its calendars, per unit)

calendar_signals = Namespace()
calendar_changed = calendar_signals.signal("calendar-changed")
"""Sent by the app after a calendar change, inside the change's transaction (before commit), with:
days: the dates whose status changed (empty when office hours changed: every date from now on);
unit_id: the agency whose office hours changed, None when days changed (every agency);
reason: the legal basis or what changed, for the history of each moved deadline; user: who (None: the CLI).
Subscribers (PAKN deadlines) recompute with current_calendar(), which already sees the change, and flush;
they do not commit: the change and the recomputed deadlines commit together or not at all."""


class CalendarError(ValueError):
    """A change the calendar refuses; the message says what to do, `field` which input it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class _Cache:
    signature: tuple[Any, ...] | None = None
    checked_at: float = float("-inf")
    # The calendar with default hours and the agencies' own hours, replaced together in one assignment.
    loaded: tuple[WorkCalendar, dict[int, Hours]] = field(default_factory=lambda: (WorkCalendar(), {}))
    by_unit: dict[int | None, WorkCalendar] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _cache() -> _Cache:
    return current_app.extensions.setdefault("calendar_cache", _Cache())


def current_calendar(unit_id: int | None = None) -> WorkCalendar:
    """The calendar of an agency: the nearest ancestor's office hours, else 07:00-11:30 and 13:30-17:00."""
    pending = db.session.info.get(_PENDING)
    if pending is not None:  # this transaction changed the calendar: its own view, never shared
        if not pending:
            pending["loaded"], pending["units"] = _load(), {}
        units = pending["units"]
        if unit_id not in units:
            base, hours = pending["loaded"]
            units[unit_id] = base.with_hours(_hours_for(unit_id, hours))
        return units[unit_id]
    cache = _cache()
    if clock.monotonic() - cache.checked_at >= current_app.config.get("CALENDAR_CACHE_SECONDS", DEFAULT_CACHE_SECONDS):
        with cache.lock:
            signature = _signature()
            if signature != cache.signature:
                cache.loaded = _load()
                cache.signature = signature
            # Units move in the tree without touching the calendar tables: resolve their hours again too.
            cache.by_unit = {}
            cache.checked_at = clock.monotonic()
    calendar = cache.by_unit.get(unit_id)
    if calendar is None:
        base, hours = cache.loaded
        calendar = cache.by_unit[unit_id] = base.with_hours(_hours_for(unit_id, hours))
    return calendar


def _signature() -> tuple[Any, ...]:
    """Changes whenever a row is added, removed or edited (a re-used SQLite id comes with a newer stamp)."""
    parts = []
    for model, stamp in ((CalendarException, CalendarException.created_at), (OfficeHours, OfficeHours.updated_at)):
        parts += [select(func.count(model.id)).scalar_subquery(), select(func.max(model.id)).scalar_subquery(),
                  select(func.max(stamp)).scalar_subquery()]
    return tuple(db.session.execute(select(*parts)).one())


def _load() -> tuple[WorkCalendar, dict[int, Hours]]:
    exceptions = {day: DayOverride(working, basis) for day, working, basis in db.session.execute(
        select(CalendarException.day, CalendarException.working, CalendarException.basis))}
    hours = {row.unit_id: _hours_of(row) for row in db.session.scalars(select(OfficeHours))}
    return WorkCalendar(exceptions), hours


def _hours_of(row: OfficeHours) -> Hours:
    return Hours(row.morning_start, row.morning_end, row.afternoon_start, row.afternoon_end)


def _hours_for(unit_id: int | None, hours: dict[int, Hours]) -> Hours:
    """The office hours of the unit or its nearest ancestor that has some."""
    seen: set[int] = set()
    while hours and unit_id is not None and unit_id not in seen:
        if unit_id in hours:
            return hours[unit_id]
        seen.add(unit_id)
        unit_id = db.session.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == unit_id))
    return DEFAULT_HOURS


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    # Committed or rolled back, the transaction that changed the calendar is over: check the tables at once.
    if transaction.parent is None and session.info.pop(_PENDING, None) is not None and has_app_context():
        _cache().checked_at = float("-inf")


def _changed(user: User | None, reason: str, days: list[date], unit_id: int | None = None) -> None:
    db.session.info[_PENDING] = {}  # from here on, this transaction reads its own calendar
    calendar_changed.send(current_app._get_current_object(), days=days, unit_id=unit_id, reason=reason, user=user)


# Exceptions ---------------------------------------------------------------------------------------------------

def add_exception(user: User | None, day: date, working: bool, basis: str, via: str = "web") -> CalendarException:
    """Declare a day off or a make-up working day with its legal basis; refused when the day already has one."""
    basis = _clean_basis(basis)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise CalendarError(_("Ngày phải nằm trong các năm %(first)d–%(last)d.", first=MIN_YEAR, last=MAX_YEAR),
                            "day")
    entry = CalendarException(day=day, working=working, basis=basis, created_by_id=user.id if user else None)
    try:
        with db.session.begin_nested():  # a duplicate undoes only this insert, not the caller's transaction
            db.session.add(entry)
    except IntegrityError:
        existing = db.session.scalar(select(CalendarException).where(CalendarException.day == day))
        raise CalendarError(_("Ngày %(day)s đã có một mục điều chỉnh (%(basis)s). Hãy xóa mục đó trước nếu muốn "
                              "thay đổi.", day=f"{day:%d/%m/%Y}", basis=existing.basis if existing else "…"),
                            "day") from None
    record(user, "calendar.add", entry, day=day.isoformat(), working=working, basis=basis, via=via)
    _changed(user, basis, [day])
    return entry


def remove_exception(user: User | None, day: date, via: str = "web") -> CalendarException:
    """Remove the entry of a day; the package's calendar applies to it again."""
    entry = db.session.scalar(select(CalendarException).where(CalendarException.day == day))
    if entry is None:
        raise CalendarError(_("Ngày %(day)s không có mục điều chỉnh nào để xóa.", day=f"{day:%d/%m/%Y}"), "day")
    db.session.delete(entry)
    db.session.flush()
    record(user, "calendar.remove", entry, day=day.isoformat(), working=entry.working, basis=entry.basis, via=via)
    _changed(user, _("Bỏ điều chỉnh ngày %(day)s (%(basis)s)", day=f"{day:%d/%m/%Y}", basis=entry.basis), [day])
    return entry


def _clean_basis(raw: str | None) -> str:
    basis, refused = clean_text(raw or "")
    if refused:
        raise CalendarError(_("Căn cứ pháp lý chứa ký tự không hợp lệ."), "basis")
    if not basis:
        raise CalendarError(_("Vui lòng ghi căn cứ pháp lý (số, ngày của văn bản quyết định)."), "basis")
    if len(basis) > BASIS_MAX:
        raise CalendarError(_("Căn cứ pháp lý dài tối đa %(max)d ký tự.", max=BASIS_MAX), "basis")
    return basis


# Office hours -------------------------------------------------------------------------------------------------

def set_office_hours(user: User, unit_id: int, hours: Hours) -> OfficeHours:
    """Give an agency (and its units without their own) its office hours."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise CalendarError(_("Không tìm thấy đơn vị này."), "unit_id")
    row = db.session.scalar(select(OfficeHours).where(OfficeHours.unit_id == unit_id))
    old = _describe(_hours_of(row)) if row else None
    if row is None:
        row = OfficeHours(unit_id=unit_id)
        db.session.add(row)
    row.morning_start, row.morning_end = hours.morning_start, hours.morning_end
    row.afternoon_start, row.afternoon_end = hours.afternoon_start, hours.afternoon_end
    row.updated_by_id = user.id
    db.session.flush()
    record(user, "calendar.office_hours", row, unit=unit.code, old=old, new=_describe(hours))
    _changed(user, _("Giờ làm việc của %(unit)s: %(hours)s", unit=unit.name, hours=_describe(hours)), [], unit_id)
    return row


def clear_office_hours(user: User, hours_id: int) -> None:
    """Remove an agency's own office hours: it follows its parent's (or the default) again."""
    row = db.session.get(OfficeHours, hours_id)
    if row is None:
        raise CalendarError(_("Không tìm thấy giờ làm việc này."))
    unit = row.unit
    old = _describe(_hours_of(row))
    db.session.delete(row)
    db.session.flush()
    record(user, "calendar.office_hours_removed", row, unit=unit.code, old=old)
    _changed(user, _("Bỏ giờ làm việc riêng của %(unit)s", unit=unit.name), [], unit.id)


def _describe(hours: Hours) -> str:
    return (f"{hours.morning_start:%H:%M}–{hours.morning_end:%H:%M}, "
            f"{hours.afternoon_start:%H:%M}–{hours.afternoon_end:%H:%M}")


# A year at a glance -------------------------------------------------------------------------------------------

@dataclass
class YearView:
    """What the calendar page and the API show of a year."""

    year: int
    days_off: list[CalendarDay]  # holidays and entries; plain weekends are only counted
    weekend_days_off: int
    make_up_days: list[CalendarDay]
    working_days: int
    entries: dict[date, CalendarException]  # the administrator's entries of the year, by day


def year_view(year: int, language: str = "vi") -> YearView:
    """A year's days off and make-up working days, each with its source."""
    calendar = current_calendar()
    off = calendar.non_working_days(year, language)
    entries = db.session.scalars(
        select(CalendarException).where(CalendarException.day.between(date(year, 1, 1), date(year, 12, 31)))
        .options(selectinload(CalendarException.created_by)).order_by(CalendarException.day))
    return YearView(year, [d for d in off if d.source != "weekend"], sum(d.source == "weekend" for d in off),
                    calendar.make_up_working_days(year, language), len(calendar.working_days_in(year)),
                    {e.day: e for e in entries})
