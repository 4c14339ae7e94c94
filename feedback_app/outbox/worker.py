"""Draining the outbox: claim due rows, send them outside any transaction, record what happened.

Claiming is one short transaction: due rows (pending or failed whose available_at has come, or 'sending'
rows whose lock expired because their worker died) are locked — on PostgreSQL with FOR UPDATE SKIP LOCKED, so
several workers share the table without waiting on each other — marked 'sending' with locked_until/locked_by,
and committed. Each message is then sent with no transaction open and its outcome written in one more short
transaction, guarded by locked_by so a worker whose lease ran out cannot overwrite the one that took over.
Delivery is at least once: a worker dying between the send and that write sends the message again later.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from ..extensions import db
from ..models.messaging import OutboxMessage
from ..timeutil import utcnow
from .senders import OutgoingMessage, SendError, Senders

log = logging.getLogger("feedback_app.outbox")


def worker_name() -> str:
    """host:pid:thread — who holds a lock (shown to administrators, used to guard the outcome's write)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.dead


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
          ) -> list[OutgoingMessage]:
    """Take up to `limit` due messages for `worker` and commit; returns what to send."""
    cutoff = due_before or utcnow()
    stmt = (select(OutboxMessage).where(_due(cutoff))
            .order_by(OutboxMessage.available_at, OutboxMessage.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = db.session.scalars(stmt).all()
    locked_until = utcnow() + timedelta(seconds=lock_seconds)
    taken = []
    for row in rows:
        # Counted when claimed: a message that kills its worker each time still ends 'dead'.
        row.status, row.locked_until, row.locked_by, row.attempts = "sending", locked_until, worker, row.attempts + 1
        taken.append(OutgoingMessage(id=row.id, channel=row.channel, recipient=row.recipient, subject=row.subject,
                                     body=row.body, kind=row.kind, attempts=row.attempts))
    db.session.commit()
    return taken


def _finish(message_id: int, worker: str, **values: Any) -> None:
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.id == message_id, OutboxMessage.locked_by == worker,
                              OutboxMessage.status == "sending")
                       .values(locked_until=None, **values))
    db.session.commit()


def send_one(message: OutgoingMessage, senders: Senders, worker: str, config: Any) -> str:
    """Send a claimed message and record the outcome: 'sent', 'failed' (retried later) or 'dead'."""
    try:
        provider_id = senders.for_channel(message.channel).send(message)
    except SendError as error:
        reason, permanent = error.reason, error.permanent
    except Exception as error:  # noqa: BLE001 - a sender's bug must not stop the worker; the row records it
        log.exception("outbox #%d: sender raised", message.id)
        reason, permanent = type(error).__name__, False
    else:
        _finish(message.id, worker, status="sent", sent_at=utcnow(), provider_id=(provider_id or "")[:255] or None,
                last_error=None)
        return "sent"
    if permanent or message.attempts >= int(config["OUTBOX_MAX_ATTEMPTS"]):
        _finish(message.id, worker, status="dead", last_error=reason)
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
                      lock_seconds=int(config["OUTBOX_LOCK_SECONDS"]))
        if not batch:
            break
        for message in batch:
            outcome = send_one(message, senders, worker, config)
            setattr(result, outcome, getattr(result, outcome) + 1)
    db.session.remove()
    return result
