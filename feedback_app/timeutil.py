"""Time helpers: store UTC, show Asia/Ho_Chi_Minh, dates as dd/mm/yyyy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


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


def parse_date(text: str) -> date:
    """Accept dd/mm/yyyy (what people type) or yyyy-mm-dd (what date inputs and APIs send)."""
    text = (text or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)
