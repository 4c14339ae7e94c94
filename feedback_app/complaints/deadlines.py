"""Every PAKN deadline in one place: set at receipt from the policy, on the agency's working-time calendar,
shown as due / due soon / overdue, usable in Python and in queries, and recomputed when the calendar changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from ..calendar_service import current_calendar
from ..extensions import db
from ..models import Complaint, ComplaintEvent, DeadlinePolicy
from ..models.complaint import ANSWERING_STATES, EARLY_OUTCOMES, OPEN_STATES, current_due_expression
from ..timeutil import as_utc, utcnow
from ..workcalendar import WorkingTime
from .policies import policy_for

DUE_SOON_WORKING_DAYS = 2  # "sắp đến hạn": the deadline falls within this many working days
_EARLY = EARLY_OUTCOMES


def has_deadlines(complaint: Complaint) -> bool:
    """A legal PAKN runs on deadlines; an anonymous góp ý and a khiếu nại / tố cáo do not."""
    return complaint.legal and complaint.nature == "pakn"


def start_clock(complaint: Complaint) -> None:
    """Set the policy and the classification and answer deadlines from the date of receipt. The policy is chosen
    once, at receipt: a later policy never changes the days an item was given (see recompute_open)."""
    policy = db.session.get(DeadlinePolicy, complaint.policy_id) if complaint.policy_id else policy_for(complaint.kind)
    complaint.policy_id = policy.id if policy else None
    if policy is None or not has_deadlines(complaint):
        complaint.classify_due_at = complaint.answer_due_at = None
        return
    calendar = current_calendar(complaint.agency_id)
    received = as_utc(complaint.received_at)
    complaint.classify_due_at = calendar.add_working_days(received, policy.classify_days)
    complaint.answer_due_at = calendar.add_working_days(received, policy.answer_days)


def current_due(complaint: Complaint) -> datetime | None:
    """The deadline of the step the item is in now; None once the sender has been told (or no deadlines)."""
    if complaint.state == "received" or (complaint.state == "classified" and complaint.outcome in _EARLY):
        return as_utc(complaint.classify_due_at) if complaint.classify_due_at else None
    if complaint.state in ANSWERING_STATES:
        return as_utc(complaint.answer_due_at) if complaint.answer_due_at else None
    return None


def current_due_column() -> ColumnElement[Any]:
    """The same as current_due, as a SQL expression for filters and sorting (indexed: see the model)."""
    return current_due_expression()


def due_soon_limit(agency_id: int | None, now: datetime | None = None) -> datetime:
    """Deadlines up to this instant are "due soon"."""
    return current_calendar(agency_id).add_working_days(now or utcnow(), DUE_SOON_WORKING_DAYS)


def due_status(complaint: Complaint, now: datetime | None = None, soon_limit: datetime | None = None) -> str | None:
    """'overdue', 'due_soon' or 'on_time' for an item with a running deadline; None otherwise."""
    due = current_due(complaint)
    if due is None:
        return None
    now = now or utcnow()
    if due < now:
        return "overdue"
    return "due_soon" if due <= (soon_limit or due_soon_limit(complaint.agency_id, now)) else "on_time"


@dataclass(frozen=True)
class DueInfo:
    """What a row of the queue shows about an item's deadline."""

    due: datetime
    status: str
    left: WorkingTime


def due_info(complaint: Complaint, now: datetime | None = None, soon_limit: datetime | None = None) -> DueInfo | None:
    """The current deadline, its status and the working time left, computed once (None without a deadline)."""
    due = current_due(complaint)
    if due is None:
        return None
    now = now or utcnow()
    return DueInfo(due, due_status(complaint, now, soon_limit) or "on_time",
                   current_calendar(complaint.agency_id).working_time_between(now, due))


def time_left(complaint: Complaint, now: datetime | None = None) -> WorkingTime | None:
    """Working time from now to the current deadline (negative when overdue)."""
    due = current_due(complaint)
    if due is None:
        return None
    return current_calendar(complaint.agency_id).working_time_between(now or utcnow(), due)


def answered_on_time(complaint: Complaint) -> bool | None:
    """Whether the sender was told by the deadline of the outcome: the classification deadline for an item not
    accepted, forwarded or referred, else the answer deadline (None when it had none or is not told yet)."""
    due = complaint.classify_due_at if complaint.outcome in _EARLY else complaint.answer_due_at
    if complaint.notified_at is None or due is None:
        return None
    return as_utc(complaint.notified_at) <= as_utc(due)


def recompute_open(reason: str, user_id: int | None = None) -> int:
    """After a calendar change: recompute the deadlines of open items; each moved deadline keeps its old date
    and the reason in the item's history. Extended deadlines were chosen by a person and stay. No commit."""
    moved = 0
    extended_ids = set(db.session.scalars(select(ComplaintEvent.complaint_id)
                                          .where(ComplaintEvent.action == "extended")))
    open_items = select(Complaint).where(Complaint.state.in_(OPEN_STATES), Complaint.legal.is_(True),
                                         or_(Complaint.classify_due_at.is_not(None),
                                             Complaint.answer_due_at.is_not(None)))
    for complaint in db.session.scalars(open_items):
        before = (complaint.classify_due_at, complaint.answer_due_at)
        keep_answer = complaint.id in extended_ids
        start_clock(complaint)
        if keep_answer:
            complaint.answer_due_at = before[1]
        changes = {name: [_iso(old), _iso(new)] for name, old, new in
                   (("classify_due_at", before[0], complaint.classify_due_at),
                    ("answer_due_at", before[1], complaint.answer_due_at)) if _iso(old) != _iso(new)}
        if changes:
            moved += 1
            db.session.add(ComplaintEvent(complaint=complaint, user_id=user_id, action="deadline_moved",
                                          reason=reason, details=changes))
    return moved


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def on_calendar_changed(_sender: Any, reason: str = "", user: Any = None, **_: Any) -> None:
    """Signal receiver (calendar_service.calendar_changed): moves deadlines in the same transaction."""
    recompute_open(f"calendar: {reason}" if reason else "calendar", getattr(user, "id", None))
