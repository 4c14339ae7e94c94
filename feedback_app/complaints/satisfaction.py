"""The sender's one answer, after a PAKN's outcome reached them, to "were you satisfied with how it was received
and handled?": stored as a survey response on channel 'pakn', so it counts in the fifth SIPAS factor
(Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị) beside the kiosk and QR answers, with its own channel.

The response is anonymous like every other (no counter, officer, dossier or sender on it); only the item keeps
its id (`Complaint.satisfaction_response_id`). Its idempotency key is derived from the item, so the database
itself refuses a second answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Answer, Complaint, ComplaintEvent, Counter, Response
from ..models.survey import current_version_query
from ..surveys.specs import LevelSpec, QuestionSpec, VersionSpec, version_spec
from ..timeutil import LOCAL_TZ, utcnow
from .errors import ComplaintInputError
from .transaction import one_commit

FACTOR_CODE = "PAKN"  # the shipped questionnaire's fifth factor
FACTOR_POSITION = 4  # a questionnaire that names it otherwise: the fifth factor
ASKED_STATES = ("notified", "published", "closed")
ASKED_OUTCOMES = ("answered", "not_accepted", "forwarded")
NO_OPINION = "na"


class AlreadyAnswered(Exception):
    """The sender has already answered the question for this item (or may not answer it)."""


@dataclass(frozen=True)
class SatisfactionQuestion:
    """The question to ask: the published version it belongs to and its scale."""

    version: VersionSpec
    question: QuestionSpec

    @property
    def levels(self) -> tuple[LevelSpec, ...]:
        return self.version.levels

    @property
    def no_opinion(self) -> bool:
        return self.version.no_opinion_enabled and self.question.kind == "criterion"


def may_answer(complaint: Complaint) -> bool:
    """Whether the outcome reached the sender and the question is still unanswered."""
    return (complaint.state in ASKED_STATES and complaint.outcome in ASKED_OUTCOMES
            and complaint.satisfaction_response_id is None)


def question_for(complaint: Complaint) -> SatisfactionQuestion | None:
    """The fifth factor's satisfaction question (else its first scale question) of the published version
    the item's agency asks: its counter's questionnaire, else the default one."""
    family = None
    if complaint.counter_id is not None:
        family = db.session.scalar(select(Counter.questionnaire_id).where(Counter.id == complaint.counter_id))
    row = db.session.execute(current_version_query(family)).first()
    if row is None and family is not None:
        row = db.session.execute(current_version_query(None)).first()
    if row is None:
        return None
    version = version_spec(row.id, row.published_at)
    factor = next((f for f in version.factors if f.code == FACTOR_CODE), None)
    if factor is None and len(version.factors) > FACTOR_POSITION:
        factor = version.factors[FACTOR_POSITION]
    if factor is None:
        return None
    scale = [q for q in factor.questions if q.is_scale]
    chosen = next((q for q in scale if q.kind == "factor_satisfaction"), scale[0] if scale else None)
    return SatisfactionQuestion(version, chosen) if chosen else None


def _answer_row(asked: SatisfactionQuestion, raw: str) -> Answer:
    raw = (raw or "").strip()
    if raw == NO_OPINION and asked.no_opinion:
        return Answer(question_id=asked.question.id, no_opinion=True)
    if raw.isascii() and raw.isdigit() and int(raw) in asked.version.scale_values:
        return Answer(question_id=asked.question.id, value=int(raw))
    raise ComplaintInputError({"satisfaction": _("Vui lòng chọn một mức đánh giá.")})


def record_satisfaction(complaint: Complaint, raw_value: str, language: str = "vi") -> Response:
    """Store the sender's answer as a channel-'pakn' response and link it to the item; commits once.
    Raises AlreadyAnswered (answered before, or not yet askable), ComplaintInputError (no valid level) or
    StaleComplaint (staff changed the item meanwhile: try again)."""
    if not may_answer(complaint):
        raise AlreadyAnswered(complaint.code)
    asked = question_for(complaint)
    if asked is None:
        raise AlreadyAnswered(complaint.code)
    answer = _answer_row(asked, raw_value)
    now = utcnow()
    response = Response(
        public_id=str(uuid.uuid4()), idempotency_key=f"pakn-satisfaction-{complaint.id}",
        version_id=asked.version.id, channel="pakn", unit_id=complaint.agency_id,
        language=language if language in ("vi", "en") else "vi", submitted_at=now, completed_at=now,
        local_date=now.astimezone(LOCAL_TZ).date(), verified=True, review_status="none",
    )
    response.answers.append(answer)
    try:
        with one_commit(complaint.code):
            db.session.add(response)
            db.session.flush()
            complaint.satisfaction_response_id = response.id
            db.session.add(ComplaintEvent(complaint=complaint, action="satisfaction_answered"))
    except IntegrityError:
        # A second answer raced this one (the same key): the first one stays, nothing of this one is kept.
        raise AlreadyAnswered(complaint.code) from None
    return response
