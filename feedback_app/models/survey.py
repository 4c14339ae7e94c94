"""Questionnaires as versioned data, citizens' responses (one row per answer), campaigns and targets."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .org import Counter, KioskDevice, Officer, OrgUnit, Service

CHANNELS = ("kiosk", "qr", "web", "sms", "paper")  # labels: feedback_app/labels.py
# Questions answered on the version's scale (the others are multiple choice or free text).
SCALE_KINDS = ("criterion", "factor_satisfaction", "overall")
# Review states whose responses count in figures: flagged responses count only once staff accept them.
COUNTED_REVIEW = ("none", "accepted")


class Questionnaire(db.Model):
    """A questionnaire family (e.g. SIPAS-2640); its content lives in versions."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(default=False)

    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.number"
    )

    @property
    def current_version(self) -> QuestionnaireVersion | None:
        """The version citizens answer now (see current_version_query)."""
        row = db.session.execute(current_version_query(self.id)).first()
        return db.session.get(QuestionnaireVersion, row.id) if row else None


class QuestionnaireVersion(db.Model):
    """One immutable-once-published edition of a questionnaire."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "number", name="uq_qv_number"),
        CheckConstraint("status IN ('draft','published','retired')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="draft")
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str | None] = mapped_column(String(255))
    no_opinion_enabled: Mapped[bool] = mapped_column(default=True)
    no_opinion_label: Mapped[str] = mapped_column(String(80), default="Không có ý kiến")
    no_opinion_label_en: Mapped[str | None] = mapped_column(String(80), default="No opinion")
    no_opinion_in_denominator: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "seed:<code>:<revision>" when built from the shipped questionnaire: `flask seed` may replace such a version
    # with a newer shipped revision; versions staff made (NULL) are never replaced.
    source: Mapped[str | None] = mapped_column(String(60))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")
    scale: Mapped[list[ScaleLevel]] = relationship(
        order_by="ScaleLevel.value", cascade="all, delete-orphan", back_populates="version"
    )
    factors: Mapped[list[Factor]] = relationship(
        order_by="Factor.position", cascade="all, delete-orphan", back_populates="version"
    )
    questions: Mapped[list[Question]] = relationship(
        order_by="Question.position", cascade="all, delete-orphan", back_populates="version"
    )

    @property
    def is_editable(self) -> bool:
        return self.status == "draft"

    def questions_of(self, factor: Factor | None, *kinds: str) -> list[Question]:
        """Questions of one factor (or none) filtered by kind, in order."""
        fid = factor.id if factor else None
        return [q for q in self.questions if q.factor_id == fid and (not kinds or q.kind in kinds)]

    def scale_values(self) -> set[int]:
        return {level.value for level in self.scale}


class ScaleLevel(db.Model):
    """One point of a version's scale, and whether it counts as satisfied."""

    __tablename__ = "scale_levels"
    __table_args__ = (UniqueConstraint("version_id", "value", name="uq_scale_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id", ondelete="CASCADE"))
    value: Mapped[int]
    label: Mapped[str] = mapped_column(String(80))
    label_en: Mapped[str | None] = mapped_column(String(80))
    is_satisfied: Mapped[bool] = mapped_column(default=False)

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="scale")


class Factor(db.Model):
    """A SIPAS factor (yếu tố) of one version, with its weight in the overall index."""

    __tablename__ = "factors"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_factor_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(default=0)
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal(1))

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="factors")


