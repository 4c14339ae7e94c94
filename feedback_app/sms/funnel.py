"""The invitations' funnel: invited -> delivered -> opened -> answered, per channel, counter or officer.

Counts only, never a row per citizen. "Invited" is an SMS the gateway took (its outbox row is 'sent'),
"delivered" one the gateway reported delivered (Vietnamese carriers often report nothing: the share is a floor),
"opened" a link opened at least once, "answered" a finished response by link or reply. Read straight from the
outbox row (outbox_message_id), so the figures never wait for the periodic copy. Dossiers not invited are
counted apart by their reason (skipped), and so are invitations still waiting for their send time.
Period: the day the invitation was created (local dates, both ends included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import Counter, Officer, OutboxMessage, SurveyInvitation
from ..timeutil import LOCAL_TZ

GROUPS = ("channel", "counter", "officer")


@dataclass
class FunnelRow:
    key: object
    label: str
    waiting: int = 0
    invited: int = 0
    delivered: int = 0
    opened: int = 0
    answered: int = 0

    def pct(self, part: int) -> float | None:
        return None if not self.invited else 100.0 * part / self.invited


@dataclass
class Funnel:
    rows: list[FunnelRow]
    total: FunnelRow
    skipped: dict[str, int]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), tzinfo=LOCAL_TZ),
            datetime.combine(end + timedelta(days=1), time(), tzinfo=LOCAL_TZ))


def funnel(units: set[int] | None, start: date, end: date, group: str = "channel") -> Funnel:
    """The funnel of invitations created from `start` to `end` in these agencies (None: all), grouped."""
    if group not in GROUPS:
        raise ValueError(group)
    key = {"channel": SurveyInvitation.channel, "counter": SurveyInvitation.counter_id,
           "officer": SurveyInvitation.officer_id}[group]
    since, until = _bounds(start, end)
    where = [SurveyInvitation.created_at >= since, SurveyInvitation.created_at < until]
    if units is not None:
        where.append(SurveyInvitation.agency_id.in_(sorted(units) or [-1]))
    sent = OutboxMessage.status == "sent"
    active = SurveyInvitation.status != "skipped"

    def count(condition) -> object:  # noqa: ANN001 - a SQL condition
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    stmt = (select(key, count(active & (OutboxMessage.id.is_(None) | (OutboxMessage.status != "sent"))
                              & (SurveyInvitation.status == "scheduled")),
                   count(active & sent), count(active & sent & (OutboxMessage.delivery_status == "delivered")),
                   count(active & SurveyInvitation.opened_at.is_not(None)),
                   count(SurveyInvitation.status == "answered"))
            .select_from(SurveyInvitation)
            .outerjoin(OutboxMessage, OutboxMessage.id == SurveyInvitation.outbox_message_id)
            .where(*where, active).group_by(key))
    labels = _labels(group)
    rows = [FunnelRow(k, labels(k), int(w), int(i), int(d), int(o), int(a)) for k, w, i, d, o, a in
            db.session.execute(stmt)]
    rows.sort(key=lambda r: (-r.invited, r.label))
    total = FunnelRow(None, "")
    for row in rows:
        for name in ("waiting", "invited", "delivered", "opened", "answered"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    skipped = dict(db.session.execute(
        select(SurveyInvitation.skip_reason, func.count(SurveyInvitation.id))
        .where(*where, SurveyInvitation.status == "skipped").group_by(SurveyInvitation.skip_reason)).all())
    return Funnel(rows, total, {str(k): int(v) for k, v in skipped.items()})


def _labels(group: str):  # noqa: ANN202 - a function of a key
    if group == "channel":
        return lambda key: str(key)
    model = Counter if group == "counter" else Officer
    column = Counter.name if group == "counter" else Officer.full_name
    names = dict(db.session.execute(select(model.id, column)).all())
    return lambda key: names.get(key, "") if key is not None else ""
