"""Messaging: the outbox (e-mail and SMS) drained by `flask worker`, and staff's in-app notifications.

An `OutboxMessage` is written in the same transaction as the change that causes it (feedback_app/outbox/),
so nothing is sent for a rolled-back change; the worker claims due rows, sends them after its own commit,
and retries with backoff. A `Notification` is a line in a staff user's list at /thong-bao.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

# 64-bit keys that are plain integers on SQLite (its rowid), BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")

OUTBOX_CHANNELS = ("email", "sms")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "dead", "cancelled")
# What the gateway later says about an SMS it accepted, in the order a message moves through them: a late or
# out-of-order report never moves a message back (sms/status.py). The last three are final.
DELIVERY_STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class OutboxMessage(db.Model):
    """One message to send, written with the change that causes it; the worker sends it after commit.

    status: pending (due at available_at) -> sending (claimed, locked_until) -> sent; a failed send goes back
    to 'failed' with available_at pushed (exponential backoff) and is claimed again when due; after
    OUTBOX_MAX_ATTEMPTS it is 'dead' (an administrator may retry it at /admin/outbox).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_in(OUTBOX_CHANNELS)})", name="channel_known"),
        CheckConstraint(f"status IN ({_in(OUTBOX_STATUSES)})", name="status_known"),
        # The claim query: due rows by status, oldest first.
        Index("ix_outbox_messages_due", "status", "available_at"),
        Index("ix_outbox_messages_entity", "entity_type", "entity_id"),
        Index("ix_outbox_messages_provider_id", "provider_id"),
        CheckConstraint(f"delivery_status IS NULL OR delivery_status IN ({_in(DELIVERY_STATUSES)})",
                        name="delivery_status_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="email")
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(BigId)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(String(255))  # terse; never the recipient
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_id: Mapped[str | None] = mapped_column(String(255))
    # SMS: which gateway took it, what it last reported, and the provider's error code when it gave up.
    provider: Mapped[str | None] = mapped_column(String(10))
    delivery_status: Mapped[str | None] = mapped_column(String(12))
    delivery_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))  # whose sending rules apply (SMS)


class Notification(db.Model):
    """An in-app notification for one staff user (the list at /thong-bao; unread until read_at)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PeriodicJobState(db.Model):
    """When a periodic job (feedback_app/outbox/periodic.py) is next due, and which worker holds it now.

    A worker takes a due job with one conditional UPDATE (next_run_at <= now and no live lease), so several
    workers never run the same job at the same moment, and a job is not run before it is due again.
    """

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_by: Mapped[str | None] = mapped_column(String(80))
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_count: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(255))