class Question(db.Model):
    """A question: a criterion or satisfaction question on the scale, expectations, a comment, or a factor's
    screening question (yes = 1 / no = 0: only citizens who answer yes are asked the factor's questions)."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_question_code"),
        CheckConstraint(
            "kind IN ('criterion','factor_satisfaction','overall','expectations','comment','screening')",
            name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id", ondelete="CASCADE"))
    factor_id: Mapped[int | None] = mapped_column(ForeignKey("factors.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    required: Mapped[bool] = mapped_column(default=True)
    counts_in_index: Mapped[bool] = mapped_column(default=True)
    max_choices: Mapped[int | None]

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="questions")
    factor: Mapped[Factor | None] = relationship()
    options: Mapped[list[QuestionOption]] = relationship(
        order_by="QuestionOption.position", cascade="all, delete-orphan"
    )

    @property
    def is_scale(self) -> bool:
        return self.kind in SCALE_KINDS


class QuestionOption(db.Model):
    """A choice of the expectations (multiple choice) question."""

    __tablename__ = "question_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(255))
    text_en: Mapped[str | None] = mapped_column(String(255))


def current_version_query(questionnaire_id: int | None) -> Select:
    """The one definition of the version citizens answer now: the family's published version with the
    highest number (the default family when none is named). Selects id, published_at, questionnaire_id."""
    family = (Questionnaire.id == questionnaire_id) if questionnaire_id else Questionnaire.is_default.is_(True)
    return (
        select(QuestionnaireVersion.id, QuestionnaireVersion.published_at, QuestionnaireVersion.questionnaire_id)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(family, QuestionnaireVersion.status == "published")
        .order_by(QuestionnaireVersion.number.desc()).limit(1)
    )


class IllegalTransition(ValueError):
    """A state change the record's current state does not allow."""


class PublishedVersionError(RuntimeError):
    """A published questionnaire version is never edited in place: make a new version."""


def _refuse_published_edit(_mapper: object, _conn: object, target: object) -> None:
    if isinstance(target, QuestionnaireVersion):
        # Publishing and retiring change the status only; the content of a non-draft stays as it was.
        state = db.inspect(target)
        was = (state.attrs.status.history.deleted or [target.status])[0]
        changed = {a.key for a in state.attrs if a.history.has_changes()} - {"status", "published_at"}
        if was != "draft" and changed:
            raise PublishedVersionError("published questionnaire versions are read-only")
        return
    if isinstance(target, QuestionOption):
        version = db.session.get(Question, target.question_id).version
    else:
        version = target.version
    if version is not None and version.status != "draft":
        raise PublishedVersionError("published questionnaire versions are read-only")


def _refuse_published_delete(_mapper: object, _conn: object, target: object) -> None:
    if isinstance(target, QuestionnaireVersion) and target.status != "draft":
        raise PublishedVersionError("published questionnaire versions are never deleted")
    if not isinstance(target, QuestionnaireVersion):
        _refuse_published_edit(_mapper, _conn, target)


for _model in (ScaleLevel, Factor, Question, QuestionOption):
    event.listen(_model, "before_insert", _refuse_published_edit)
for _model in (QuestionnaireVersion, ScaleLevel, Factor, Question, QuestionOption):
    event.listen(_model, "before_update", _refuse_published_edit)
    event.listen(_model, "before_delete", _refuse_published_delete)


