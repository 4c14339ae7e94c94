"""Personal data is kept no longer than the retention period (Nghị định 13/2023): after an item has been closed
that long, its sender's identity is erased (the matter, the answer and the figures stay); likewise callers in the
hotline log. Run daily by the worker and on demand by `flask --app wsgi pakn erase-expired`."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..audit import record
from ..extensions import db
from ..models import Complaint, ComplaintEvent, HotlineCall
from ..models.messaging import OutboxMessage
from ..timeutil import utcnow
from .actions import erase_copies

EVERY_SECONDS = 24 * 3600
SENT_MESSAGES_KEPT_DAYS = 90


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Items closed before this instant have passed the retention period."""
    return (now or utcnow()) - timedelta(days=current_app.config["PAKN_RETENTION_DAYS"])


def expired_items(now: datetime | None = None) -> list[Complaint]:
    """Closed items past retention that still hold personal data."""
    personal = or_(Complaint.sender_name.is_not(None), Complaint.sender_phone.is_not(None),
                   Complaint.sender_email.is_not(None), Complaint.sender_address.is_not(None))
    return list(db.session.scalars(select(Complaint).where(Complaint.state == "closed",
                                                           Complaint.closed_at < retention_cutoff(now), personal)))


def erase_expired(now: datetime | None = None, dry_run: bool = False) -> tuple[int, int]:
    """Erase what is past retention: (items, hotline calls). Flushes; the caller commits."""
    items = expired_items(now)
    cutoff = retention_cutoff(now)
    calls_filter = (HotlineCall.started_at < cutoff, HotlineCall.personal_erased_at.is_(None),
                    or_(HotlineCall.caller_name.is_not(None), HotlineCall.caller_phone.is_not(None)))
    if dry_run:
        calls = len(db.session.scalars(select(HotlineCall.id).where(*calls_filter)).all())
        return len(items), calls
    for complaint in items:
        erase_copies(complaint)
        db.session.add(ComplaintEvent(complaint=complaint, action="erase", from_state=complaint.state,
                                      to_state=complaint.state, reason="retention"))
    calls = db.session.execute(update(HotlineCall).where(*calls_filter)
                               .values(caller_name=None, caller_phone=None, personal_erased_at=utcnow())
                               .execution_options(synchronize_session=False)).rowcount
    # Sent e-mails and SMS hold addresses, numbers and texts: once delivered long enough ago, only the record
    # that they were sent stays (the item's page keeps what was said).
    db.session.execute(update(OutboxMessage).where(OutboxMessage.status.in_(("sent", "dead", "cancelled")),
                                                   OutboxMessage.created_at < (now or utcnow())
                                                   - timedelta(days=SENT_MESSAGES_KEPT_DAYS),
                                                   OutboxMessage.body != "")
                       .values(recipient="", body="").execution_options(synchronize_session=False))
    if items or calls:
        record(None, "pakn.erase_expired", None, items=len(items), calls=calls,
               retention_days=current_app.config["PAKN_RETENTION_DAYS"])
    db.session.flush()
    return len(items), calls


def retention_job() -> int:
    """The worker's daily job."""
    items, calls = erase_expired()
    return items + calls
