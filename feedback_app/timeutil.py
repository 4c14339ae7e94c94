"""Time helpers: store UTC, show Asia/Ho_Chi_Minh, dates as dd/mm/yyyy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from .workcalendar import MAX_YEAR, MIN_YEAR

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Dates people may type where a date is counted or compared: the working calendar's years (its deadlines raise
# outside them) and far enough from year 1 and 9999 that moving to UTC or adding a day never overflows.
FIRST_YEAR, LAST_YEAR = MIN_YEAR, MAX_YEAR


class DateOutOfRange(ValueError):
    """A well-formed date outside FIRST_YEAR..LAST_YEAR (a ValueError, so callers that only check the form
    still refuse it)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.first, self.last = FIRST_YEAR, LAST_YEAR


def in_range(value: date | datetime) -> bool:
    """Whether a date (or a datetime's date, as written) falls in FIRST_YEAR..LAST_YEAR."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A datetime read back from a database that drops the zone (SQLite) is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """A stored UTC datetime in Vietnam's local time."""
    return as_utc(value).astimezone(LOCAL_TZ)


def local_today() -> date:
    """Today's date in Vietnam."""
    return datetime.now(LOCAL_TZ).date()


def format_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, the way Vietnamese offices write dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in local time."""
    return "" if value is None else to_local(value).strftime("%d/%m/%Y %H:%M")


def parse_date(text: str, bounded: bool = False) -> date:
    """Accept dd/mm/yyyy (what people type) or yyyy-mm-dd (what date inputs and APIs send). ValueError when
    neither; with `bounded`, DateOutOfRange (a ValueError) for a year outside FIRST_YEAR..LAST_YEAR."""
    text = (text or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if bounded and not in_range(day):
            raise DateOutOfRange(text)
        return day
    raise ValueError(text)
