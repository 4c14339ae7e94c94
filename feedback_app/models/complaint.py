"""Complaints and recommendations (phản ánh, kiến nghị — PAKN): the items of the Văn phòng Sở's queue, their
history, attachments, deadline policies, answer templates and the hotline log.

A `Complaint` is one phản ánh, kiến nghị or góp ý (feedback) from any channel. Its legal state changes are
methods that refuse an illegal move (`IllegalTransition`); the services in `feedback_app/complaints/` check who
may act, call them, write the history and the audit row, queue the notifications and commit once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    case,
    literal_column,
    null,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .survey import IllegalTransition

# 64-bit keys that are plain integers on SQLite (its rowid), BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")

KINDS = ("phan_anh", "kien_nghi", "gop_y")  # labels: feedback_app/labels.py
# Khiếu nại and tố cáo fall under their own laws: marked and referred, never handled as PAKN.
NATURES = ("pakn", "khieu_nai", "to_cao")
CHANNELS = ("web", "kiosk", "hotline", "letter", "email", "paper", "survey", "open311", "sms")
STATES = ("received", "classified", "assigned", "drafted", "approved", "notified", "published", "closed")
OPEN_STATES = STATES[:-1]
OUTCOMES = ("answered", "not_accepted", "forwarded", "duplicate", "withdrawn", "referred")
EARLY_OUTCOMES = ("not_accepted", "forwarded", "referred")  # decided at classification, told by its deadline
ANSWERING_STATES = ("classified", "assigned", "drafted", "approved")
# Indexes on expressions, made by migrations only: autogenerate cannot compare them (migrations/env.py skips them).
EXPRESSION_INDEXES = frozenset({"ix_complaints_due_order"})


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Complaint(db.Model):
    """One PAKN (or anonymous góp ý) in the queue of the agency it was sent to."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind_known"),
        CheckConstraint(f"nature IN ({_in(NATURES)})", name="nature_known"),
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel_known"),
        CheckConstraint(f"state IN ({_in(STATES)})", name="state_known"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_in(OUTCOMES)})", name="outcome_known"),
        CheckConstraint("duplicate_of_id IS NULL OR duplicate_of_id <> id", name="not_own_duplicate"),
        # The queue: open items of an agency by due date; a unit's items.
        Index("ix_complaints_queue", "agency_id", "state", "answer_due_at"),
        Index("ix_complaints_unit", "unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)  # PA-2026-000123, set once the id exists
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the sender's private lookup secret
    kind: Mapped[str] = mapped_column(String(12))
    nature: Mapped[str] = mapped_column(String(12), default="pakn")
    # A PAKN under Nghị định 20/2008 (sender's name, address and phone given): the legal deadlines apply.
    # Otherwise an anonymous góp ý, outside those deadlines.
    legal: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(10))
    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    dossier_code: Mapped[str | None] = mapped_column(String(60))
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))  # a survey response it came from
    # The sender's answer to "were you satisfied with how it was handled?" (a Response on channel 'pakn').
    satisfaction_response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)  # as the sender wrote it, never changed
    published_text: Mapped[str | None] = mapped_column(Text)  # what the public page shows (redacted by staff)
    # The answer as published: staff remove from it what must not be public (the sent answer is kept as it was).
    published_answer: Mapped[str | None] = mapped_column(Text)
    # Personal data (Nghị định 13/2023): shown only to roles that need it, erased after retention or on request.
    sender_name: Mapped[str | None] = mapped_column(String(120))
    sender_address: Mapped[str | None] = mapped_column(String(255))
    sender_phone: Mapped[str | None] = mapped_column(String(20))
    sender_email: Mapped[str | None] = mapped_column(String(120))
    personal_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    share_identity: Mapped[bool] = mapped_column(default=False)  # the office lets the unit see the sender
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # deadlines run from it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # staff who entered it, if any
    state: Mapped[str] = mapped_column(String(12), default="received")
    outcome: Mapped[str | None] = mapped_column(String(12))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    forwarded_to: Mapped[str | None] = mapped_column(String(255))
    duplicate_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("complaints.id"), index=True)
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answer_drafted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("deadline_policies.id"))
    classify_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Optimistic locking: two people acting on one item cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    agency = relationship("OrgUnit", foreign_keys=[agency_id])
    unit = relationship("OrgUnit", foreign_keys=[unit_id])
    service = relationship("Service")
    counter = relationship("Counter")
    officer = relationship("Officer")
    duplicate_of: Mapped[Complaint | None] = relationship(remote_side=[id])
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="complaint", order_by="Attachment.id", cascade="all, delete-orphan")

    # --- the workflow: each method refuses a move its state does not allow --------------------------------

    @property
    def is_open(self) -> bool:
        return self.state != "closed"

    def _require(self, *states: str, action: str) -> None:
        if self.state not in states:
            raise IllegalTransition(f"{action}: complaint {self.code} is {self.state}, not {'/'.join(states)}")

    def classify(self, decision: str, reason: str | None = None, forwarded_to: str | None = None) -> None:
        """The office's first decision: handle here, not accepted (with reason), or forwarded elsewhere."""
        self._require("received", action="classify")
        if self.duplicate_of_id is not None:
            raise IllegalTransition(f"classify: complaint {self.code} follows {self.duplicate_of_id} as a duplicate")
        if decision == "handle":
            if self.nature != "pakn":
                raise IllegalTransition("a khiếu nại or tố cáo is referred under its own law, not handled as PAKN")
            self.outcome = None
        elif decision == "not_accepted":
            if not reason:
                raise IllegalTransition("not accepted without a reason")
            self.outcome, self.outcome_reason = "not_accepted", reason
        elif decision == "forwarded":
            if not forwarded_to:
                raise IllegalTransition("forwarded without the authority it goes to")
            self.outcome, self.forwarded_to, self.outcome_reason = "forwarded", forwarded_to, reason
        elif decision == "referred":
            if self.nature == "pakn":
                raise IllegalTransition("only a khiếu nại or tố cáo is referred")
            self.outcome, self.forwarded_to, self.outcome_reason = "referred", forwarded_to, reason
        else:
            raise IllegalTransition(f"unknown classification {decision!r}")
        self.state = "classified"

    def assign(self, unit_id: int) -> None:
        """Give the item to the unit that drafts the answer (again, to another unit, before approval)."""
        self._require("classified", "assigned", "drafted", action="assign")
        if self.outcome is not None:
            raise IllegalTransition(f"assign: complaint {self.code} is {self.outcome}, not handled here")
        self.unit_id, self.state = unit_id, "assigned"

    def draft_answer(self, text: str, user_id: int) -> None:
        """The unit writes (or rewrites) the answer."""
        self._require("assigned", "drafted", action="draft")
        if not text.strip():
            raise IllegalTransition("an empty answer")
        self.answer_text, self.answer_drafted_by_id, self.answer_drafted_at = text, user_id, utcnow()
        self.state = "drafted"

    def approve(self, user_id: int) -> None:
        """The office checks the draft and lets it go to the sender."""
        self._require("drafted", action="approve")
        self.approved_by_id, self.approved_at, self.state = user_id, utcnow(), "approved"

    def return_draft(self, reason: str) -> None:
        """The office sends the draft back to the unit: it does not address the PAKN (the reason says why)."""
        self._require("drafted", action="return")
        if not reason.strip():
            raise IllegalTransition("returned without a reason")
        self.state = "assigned"

    def notify(self) -> None:
        """The sender is told: the approved answer, or why it is not accepted, forwarded or referred."""
        if self.state == "approved":
            self.outcome = "answered"
        elif not (self.state == "classified" and self.outcome in ("not_accepted", "forwarded", "referred")):
            raise IllegalTransition(f"notify: complaint {self.code} has nothing to tell the sender yet")
        self.notified_at, self.state = utcnow(), "notified"

    def publish(self, text: str, answer: str) -> None:
        """Put the matter and its answer on the public page, both as staff made them fit to publish."""
        self._require("notified", action="publish")
        if self.outcome != "answered":
            raise IllegalTransition("only an answered item is published")
        if not text.strip() or not answer.strip():
            raise IllegalTransition("nothing to publish")
        self.published_text, self.published_answer = text, answer
        self.published_at, self.state = utcnow(), "published"

    def close(self) -> None:
        """The item is done."""
        self._require("notified", "published", action="close")
        self.closed_at, self.state = utcnow(), "closed"

    def mark_duplicate(self, main: Complaint) -> None:
        """The same matter as an open item: this one follows it, and its sender gets the same answer."""
        # Before the sender is told: a duplicate takes its main item's outcome when that one is told.
        self._require("received", "classified", "assigned", "drafted", action="duplicate")
        if self.duplicate_of_id is not None or self.outcome not in (None,):
            raise IllegalTransition(f"duplicate: complaint {self.code} already has an outcome")
        if main.id == self.id or main.duplicate_of_id is not None or main.notified_at is not None or not main.is_open:
            raise IllegalTransition("a duplicate follows an open item, not yet told, that is not itself a duplicate")
        self.duplicate_of_id, self.outcome = main.id, "duplicate"

    def follow(self, main: Complaint) -> None:
        """A duplicate is told what its main item's sender is told: the answer, or why it is not handled here."""
        if self.duplicate_of_id != main.id or self.outcome != "duplicate" or not self.is_open:
            raise IllegalTransition("only an open duplicate follows its own main item")
        self.answer_text, self.outcome_reason, self.forwarded_to = main.answer_text, main.outcome_reason, \
            main.forwarded_to
        self.notified_at, self.state = utcnow(), "notified"

    def withdraw(self, reason: str) -> None:
        """The sender withdraws it, before being told the outcome."""
        self._require("received", "classified", "assigned", "drafted", "approved", action="withdraw")
        self.outcome, self.outcome_reason = "withdrawn", reason
        self.closed_at, self.state = utcnow(), "closed"

    def erase_personal_data(self) -> None:
        """Erasure (retention period over, or on request): the sender's identity goes, the matter stays."""
        self.sender_name = self.sender_address = self.sender_phone = self.sender_email = None
        self.personal_erased_at = utcnow()


