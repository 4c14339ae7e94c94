"""The SMS channel: survey invitations, opt-outs, received messages and each agency's SMS settings.

Phones are kept here only as keyed hashes (`sms.phones.phone_hash`): enough to honour an opt-out forever, to
allow one invitation per phone per period and to match a reply to its invitation, without keeping the number.
The number itself lives on the dossier (erasable) and on the outbox row that carries the message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .messaging import BigId

INVITATION_STATUSES = ("scheduled", "sent", "skipped", "answered", "expired")
SKIP_REASONS = ("no_phone", "opted_out", "recent_invitation", "paused", "not_returned", "expired")
INBOUND_OUTCOMES = ("answer", "duplicate_answer", "opt_out", "opt_in", "complaint", "help", "no_invitation")
SMS_PROVIDERS = ("twilio", "http", "console")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class SurveyInvitation(db.Model):
    """One returned dossier's invitation to rate the service: a one-time link (only its hash is stored) and the
    funnel invited -> delivered -> opened -> answered. It never points at the response it produced: no staff
    view can tell which phone gave which answers."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(INVITATION_STATUSES)})", name="status_known"),
        CheckConstraint(f"skip_reason IS NULL OR skip_reason IN ({_in(SKIP_REASONS)})", name="skip_reason_known"),
        CheckConstraint("answered_via IS NULL OR answered_via IN ('link', 'reply')", name="answered_via_known"),
        Index("ix_survey_invitations_phone_created", "phone_hash", "created_at"),
        Index("ix_survey_invitations_funnel", "agency_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    channel: Mapped[str] = mapped_column(String(10))  # the dossier's channel (in person, online, postal)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    skip_reason: Mapped[str | None] = mapped_column(String(20))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_via: Mapped[str | None] = mapped_column(String(5))
    draft: Mapped[dict | None] = mapped_column(JSON)  # a half-answered questionnaire, resumed on the same link
    draft_saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    dossier = relationship("Dossier")
    agency = relationship("OrgUnit")
    counter = relationship("Counter")
    officer = relationship("Officer")
    service = relationship("Service")


class SmsOptOut(db.Model):
    """A phone that said STOP: no invitation is ever sent to it again, until it opts back in."""

    __tablename__ = "sms_opt_outs"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opted_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # set when it opted back in
    source: Mapped[str] = mapped_column(String(20), default="sms")  # sms keyword, or staff on request


class InboundSms(db.Model):
    """A message a citizen sent, kept whatever it said (nothing a citizen sent is lost); idempotent on the
    provider's message id."""

    __tablename__ = "inbound_sms"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_inbound_sms_provider_message"),
        CheckConstraint(f"provider IN ({_in(SMS_PROVIDERS)})", name="provider_known"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_in(INBOUND_OUTCOMES)})", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(10))
    provider_message_id: Mapped[str] = mapped_column(String(80))
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(20))  # 090****908: enough to recognise, not to call
    to_number: Mapped[str | None] = mapped_column(String(20))  # our number or short code
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(20))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("survey_invitations.id", ondelete="SET NULL"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="SET NULL"))


class AgencySmsSettings(db.Model):
    """An agency's SMS settings: its registered sender name, its templates and its sending rules. An empty
    value means the installation's setting (INVITATION_SEND_AT, SMS_QUIET_HOURS, …)."""

    __tablename__ = "agency_sms_settings"
    __table_args__ = (
        CheckConstraint("min_days_between IS NULL OR min_days_between >= 0", name="min_days_not_negative"),
        CheckConstraint("link_valid_days IS NULL OR link_valid_days > 0", name="link_days_positive"),
    )

    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    sender_name: Mapped[str | None] = mapped_column(String(11))  # brandname, at most 11 characters
    invitation_template: Mapped[str | None] = mapped_column(Text)
    ascii_only: Mapped[bool | None] = mapped_column()  # None: SMS_ASCII_ONLY
    send_at: Mapped[str | None] = mapped_column(String(5))  # "19:00" or "now"; None: INVITATION_SEND_AT
    quiet_hours: Mapped[str | None] = mapped_column(String(11))  # "21:00-07:00", "" none; None: SMS_QUIET_HOURS
    min_days_between: Mapped[int | None] = mapped_column(Integer)
    link_valid_days: Mapped[int | None] = mapped_column(Integer)
    price_per_segment: Mapped[float | None] = mapped_column(Numeric(10, 2))  # VND
    paused: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    agency = relationship("OrgUnit")
