"""Stepped reminders before and after a deadline (the steps are data on the policy): the handler first, then the
unit's head, then the head of the Văn phòng. Run by the worker; each step is sent once per deadline."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..calendar_service import current_calendar
from ..extensions import db
from ..models import Complaint, DeadlinePolicy, User
from ..models.complaint import OPEN_STATES
from ..timeutil import as_utc, to_local, utcnow
from .deadlines import current_due, current_due_column
from .notices import office_staff, tell_staff, unit_staff

EVERY_SECONDS = 15 * 60


def recipients(complaint: Complaint, to: str) -> list[User]:
    """Who a step goes to; a missing head falls back to the staff of that level, so nobody is left untold."""
    if to == "handler":
        people = unit_staff(complaint.unit_id) if complaint.unit_id else []
        return people or office_staff(complaint.agency_id)
    if to == "unit_head":
        people = unit_staff(complaint.unit_id, heads_only=True) if complaint.unit_id else []
        return people or office_staff(complaint.agency_id, heads_only=True) or office_staff(complaint.agency_id)
    return office_staff(complaint.agency_id, heads_only=True) or office_staff(complaint.agency_id)


def due_steps(complaint: Complaint, policy: DeadlinePolicy, now: datetime) -> list[tuple[int, dict, datetime]]:
    """The reminder steps whose day has come: (index, step, deadline)."""
    due = current_due(complaint)
    if due is None:
        return []
    calendar = current_calendar(complaint.agency_id)
    today = to_local(now).date()
    result = []
    for index, step in enumerate(policy.reminders or []):
        offset = int(step.get("offset_days", 0))
        day = to_local(calendar.add_working_days(due, offset) if offset else due).date()
        if today >= day:
            result.append((index, step, due))
    return result


def send_due_reminders(now: datetime | None = None) -> int:
    """Notify for every step that is due and not yet sent for the item's current deadline; returns how many
    notifications were written (the caller commits)."""
    now = as_utc(now) if now else utcnow()
    policies = {p.id: p for p in db.session.scalars(select(DeadlinePolicy))}
    stmt = (select(Complaint).where(Complaint.state.in_(OPEN_STATES), current_due_column().is_not(None),
                                    Complaint.policy_id.is_not(None))
            .order_by(Complaint.id))
    told = 0
    for complaint in db.session.scalars(stmt):
        policy = policies.get(complaint.policy_id)
        if policy is None:
            continue
        for index, step, due in due_steps(complaint, policy, now):
            late = due < now
            text = (_l("PAKN %(code)s đã quá hạn (%(day)s)", code=complaint.code, day=f"{to_local(due):%d/%m/%Y}")
                    if late else
                    _l("PAKN %(code)s đến hạn ngày %(day)s", code=complaint.code, day=f"{to_local(due):%d/%m/%Y}"))
            # One key per item, deadline and step: a moved deadline starts its reminders again.
            key = f"pakn-reminder:{complaint.id}:{due.isoformat()}:{index}"
            told += tell_staff(recipients(complaint, str(step.get("to", "handler"))), text, complaint, dedupe=key)
    return told


def reminders_job() -> int:
    """The worker's periodic job."""
    return send_due_reminders()