def _quoted(*values: str) -> list[ColumnElement]:
    return [literal_column(f"'{v}'") for v in values]


def current_due_expression() -> ColumnElement:
    """The deadline of the step an item is in, as SQL: the classification deadline until it is classified (and
    for an outcome decided then), the answer deadline while it is being answered, none once the sender was told.
    Constants are literals, not parameters, so that the queue's ORDER BY matches the expression index of
    migration 0014 (ix_complaints_due_order) exactly."""
    c = Complaint.__table__.c
    early = or_(c.state == literal_column("'received'"),
                and_(c.state == literal_column("'classified'"), c.outcome.in_(_quoted(*EARLY_OUTCOMES))))
    return case((early, c.classify_due_at), (c.state.in_(_quoted(*ANSWERING_STATES)), c.answer_due_at),
                else_=null())


class ComplaintEvent(db.Model):
    """One dated, signed step of an item's history: a transition, an extension, a moved deadline, a note."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class Attachment(db.Model):
    """An image or PDF sent with an item; its type was checked from its content, not its name."""

    __tablename__ = "complaint_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    mime: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # only the download reads it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="attachments")


class DeadlinePolicy(db.Model):
    """How long each step may take, per kind and legal basis (data an administrator can change)."""

    __tablename__ = "deadline_policies"
    __table_args__ = (CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    legal_basis: Mapped[str] = mapped_column(String(255))
    classify_days: Mapped[int] = mapped_column(default=5)  # classify or forward within N working days
    answer_days: Mapped[int]  # answer within N working days of receipt
    # Reminder steps: [{"offset_days": -2, "to": "handler"}, {"offset_days": 0, "to": "unit_head"}, …]
    reminders: Mapped[list] = mapped_column(JSON, default=list)
    max_extension_days: Mapped[int] = mapped_column(default=10)
    active: Mapped[bool] = mapped_column(default=True)


class AnswerTemplate(db.Model):
    """A starting text for answers to one kind of issue."""

    __tablename__ = "answer_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str | None] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)

    agency = relationship("OrgUnit")


class HotlineCall(db.Model):
    """One call to the hotline as the operator wrote it down; a PAKN when it is one."""

    __tablename__ = "hotline_calls"
    __table_args__ = (
        CheckConstraint("outcome IN ('answered','pakn','transferred','not_pakn','dropped')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[int | None]
    caller_name: Mapped[str | None] = mapped_column(String(120))
    caller_phone: Mapped[str | None] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text)  # what was said, written down faithfully
    outcome: Mapped[str] = mapped_column(String(12))
    complaint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("complaints.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    personal_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    complaint: Mapped[Complaint | None] = relationship()

