"""The honest figures of a period: items received, each outcome counted apart, answers on time and late,
extensions — in the user's scope. Late answers are shown, not hidden."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..models import Complaint, ComplaintEvent, User
from ..models.complaint import EARLY_OUTCOMES
from ..timeutil import LOCAL_TZ
from . import access


@dataclass
class Summary:
    """Counts for one period."""

    start: date
    end: date
    received: int = 0
    legal: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)  # None: still being handled
    by_channel: dict[str, int] = field(default_factory=dict)
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    extended: int = 0

    @property
    def late_share(self) -> float | None:
        """Share of the senders told after their deadline, in percent."""
        told = self.on_time + self.late
        return 100 * self.late / told if told else None


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def _counts(column, condition) -> dict:
    return {key: n for key, n in db.session.execute(select(column, func.count()).where(condition).group_by(column))}


def period_summary(user: User, start: date, end: date, now: datetime) -> Summary:
    """The figures of items received from `start` to `end` (local dates, both included)."""
    c = Complaint
    period = and_(access.queue_condition(user), c.received_at >= _instant(start),
                  c.received_at < _instant(end + timedelta(days=1)))
    result = Summary(start, end)
    result.received, result.legal = db.session.execute(
        select(func.count(), func.count(case((c.legal.is_(True), 1)))).where(period)).one()
    result.by_outcome = _counts(c.outcome, period)
    result.by_channel = _counts(c.channel, period)
    due = case((c.outcome.in_(EARLY_OUTCOMES), c.classify_due_at), else_=c.answer_due_at)
    told = and_(period, c.notified_at.is_not(None), due.is_not(None))
    result.on_time = db.session.scalar(select(func.count()).where(told, c.notified_at <= due)) or 0
    result.late = db.session.scalar(select(func.count()).where(told, c.notified_at > due)) or 0
    result.open_overdue = db.session.scalar(select(func.count()).where(
        period, c.notified_at.is_(None), c.state != "closed", due.is_not(None), due < now)) or 0
    result.extended = db.session.scalar(
        select(func.count(func.distinct(ComplaintEvent.complaint_id)))
        .join(c, c.id == ComplaintEvent.complaint_id).where(period, ComplaintEvent.action == "extended")) or 0
    return result
