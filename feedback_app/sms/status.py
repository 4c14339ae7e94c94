"""Delivery status of sent SMS: reports from the gateways, never moving backwards; the daily reconciliation.

A message moves queued -> sent -> one of delivered, undelivered, failed. A report is recorded only when it
moves the message forward, with one conditional UPDATE (so two reports racing each other, or a report racing
the worker's own write, cannot move it back either):

* queued and sent are never written over a later status (a late 'sent' after 'delivered' is ignored);
* delivered and failed are final; failed means the gateway never handed the message to a carrier;
* undelivered may still become delivered: Vietnamese carriers' receipts arrive late and out of order, and a
  handset's receipt is the stronger evidence. Nothing else leaves undelivered.

A report may also reconcile a message whose worker died between the gateway's acceptance and its own commit:
Twilio's callback URL carries our outbox id (`?m=`), the generic gateway's report its `reference`. When that row
has no provider id yet, it gets this one and is marked sent (a row still waiting for its lock to expire is then
not sent a second time). A report about another copy of a message (sent twice in that window) is ignored.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, or_, select, update

from ..extensions import db
from ..models.messaging import OutboxMessage
from ..models.sms import SurveyInvitation
from ..timeutil import utcnow

log = logging.getLogger("feedback_app.sms")

FINAL = ("delivered", "undelivered", "failed")
# For each reported status, the statuses (None: no report yet) it may replace.
_MAY_REPLACE: dict[str, tuple[str | None, ...]] = {
    "queued": (None,),
    "sent": (None, "queued"),
    "undelivered": (None, "queued", "sent"),
    "failed": (None, "queued", "sent"),
    "delivered": (None, "queued", "sent", "undelivered"),
}
RECONCILE_EVERY_SECONDS = 24 * 3600
RECONCILE_MIN_AGE = timedelta(hours=1)  # younger messages are still on their way: their reports may yet come
RECONCILE_DAYS = 7  # older messages keep what they have (SMS_RECONCILE_DAYS overrides)
RECONCILE_MAX_PER_RUN = 5000


def may_replace(current: str | None, reported: str) -> bool:
    """Whether a `reported` delivery status moves a message forward from `current`."""
    return current in _MAY_REPLACE.get(reported, ())


def invitation_sent(entity_type: str | None, entity_id: int | None, at: datetime) -> None:
    """The funnel's 'invited' step: an invitation's SMS was accepted by the gateway (flushed, not committed)."""
    if entity_type != SurveyInvitation.__tablename__ or entity_id is None:
        return
    table = SurveyInvitation.__table__
    db.session.execute(update(table).where(table.c.id == entity_id).values(
        sent_at=func.coalesce(table.c.sent_at, at),
        status=case((table.c.status == "scheduled", "sent"), else_=table.c.status)))


def _invitation_delivered(entity_type: str | None, entity_id: int | None, at: datetime) -> None:
    if entity_type != SurveyInvitation.__tablename__ or entity_id is None:
        return
    db.session.execute(update(SurveyInvitation)
                       .where(SurveyInvitation.id == entity_id, SurveyInvitation.delivered_at.is_(None))
                       .values(delivered_at=at))


def _reconcile_by_reference(provider: str, provider_id: str, message_id: int, now: datetime) -> OutboxMessage | None:
    """The row our reference names, given `provider_id` if it has none yet (and marked sent if still waiting)."""
    adopted = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.channel == "sms", OutboxMessage.provider_id.is_(None),
               OutboxMessage.status.in_(("pending", "sending", "failed")))
        .values(provider=provider, provider_id=provider_id, status="sent", sent_at=now, locked_until=None,
                locked_by=None, last_error=None)
        .execution_options(synchronize_session=False)).rowcount
    row = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if row is None or row.channel != "sms" or row.provider_id != provider_id:
        return None
    if adopted:
        log.info("SMS #%d: reconciled from a delivery report (its worker stopped after the gateway took it)",
                 message_id)
        invitation_sent(row.entity_type, row.entity_id, now)
    return row


def record_delivery(provider: str, provider_id: str | None, status: str, error_code: str | None = None, *,
                    message_id: int | None = None) -> str:
    """Record a gateway's delivery report and commit: 'updated', 'unchanged' (not a step forward), 'unknown'
    (no such message) or 'other_copy' (a report about the copy of a message sent twice)."""
    if status not in _MAY_REPLACE or not provider_id:
        raise ValueError(f"not a delivery report: {status!r} for {provider_id!r}")
    provider_id = provider_id.strip()[:255]
    now = utcnow()
    row = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.provider_id == provider_id, OutboxMessage.channel == "sms",
        OutboxMessage.provider == provider).limit(1)).first()
    if row is None and message_id is not None:
        row = _reconcile_by_reference(provider, provider_id, message_id, now)
        if row is None:
            other = db.session.get(OutboxMessage, message_id)
            db.session.commit()
            return "other_copy" if other is not None and other.provider_id else "unknown"
    if row is None:
        db.session.rollback()
        return "unknown"
    previous = tuple(s for s in _MAY_REPLACE[status] if s is not None)
    values: dict[str, Any] = {"delivery_status": status, "delivery_updated_at": now}
    if status in FINAL:
        values["error_code"] = (error_code or "")[:20] or None  # a late 'delivered' clears an earlier code
    moved = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id,
               or_(OutboxMessage.delivery_status.is_(None), OutboxMessage.delivery_status.in_(previous)))
        .values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if moved and status == "delivered":
        _invitation_delivered(row.entity_type, row.entity_id, now)
    db.session.commit()
    return "updated" if moved else "unchanged"


def reconcile(config: Any, gateway: Any | None = None, *, now: datetime | None = None) -> int:
    """Ask the gateway for the status of SMS sent 1 hour to SMS_RECONCILE_DAYS days ago that have no final one;
    record each answer (same rule: never backwards). Returns how many moved forward."""
    from ..outbox.senders import SendError, Senders

    gateway = gateway or Senders(config).for_channel("sms")
    now = now or utcnow()
    days = int(config.get("SMS_RECONCILE_DAYS") or RECONCILE_DAYS)
    due = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.provider_id)
        .where(OutboxMessage.channel == "sms", OutboxMessage.status == "sent",
               OutboxMessage.provider == gateway.name, OutboxMessage.provider_id.is_not(None),
               or_(OutboxMessage.delivery_status.is_(None), OutboxMessage.delivery_status.in_(("queued", "sent"))),
               OutboxMessage.sent_at <= now - RECONCILE_MIN_AGE, OutboxMessage.sent_at >= now - timedelta(days=days))
        .order_by(OutboxMessage.sent_at).limit(RECONCILE_MAX_PER_RUN)).all()
    db.session.commit()  # no transaction stays open while the gateway answers
    moved = errors = 0
    for message_id, provider_id in due:
        try:
            answer = gateway.fetch_status(provider_id)
        except SendError as error:
            errors += 1
            log.info("SMS #%d: status look-up failed: %s", message_id, error.reason)
            continue
        if answer is None:
            continue
        status, code = answer
        if record_delivery(gateway.name, provider_id, status, code) == "updated":
            moved += 1
    if errors:
        log.warning("SMS reconciliation: %d of %d look-ups failed", errors, len(due))
    return moved


def reconcile_job() -> int:
    """The daily reconciliation, run by the worker."""
    return reconcile(current_app.config)


def register_jobs() -> None:
    """Periodic jobs of delivery reports (the daily reconciliation)."""
    from ..outbox import register_periodic

    register_periodic("sms-delivery-reconcile", RECONCILE_EVERY_SECONDS, reconcile_job)
