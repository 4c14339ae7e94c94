"""Draining the outbox: claim due rows, send them outside any transaction, record what happened.

Claiming is one short transaction: due rows (pending or failed whose available_at has come, or 'sending'
rows whose lock expired because their worker died) are locked — on PostgreSQL with FOR UPDATE SKIP LOCKED, so
several workers share the table without waiting on each other — marked 'sending' with locked_until/locked_by,
and committed. Each message is then sent with no transaction open and its outcome written in one more short
transaction, guarded by locked_by so a worker whose lease ran out cannot overwrite the one that took over.
Delivery is at least once: a worker dying between the send and that write sends the message again later.

SMS: when claimed, `sms.guard.before_send` may hold a message (back to pending until a later moment, the attempt
not counted: quiet hours, a paused agency) or cancel it (opt-out…). The gateway's answer gives the
provider's id and a first delivery status; later reports move that status forward (sms/status.py), and a report
arriving before our own write wins (the write never moves the status back).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models.messaging import OutboxMessage
from ..models.sms import AgencySmsSettings
from ..timeutil import as_utc, utcnow
from .senders import Accepted, OutgoingMessage, SendError, Senders

log = logging.getLogger("feedback_app.outbox")


def worker_name() -> str:
    """host:pid:thread — who holds a lock (shown to administrators, used to guard the outcome's write)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0  # SMS put back until a later moment by the send guard
    cancelled: int = 0  # SMS the send guard cancelled

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.dead + self.held + self.cancelled


def backoff_seconds(attempts: int, config: Any) -> int:
    """Wait before the next try after `attempts` failed ones: base, 2×base, 4×base … at most the ceiling."""
    base = int(config["OUTBOX_BACKOFF_SECONDS"])
    return min(base * 2 ** max(attempts - 1, 0), int(config["OUTBOX_BACKOFF_MAX_SECONDS"]))


def _due(cutoff: datetime) -> Any:
    return or_(
        and_(OutboxMessage.status.in_(("pending", "failed")), OutboxMessage.available_at <= cutoff),
        and_(OutboxMessage.status == "sending", OutboxMessage.locked_until < cutoff),  # its worker died
    )


def claim(limit: int, worker: str, *, due_before: datetime | None = None, lock_seconds: int = 300,
          result: DrainResult | None = None) -> list[OutgoingMessage]:
    """Take up to `limit` due messages for `worker` and commit; returns what to send.

    An SMS first goes through the send guard, in this same transaction: held ones go back to pending until the
    guard's moment (no attempt counted), cancelled ones are closed; only the rest is taken. (One transaction per
    batch rather than one more per message: the guard's word is at most one batch old when the message leaves.)
    """
    cutoff = due_before or utcnow()
    stmt = (select(OutboxMessage).where(_due(cutoff))
            .order_by(OutboxMessage.available_at, OutboxMessage.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = db.session.scalars(stmt).all()
    now = utcnow()
    locked_until = now + timedelta(seconds=lock_seconds)
    senders = _sender_names({row.agency_id for row in rows if row.channel == "sms" and row.agency_id})
    default_sender = current_app.config.get("SMS_SENDER_NAME") or None
    # Every guard question first, then every change: a question asked after a change would flush it (one UPDATE
    # per row instead of one batch) before its SELECT.
    answers = {row.id: _ask_guard(row) for row in rows if row.channel == "sms"}
    taken = []
    for row in rows:
        answer = answers.get(row.id)
        if answer is not None and answer is not _UNCHECKED:
            held = _apply_hold(row, answer, now)
            if result is not None:
                setattr(result, held, getattr(result, held) + 1)
            continue
        # Counted when claimed: a message that kills its worker each time still ends 'dead'.
        row.status, row.locked_until, row.locked_by, row.attempts = "sending", locked_until, worker, row.attempts + 1
        taken.append(OutgoingMessage(
            id=row.id, channel=row.channel, recipient=row.recipient, subject=row.subject, body=row.body,
            kind=row.kind, attempts=row.attempts, agency_id=row.agency_id, entity_type=row.entity_type,
            entity_id=row.entity_id, guard_checked=answer is not _UNCHECKED,
            sender_name=(senders.get(row.agency_id) or default_sender) if row.channel == "sms" else None))
    db.session.commit()
    return taken


_UNCHECKED = object()  # the guard raised: ask it again just before sending


def _ask_guard(row: OutboxMessage) -> Any:
    """The send guard's word on a claimed SMS: None to send it, a Hold, or _UNCHECKED when it raised."""
    from ..sms import guard  # looked up at each call: tests replace guard.before_send

    try:
        return guard.before_send(row.id)
    except SQLAlchemyError:
        raise  # the claim's transaction is lost: the whole claim fails (and is tried again next pass)
    except Exception:  # noqa: BLE001 - a bug in a rule: the message is guarded again just before sending
        log.exception("outbox #%d: send guard raised", row.id)
        return _UNCHECKED


def _apply_hold(row: OutboxMessage, hold: Any, now: datetime) -> str:
    """Put a held SMS back to pending until the guard's moment, or cancel it: 'held' or 'cancelled'."""
    row.locked_until, row.locked_by = None, None
    if hold.cancel_reason:
        row.status, row.last_error = "cancelled", hold.cancel_reason[:255]
        log.info("outbox #%d (%s) cancelled: %s", row.id, row.kind, hold.cancel_reason)
        return "cancelled"
    # Never due again within this drain (its cutoff has passed): a guard holding "until now" cannot loop it.
    row.status = "pending"
    row.available_at = max(as_utc(hold.until) if hold.until else now, now + timedelta(seconds=1))
    return "held"


def _sender_names(agency_ids: set[int]) -> dict[int, str]:
    """The registered sender name (brandname) of each agency that has one."""
    if not agency_ids:
        return {}
    return {agency_id: name for agency_id, name in db.session.execute(
        select(AgencySmsSettings.agency_id, AgencySmsSettings.sender_name)
        .where(AgencySmsSettings.agency_id.in_(agency_ids), AgencySmsSettings.sender_name.is_not(None)))}


_OUTBOX = OutboxMessage.__table__  # outcomes are written with Core statements: the ORM's bulk path costs ~1 ms each


def _finish(message_id: int, worker: str, *, commit: bool = True, **values: Any) -> bool:
    """Write a claimed message's outcome, unless its lock passed to another worker (or a report settled it)."""
    done = db.session.execute(update(_OUTBOX)
                              .where(_OUTBOX.c.id == message_id, _OUTBOX.c.locked_by == worker,
                                     _OUTBOX.c.status == "sending")
                              .values(locked_until=None, **values)).rowcount == 1
    if commit:
        db.session.commit()
    return done


def _hold(message: OutgoingMessage, worker: str) -> str | None:
    """The send guard's word on an SMS: None to send now, else 'held' or 'cancelled' (already recorded)."""
    from ..sms import guard  # looked up at each call: tests replace guard.before_send

    hold = guard.before_send(message.id)
    db.session.commit()  # the guard's reads end here (and anything it wrote is kept): no transaction while sending
    if hold is None:
        return None
    if hold.cancel_reason:
        _finish(message.id, worker, status="cancelled", last_error=hold.cancel_reason[:255])
        log.info("outbox #%d (%s) cancelled: %s", message.id, message.kind, hold.cancel_reason)
        return "cancelled"
    # Never due again within this drain (its cutoff has passed): a guard holding "until now" cannot loop it.
    until = max(as_utc(hold.until) if hold.until else utcnow(), utcnow() + timedelta(seconds=1))
    # Back to pending, the claim's attempt given back: waiting for the morning is no failed try.
    _finish(message.id, worker, status="pending", available_at=until, attempts=_OUTBOX.c.attempts - 1,
            locked_by=None)
    return "held"


def _sent(message: OutgoingMessage, worker: str, sender: Any, answer: Any) -> None:
    now = utcnow()
    if not isinstance(answer, Accepted):  # e-mail: the Message-ID
        _finish(message.id, worker, status="sent", sent_at=now, provider_id=(answer or "")[:255] or None,
                last_error=None)
        return
    from ..sms.status import invitation_sent

    # A delivery report may have come before this write: it keeps its (later) status.
    delivery = case((_OUTBOX.c.delivery_status.is_(None), answer.delivery_status),
                    else_=_OUTBOX.c.delivery_status)
    if _finish(message.id, worker, commit=False, status="sent", sent_at=now, provider=sender.name,
               provider_id=answer.provider_id[:255], delivery_status=delivery, delivery_updated_at=now,
               last_error=None, error_code=None):
        invitation_sent(message.entity_type, message.entity_id, now)
    db.session.commit()


def send_one(message: OutgoingMessage, senders: Senders, worker: str, config: Any) -> str:
    """Send a claimed message and record the outcome: 'sent', 'failed' (retried later), 'dead', or for an SMS
    the send guard's 'held' or 'cancelled'."""
    code = provider = None
    try:
        if message.channel == "sms" and not message.guard_checked:
            held = _hold(message, worker)
            if held:
                return held
        sender = senders.for_channel(message.channel)
        provider = getattr(sender, "name", None)
        answer = sender.send(message)
    except SendError as error:
        reason, permanent, code = error.reason, error.permanent, error.error_code
    except Exception as error:  # noqa: BLE001 - a sender's bug must not stop the worker; the row records it
        db.session.rollback()
        log.exception("outbox #%d: sender raised", message.id)
        reason, permanent = type(error).__name__, False
    else:
        _sent(message, worker, sender, answer)
        return "sent"
    if permanent or message.attempts >= int(config["OUTBOX_MAX_ATTEMPTS"]):
        extra = {"error_code": code, "provider": provider} if message.channel == "sms" else {}
        _finish(message.id, worker, status="dead", last_error=reason, **extra)
        log.warning("outbox #%d (%s) dead after %d attempts: %s", message.id, message.kind, message.attempts, reason)
        return "dead"
    retry_at = utcnow() + timedelta(seconds=backoff_seconds(message.attempts, config))
    _finish(message.id, worker, status="failed", available_at=retry_at, last_error=reason)
    log.info("outbox #%d (%s) failed (attempt %d), retry at %s: %s", message.id, message.kind, message.attempts,
             retry_at.isoformat(timespec="seconds"), reason)
    return "retried"


def drain(config: Any, *, worker: str | None = None, senders: Senders | None = None,
          stop: threading.Event | None = None) -> DrainResult:
    """Send every message due when the drain starts (those that fail now wait for their backoff)."""
    worker = worker or worker_name()
    senders = senders or Senders(config)
    cutoff = utcnow()
    result = DrainResult()
    while stop is None or not stop.is_set():
        batch = claim(int(config["OUTBOX_BATCH_SIZE"]), worker, due_before=cutoff,
                      lock_seconds=int(config["OUTBOX_LOCK_SECONDS"]), result=result)
        if not batch:
            break
        for message in batch:
            outcome = send_one(message, senders, worker, config)
            setattr(result, outcome, getattr(result, outcome) + 1)
    db.session.remove()
    return result
