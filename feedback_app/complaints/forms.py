"""Parsing the queue's filters and the action forms (CSRF is global): plain values in, named errors out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ..labels import COMPLAINT_CHANNEL_LABELS, COMPLAINT_KIND_LABELS, COMPLAINT_STATE_LABELS
from ..parsing import parse_id
from ..timeutil import parse_date
from .queries import QueueFilter


def queue_filter(args: Mapping[str, str]) -> QueueFilter:
    """The filter from the query string; unknown values are ignored rather than failing."""
    state = args.get("state", "open")
    page = parse_id(args.get("page")) or 1
    return QueueFilter(
        state=state if state in ("open", "all", *COMPLAINT_STATE_LABELS) else "open",
        unit_id=parse_id(args.get("unit")),
        channel=args.get("channel", "") if args.get("channel") in COMPLAINT_CHANNEL_LABELS else "",
        kind=args.get("kind", "") if args.get("kind") in COMPLAINT_KIND_LABELS else "",
        due=args.get("due", "") if args.get("due") in ("soon", "overdue") else "",
        q=(args.get("q") or "").strip()[:100],
        page=min(page, 10_000),
    )


def parse_day(raw: str | None) -> date | None:
    """A date typed as dd/mm/yyyy (or yyyy-mm-dd from a date input) within the calendar's years; None otherwise."""
    try:
        return parse_date(raw or "", bounded=True)
    except ValueError:
        return None


def version_of(form: Mapping[str, str]) -> int | None:
    """The version of the item the person saw when they opened the form."""
    return parse_id(form.get("version"))
