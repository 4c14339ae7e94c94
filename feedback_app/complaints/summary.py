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


def period_summary(user: User, start: date, end: date, now: datetime) -> Summary:
    """The figures of items received from `start` to `end` (local dates, both included): one pass over the
    period's items, grouped by outcome and channel, and the extensions."""
    c = Complaint
    period = and_(access.queue_condition(user), c.received_at >= _instant(start),
                  c.received_at < _instant(end + timedelta(days=1)))
    due = case((c.outcome.in_(EARLY_OUTCOMES), c.classify_due_at), else_=c.answer_due_at)
    told = and_(c.notified_at.is_not(None), due.is_not(None))
    rows = db.session.execute(
        select(c.outcome, c.channel, func.count(), func.count(case((c.legal.is_(True), 1))),
               func.count(case((and_(told, c.notified_at <= due), 1))),
               func.count(case((and_(told, c.notified_at > due), 1))),
               func.count(case((and_(c.notified_at.is_(None), c.state != "closed", due < now), 1))))
        .where(period).group_by(c.outcome, c.channel))
    result = Summary(start, end)
    for outcome, channel, count, legal, on_time, late, overdue in rows:
        result.received += count
        result.legal += legal
        result.on_time += on_time
        result.late += late
        result.open_overdue += overdue
        result.by_outcome[outcome] = result.by_outcome.get(outcome, 0) + count
        result.by_channel[channel] = result.by_channel.get(channel, 0) + count
    result.extended = db.session.scalar(
        select(func.count(func.distinct(ComplaintEvent.complaint_id)))
        .join(c, c.id == ComplaintEvent.complaint_id).where(period, ComplaintEvent.action == "extended")) or 0
    return result
