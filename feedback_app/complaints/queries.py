"""Reading the queue: filters, sorting by due date, counts — always inside the user's scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Complaint, User
from ..models.complaint import OPEN_STATES
from ..timeutil import utcnow
from . import access
from .deadlines import current_due_column, due_soon_limit

PAGE_SIZE = 50
COUNT_LIMIT = 1000  # beyond this, the page says "more than 1,000" rather than counting every match
_CODE = re.compile(r"PA-\d{4}-\d{1,12}", re.IGNORECASE)


@dataclass
class QueueFilter:
    """What the office asked to see."""

    state: str = "open"  # a state, 'open' (every open one) or 'all'
    unit_id: int | None = None
    channel: str = ""
    kind: str = ""
    due: str = ""  # '', 'soon' or 'overdue'
    q: str = ""  # a code, or words of the content
    page: int = 1


def queue_query(user: User, f: QueueFilter, now: datetime | None = None) -> Select:
    """The items the user may read that match the filter, the most urgent first."""
    now = now or utcnow()
    due = current_due_column()
    stmt = select(Complaint).where(access.queue_condition(user))
    if f.state == "open":
        stmt = stmt.where(Complaint.state.in_(OPEN_STATES))
    elif f.state != "all":
        stmt = stmt.where(Complaint.state == f.state)
    if f.unit_id:
        stmt = stmt.where(Complaint.unit_id == f.unit_id)
    if f.channel:
        stmt = stmt.where(Complaint.channel == f.channel)
    if f.kind:
        stmt = stmt.where(Complaint.kind == f.kind)
    if f.due == "overdue":
        stmt = stmt.where(due < now)
    elif f.due == "soon":
        stmt = stmt.where(due >= now, due <= due_soon_limit(user.org_unit_id, now))
    if f.q:
        term = f.q.strip()
        # A code finds its item through the unique index; words search the content.
        stmt = stmt.where(Complaint.code == term.upper() if _CODE.fullmatch(term) else Complaint.content.contains(term))
    # Items with a running deadline first, soonest first; then the newest.
    return stmt.order_by(due.is_(None), due, Complaint.received_at.desc(), Complaint.id.desc())


def queue_page(user: User, f: QueueFilter, now: datetime | None = None) -> tuple[list[Complaint], int]:
    """One page of the queue and the number of matching items, counted up to COUNT_LIMIT + 1."""
    stmt = queue_query(user, f, now)
    total = db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).limit(COUNT_LIMIT + 1).subquery())) or 0
    page = max(1, f.page)
    items = list(db.session.scalars(stmt.options(selectinload(Complaint.unit))
                                    .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return items, total


def state_counts(user: User) -> dict[str, int]:
    """How many open items of each state the user may read (closed ones grow with the years: not counted)."""
    rows = db.session.execute(select(Complaint.state, func.count()).where(access.queue_condition(user),
                                                                          Complaint.state.in_(OPEN_STATES))
                              .group_by(Complaint.state))
    return {state: count for state, count in rows}


def due_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """Open items overdue and due soon, for the queue's header."""
    now = now or utcnow()
    due = current_due_column()
    base = select(func.count()).select_from(Complaint).where(access.queue_condition(user),
                                                             Complaint.state.in_(OPEN_STATES))
    return {
        "overdue": db.session.scalar(base.where(due < now)) or 0,
        "soon": db.session.scalar(base.where(due >= now, due <= due_soon_limit(user.org_unit_id, now))) or 0,
    }