class Response(db.Model):
    """One citizen's submitted questionnaire, with where and how it was given."""

    __tablename__ = "responses"
    __table_args__ = (
        # 'pakn': the one question asked after a PAKN's answer reached its sender (fifth factor).
        CheckConstraint("channel IN ('kiosk','qr','web','sms','paper','pakn')", name="channel_known"),
        CheckConstraint("review_status IN ('none','pending','accepted','rejected')", name="review_known"),
        Index("ix_responses_unit_date", "unit_id", "local_date"),
        # The burst checks on every submission: recent responses of one address, of one kiosk.
        Index("ix_responses_client_recent", "client_key", "submitted_at"),
        Index("ix_responses_device_recent", "device_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), index=True)
    dossier_code: Mapped[str | None] = mapped_column(String(60))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_devices.id"))
    client_key: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    local_date: Mapped[date] = mapped_column(Date, index=True)
    verified: Mapped[bool] = mapped_column(default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(120))
    review_status: Mapped[str] = mapped_column(String(10), default="none")
    is_demo: Mapped[bool] = mapped_column(default=False)

    version: Mapped[QuestionnaireVersion] = relationship()
    unit: Mapped[OrgUnit] = relationship()
    counter: Mapped[Counter | None] = relationship()
    officer: Mapped[Officer | None] = relationship()
    service: Mapped[Service | None] = relationship()
    device: Mapped[KioskDevice | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")

    def decide(self, decision: str) -> None:
        """Staff accept (it counts) or reject (kept, not counted) a flagged response; only once."""
        if decision not in ("accepted", "rejected"):
            raise IllegalTransition(f"unknown review decision {decision!r}")
        if self.review_status != "pending":
            raise IllegalTransition(f"response {self.id} is not waiting for review ({self.review_status})")
        self.review_status = decision



class Answer(db.Model):
    """One answer: a scale value, "no opinion", a chosen option, or a comment."""

    __tablename__ = "answers"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN no_opinion THEN 1 ELSE 0 END)"
            " + (CASE WHEN option_id IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN text IS NOT NULL THEN 1 ELSE 0 END) = 1",
            name="one_kind",
        ),
        Index("ix_answers_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    value: Mapped[int | None]
    no_opinion: Mapped[bool] = mapped_column(default=False)
    option_id: Mapped[int | None] = mapped_column(ForeignKey("question_options.id"))
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


campaign_units = Table(
    "campaign_units",
    db.metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", Integer, ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(db.Model):
    """A survey campaign (đợt khảo sát): a period, units in scope, channels and a target sample."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("margin > 0 AND margin < 1", name="margin_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    expected_transactions: Mapped[int | None]
    margin: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.05"))
    target_sample: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    units: Mapped[list[OrgUnit]] = relationship(secondary=campaign_units)


class Target(db.Model):
    """The satisfaction target of a unit for a year, for one factor or (factor_code NULL) overall."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "year", "factor_code", name="uq_target"),
        # NULLs are distinct in a unique constraint: one overall target per unit and year needs its own index.
        Index("uq_target_overall", "org_unit_id", "year", unique=True,
              sqlite_where=text("factor_code IS NULL"), postgresql_where=text("factor_code IS NULL")),
        CheckConstraint("target_pct >= 0 AND target_pct <= 100", name="pct_range"),
        CheckConstraint("comparison IN ('gt','gte')", name="comparison_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int]
    factor_code: Mapped[str | None] = mapped_column(String(20))
    target_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    # How the plan words it: "trên 90%" (gt, strictly above) or "từ 90% trở lên" (gte).
    comparison: Mapped[str] = mapped_column(String(3), default="gt", server_default="gt")

    org_unit: Mapped[OrgUnit] = relationship()

    def is_met(self, pct: float | None) -> bool | None:
        """Whether a figure reaches the target as the plan words it; None without a figure."""
        if pct is None:
            return None
        return pct > float(self.target_pct) if self.comparison == "gt" else pct >= float(self.target_pct)


class RefusedSubmission(db.Model):
    """A response a kiosk sent that the server could not take as it was (a question left out, a version no
    longer asked): kept as sent for staff to look at, so nothing a citizen gave is lost."""

    __tablename__ = "refused_submissions"
    __table_args__ = (
        CheckConstraint("status IN ('open','resolved')", name="status_known"),
        Index("ix_refused_submissions_open", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_devices.id"))
    response_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the kiosk's idempotency key
    reason: Mapped[str] = mapped_column(String(30))
    errors: Mapped[dict] = mapped_column(JSON, default=dict)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    counter: Mapped[Counter] = relationship()
    device: Mapped[KioskDevice | None] = relationship()

    def resolve(self, user_id: int) -> None:
        """Staff have looked at it; refuses a second decision."""
        if self.status != "open":
            raise IllegalTransition(f"refused submission {self.id} is already resolved")
        self.status, self.resolved_by_id, self.resolved_at = "resolved", user_id, utcnow()
