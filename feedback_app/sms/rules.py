"""The sending rules of survey invitations, as pure functions of the time and an agency's settings.

- The send time: `INVITATION_SEND_AT` ("19:00", or "now") on the day the result is returned, in Vietnam's time.
- Quiet hours: `SMS_QUIET_HOURS` ("21:00-07:00", possibly across midnight; empty for none). Nothing is sent
  inside them.
- The next allowed moment (our decision for a dossier imported after its send time has passed): at once when
  now is outside the quiet hours, else the end of the quiet hours. So "returned yesterday, imported today at
  10:00, send time 19:00" goes at 10:00 today, and imported at 23:00 goes at 07:00 the next morning. The
  planned moment is never before now and never inside the quiet hours.
- One invitation per phone per `INVITATION_MIN_DAYS_PER_PHONE` days, opt-out forever, an agency's pause:
  the queries live in sms/invitations.py and sms/guard.py; the arithmetic is here.

Every function takes aware datetimes (any zone) and answers aware UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ..timeutil import LOCAL_TZ

SEND_NOW = "now"
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_QUIET = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """[start, end) in local time; start > end runs across midnight (21:00-07:00)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_clock(text: str | None) -> time | None:
    """"19:00" or "7:05" as a time; None when it is not one."""
    match = _CLOCK.match((text or "").strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def parse_send_at(text: str | None) -> str | None:
    """"now" or a time of day written HH:MM; None when it is neither."""
    value = (text or "").strip().lower()
    if value in (SEND_NOW, "ngay"):
        return SEND_NOW
    clock = parse_clock(value)
    return f"{clock:%H:%M}" if clock else None


def parse_quiet_hours(text: str | None) -> QuietHours | None:
    """"21:00-07:00" as QuietHours; None for "" (no quiet hours). ValueError for anything else, or a range that
    starts and ends at the same minute (it would mean either never or always)."""
    value = (text or "").strip()
    if not value:
        return None
    match = _QUIET.match(value)
    start = parse_clock(match.group(1)) if match else None
    end = parse_clock(match.group(2)) if match else None
    if start is None or end is None or start == end:
        raise ValueError(value)
    return QuietHours(start, end)


def in_quiet_hours(moment: datetime, quiet: QuietHours | None) -> bool:
    """Whether the moment falls inside the quiet hours (local time)."""
    if quiet is None:
        return False
    clock = moment.astimezone(LOCAL_TZ).time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= clock < quiet.end
    return clock >= quiet.start or clock < quiet.end


def quiet_hours_end(moment: datetime, quiet: QuietHours) -> datetime:
    """The end of the quiet period the moment lies in (UTC); the moment itself when it lies in none."""
    if not in_quiet_hours(moment, quiet):
        return moment.astimezone(UTC)
    local = moment.astimezone(LOCAL_TZ)
    day = local.date()
    # Across midnight, before the end: it ends today; after the start: tomorrow.
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        day = day + timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=LOCAL_TZ).astimezone(UTC)


def next_allowed(moment: datetime, quiet: QuietHours | None) -> datetime:
    """The moment itself when it is outside the quiet hours, else the end of them (UTC)."""
    if quiet is None:
        return moment.astimezone(UTC)
    return quiet_hours_end(moment, quiet)


def planned_send(returned: date, send_at: str, quiet: QuietHours | None, now: datetime) -> datetime:
    """When a dossier returned on `returned` is invited: the send time on that day (local), at once for "now";
    a moment already past becomes now; then moved out of the quiet hours. Never before now."""
    if send_at == SEND_NOW:
        wanted = now
    else:
        clock = parse_clock(send_at)
        if clock is None:
            raise ValueError(send_at)
        wanted = max(datetime.combine(returned, clock, tzinfo=LOCAL_TZ), now)
    return next_allowed(wanted, quiet)


def link_expired_before_sending(returned: date, link_days: int, today: date) -> bool:
    """A dossier returned more than `link_days` ago is not invited: its link would be stale on arrival."""
    return (today - returned).days > link_days


def period_start(now: datetime, min_days: int) -> datetime:
    """Invitations created after this moment count against "one per phone per period"."""
    return (now - timedelta(days=min_days)).astimezone(UTC)


@dataclass(frozen=True)
class Rules:
    """One agency's effective settings: its own values, the installation's where it has none."""

    send_at: str
    quiet: QuietHours | None
    min_days: int
    link_days: int
    ascii_only: bool
    sender_name: str
    template: str | None  # None: the default template (templates/sms/invitation.txt)
    price_per_segment: Decimal
    paused: bool


def effective_rules(settings: Any | None, config: Mapping[str, Any]) -> Rules:
    """Rules from an AgencySmsSettings row (or None) over the configuration; a broken configured value falls
    back to the safe choice (19:00, 21:00-07:00) rather than stopping every invitation."""

    def own(name: str) -> Any:
        return getattr(settings, name, None) if settings is not None else None

    send_at = parse_send_at(own("send_at") or config.get("INVITATION_SEND_AT")) or "19:00"
    quiet_text = own("quiet_hours")
    if quiet_text is None:
        quiet_text = config.get("SMS_QUIET_HOURS", "")
    try:
        quiet = parse_quiet_hours(quiet_text)
    except ValueError:
        quiet = QuietHours(time(21), time(7))
    min_days = own("min_days_between")
    link_days = own("link_valid_days")
    ascii_only = own("ascii_only")
    price = own("price_per_segment")
    return Rules(
        send_at=send_at,
        quiet=quiet,
        min_days=int(config.get("INVITATION_MIN_DAYS_PER_PHONE", 30) if min_days is None else min_days),
        link_days=max(1, int(config.get("INVITATION_LINK_DAYS", 7) if link_days is None else link_days)),
        ascii_only=bool(config.get("SMS_ASCII_ONLY", False) if ascii_only is None else ascii_only),
        sender_name=(own("sender_name") or config.get("SMS_SENDER_NAME") or "").strip(),
        template=own("invitation_template") or None,
        price_per_segment=Decimal(str(config.get("SMS_PRICE_PER_SEGMENT", 0) if price is None else price)),
        paused=bool(own("paused")),
    )
