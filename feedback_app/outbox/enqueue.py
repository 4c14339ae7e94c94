"""Writing to the outbox and to staff notifications: in the caller's transaction, flushed, never committed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models.messaging import Notification, OutboxMessage
from ..phones import normalise_phone
from ..timeutil import utcnow


def _add_once(row: OutboxMessage | Notification, dedupe_key: str | None, flush: bool = True) -> bool:
    """Add and flush `row`; with a dedupe_key inside a SAVEPOINT, so a duplicate leaves the caller's work intact.
    Without a dedupe key the caller may flush itself (`flush=False`): many rows then go in one INSERT."""
    if dedupe_key is None:
        db.session.add(row)
        if flush:
            db.session.flush()
        return True
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        # The key was used already (unique column): the savepoint is rolled back, the transaction goes on.
        return False
    return True


def _entity(entity: object | None) -> tuple[str | None, int | None]:
    if entity is None:
        return None, None
    table = getattr(entity, "__tablename__", None) or type(entity).__name__.lower()
    return str(table)[:40], getattr(entity, "id", None)


def enqueue_email(to: str, subject: str, body: str, *, kind: str, entity: object | None = None,
                  dedupe_key: str | None = None, available_at: datetime | None = None) -> OutboxMessage | None:
    """Queue an e-mail in the current transaction (sent by the worker after commit).

    Flushes, never commits. Returns None and adds nothing when `dedupe_key` was used before.
    """
    entity_type, entity_id = _entity(entity)
    message = OutboxMessage(channel="email", recipient=to.strip(), subject=subject, body=body, kind=kind,
                            entity_type=entity_type, entity_id=entity_id, dedupe_key=dedupe_key,
                            status="pending", attempts=0, available_at=available_at or utcnow())
    return message if _add_once(message, dedupe_key) else None


def enqueue_sms(to: str, body: str, *, kind: str, agency_id: int | None = None, entity: object | None = None,
                dedupe_key: str | None = None, available_at: datetime | None = None,
                flush: bool = True) -> OutboxMessage | None:
    """Queue an SMS in the current transaction (sent by the worker after commit, under `agency_id`'s rules).

    `to` is a Vietnamese number in any usual form (stored as 0xxxxxxxxx). Flushes, never commits. Returns None and
    adds nothing when `dedupe_key` was used before.
    """
    entity_type, entity_id = _entity(entity)
    message = OutboxMessage(channel="sms", recipient=normalise_phone(to) or to.strip(), subject=None, body=body,
                            kind=kind, agency_id=agency_id, entity_type=entity_type, entity_id=entity_id,
                            dedupe_key=dedupe_key, status="pending", attempts=0, available_at=available_at or utcnow())
    return message if _add_once(message, dedupe_key, flush) else None


def notify_user(user_id: int, text: str, link: str | None = None, *,
                dedupe_key: str | None = None) -> Notification | None:
    """An in-app notification for a staff user, in the current transaction (flushed, not committed).

    Returns None and adds nothing when `dedupe_key` was used before.
    """
    notification = Notification(user_id=user_id, text=text[:500], link=link, dedupe_key=dedupe_key)
    return notification if _add_once(notification, dedupe_key) else None
