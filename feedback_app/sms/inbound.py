"""One message a citizen sent us, handled once: an opt-out or opt-in, a complaint, a survey reply, or help.

`receive` first stores the message and commits (nothing a citizen sent is lost, even when it means nothing to
us or its handling fails), then claims it with a conditional UPDATE and handles it in a second transaction that
sets its outcome. A gateway's retry of the same message finds the row (unique provider + message id) and does
nothing twice: the claim matches only a row without an outcome, and on PostgreSQL a concurrent retry waits for
the first handling's row lock, then sees the outcome. A row whose handling failed keeps no outcome, so a retry
handles it.

Replies to the citizen go through the outbox (written in the handling's transaction, sent by the worker), never
in the webhook's answer: the outbox is the path that is recorded, retried, reported on and costed, and works the
same for Twilio and the generic gateway. The reply text follows the agency's ASCII setting. Their kinds start with
"reply" (reply_help, reply_thanks, reply_opt_out, reply_opt_in, reply_complaint_code): the send guard lets them
go at once, even in the quiet hours (the citizen is waiting) and to a phone that has just opted out.

Anonymity: once a reply's digits are stored as a response, the message keeps a marker instead of the digits and
only the hour it arrived (as the invitation keeps only the hour it was answered), and no thank-you SMS is sent
for it: an outbox row to the phone written in the same second as the response would pair the two. So no table
ties a phone (through its message, invitation or dossier) to the answers it gave. A second reply, which stores
nothing, is told that the survey counts once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import DateTime, String, Text, bindparam, func, or_, select, text

from ..complaints.access import AGENCY_TYPES, agency_of
from ..complaints.errors import ComplaintInputError
from ..complaints.intake import Intake, Sender, file_complaint
from ..complaints.notices import lookup_url
from ..extensions import db
from ..models import OrgUnit
from ..models.sms import AgencySmsSettings, InboundSms, SurveyInvitation
from ..outbox import enqueue_sms
from ..parsing import clean_text
from ..phones import mask_phone, normalise_phone, phone_hash
from ..surveys.specs import CounterInfo, FactorSpec, QuestionSpec, UnknownVersion, VersionSpec
from ..surveys.submission import ANSWER_DEFAULTS, DuplicateSubmission, ParsedResponse
from ..timeutil import local_today, utcnow
from . import keywords, optout
from .invitations import InvitationClosed, answer_invitation, invitation_for_phone, reply_target
from .replies import SKIPPED, Reply, digits_of, parse_reply

log = logging.getLogger("feedback_app.sms")

# At most this many help / "already answered" texts to one phone a day: an auto-responder answering our help
# text with a message we do not understand would otherwise start an endless (and paid) exchange.
AUTO_REPLY_CAP = 5
# At most this many complaints filed from one phone a day (SMS_COMPLAINTS_PER_DAY): one phone (or a script behind
# a gateway) must not bury the office's queue under hundreds of items, each with a paid receipt SMS. Further ones
# are kept as messages (nothing a citizen sent is lost) and the sender is told to wait or use another channel.
COMPLAINTS_PER_DAY = 5
ANSWER_STORED = "[trả lời khảo sát: đã lưu vào phiếu ẩn danh]"
ANSWER_REPEATED = "[trả lời khảo sát lặp lại: không tính]"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL refuses NUL; UTF-8 has no lone surrogate

_INSERT = text(
    "INSERT INTO inbound_sms (provider, provider_message_id, phone_hash, phone_masked, to_number, body, received_at) "
    "VALUES (:provider, :message_id, :phone_hash, :phone_masked, :to_number, :body, :received_at) "
    "ON CONFLICT (provider, provider_message_id) DO NOTHING RETURNING id"
).bindparams(*(bindparam(name, type_=String()) for name in
               ("provider", "message_id", "phone_hash", "phone_masked", "to_number")),
             bindparam("body", type_=Text()), bindparam("received_at", type_=DateTime(timezone=True)))
# Takes the row's lock (PostgreSQL) or the write lock (SQLite), tells whether it is still to be handled and
# returns what handling needs (no second read).
_CLAIM = text("UPDATE inbound_sms SET outcome = NULL WHERE id = :id AND outcome IS NULL RETURNING phone_hash, body")
_FINISH = text(
    "UPDATE inbound_sms SET outcome = :outcome, invitation_id = :invitation_id, complaint_id = :complaint_id, "
    "body = :body, received_at = coalesce(:hour, received_at) WHERE id = :id"
).bindparams(bindparam("body", type_=Text()), bindparam("hour", type_=DateTime(timezone=True)))


@dataclass(frozen=True)
class IncomingSms:
    """A message as a gateway reported it."""

    provider: str  # 'twilio', 'http' or 'console'
    provider_message_id: str
    sender: str  # the citizen's number as the gateway wrote it (+84…)
    body: str
    to_number: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class Handled:
    """What became of a message; `duplicate` when it had been handled already (a gateway's retry)."""

    inbound_id: int
    outcome: str | None
    duplicate: bool


@dataclass
class Received:
    """The stored message being handled, and what its handling decided (written back in one UPDATE)."""

    __tablename__ = "inbound_sms"  # the outbox names the message its answers are about (entity)

    id: int
    phone_hash: str
    body: str
    outcome: str | None = None
    invitation_id: int | None = None
    complaint_id: int | None = None
    hour: datetime | None = None  # received_at kept to this hour (an answer: see the module's notes)


@dataclass(frozen=True)
class Survey:
    """What a reply to an invitation is read against: the counter, the version, its rated factors."""

    counter: CounterInfo
    version: VersionSpec
    rated: tuple[tuple[FactorSpec, QuestionSpec], ...]  # each factor with its satisfaction question, in order
    overall: QuestionSpec | None

    @property
    def skippable(self) -> frozenset[int]:
        return frozenset(i for i, (factor, _q) in enumerate(self.rated) if factor.screening is not None)

    @property
    def scale_max(self) -> int:
        return max(self.version.scale_values, default=5)


def receive(message: IncomingSms) -> Handled:
    """Store the message (own commit), then handle it once (second commit); see the module's notes."""
    local = normalise_phone(message.sender)
    phone = local or message.sender.strip()[:20]
    hashed = phone_hash(phone)
    inbound_id = db.session.execute(_INSERT, {
        "provider": message.provider, "message_id": message.provider_message_id, "phone_hash": hashed,
        "phone_masked": mask_phone(phone), "to_number": (message.to_number or "").strip()[:20] or None,
        "body": _UNSTORABLE.sub("\ufffd", message.body or ""), "received_at": message.received_at or utcnow(),
    }).scalar()
    if inbound_id is None:
        inbound_id = db.session.scalar(select(InboundSms.id).where(
            InboundSms.provider == message.provider, InboundSms.provider_message_id == message.provider_message_id))
    db.session.commit()  # kept, whatever happens next
    try:
        claimed = db.session.execute(_CLAIM, {"id": inbound_id}).first()
        if claimed is None:
            db.session.rollback()
            outcome = db.session.scalar(select(InboundSms.outcome).where(InboundSms.id == inbound_id))
            return Handled(inbound_id, outcome, duplicate=True)
        row = Received(inbound_id, claimed.phone_hash, claimed.body)
        _handle(row, phone, local)
        outcome = row.outcome
        db.session.execute(_FINISH, {"id": row.id, "outcome": row.outcome, "invitation_id": row.invitation_id,
                                     "complaint_id": row.complaint_id, "body": row.body, "hour": row.hour})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Handled(inbound_id, outcome, duplicate=False)


def _handle(row: Received, phone: str, local: str | None) -> None:
    """Decide what the message asks for and do it, in the current transaction."""
    body = row.body
    if keywords.is_opt_out(body):
        optout.apply_opt_out(row.phone_hash)
        row.outcome = "opt_out"
        _send(row, phone, "opt_out", "reply_opt_out", _reply_agency(row, None))
    elif keywords.is_opt_in(body):
        optout.apply_opt_in(row.phone_hash)
        row.outcome = "opt_in"
        _send(row, phone, "opt_in", "reply_opt_in", _reply_agency(row, None))
    elif (found := keywords.complaint_text(body)) is not None:
        _complaint(row, found, phone, local)
    else:
        _survey_reply(row, phone, local)


def latest_invitation(hashed: str) -> SurveyInvitation | None:
    """The phone's most recent invitation that was not skipped (whatever became of it since)."""
    return db.session.scalar(
        select(SurveyInvitation).where(SurveyInvitation.phone_hash == hashed, SurveyInvitation.status != "skipped")
        .order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id.desc()).limit(1))


def _reply_agency(row: Received, invitation: SurveyInvitation | None) -> int | None:
    """The agency whose sender name and rules our answer goes under: the invitation's, else the phone's latest."""
    if invitation is not None:
        return invitation.agency_id
    latest = latest_invitation(row.phone_hash)
    return latest.agency_id if latest is not None else None


def _survey_reply(row: Received, phone: str, local: str | None) -> None:
    """Digits become the invitation's response (once); anything else, or no open invitation, gets the help."""
    invitation = invitation_for_phone(local) if local else None
    agency_id = _reply_agency(row, invitation)
    survey = survey_of(invitation)
    if survey is not None:
        row.invitation_id = invitation.id  # type: ignore[union-attr]
    digits = None if keywords.is_help(row.body) else digits_of(row.body)
    if digits is None:
        row.outcome = "help"
        _send_help(row, phone, agency_id, survey)
        return
    if survey is None:
        row.outcome = "no_invitation"
        _send_help(row, phone, agency_id, None, no_survey=True)
        return
    assert invitation is not None
    reply = parse_reply(row.body, len(survey.rated), survey.version.scale_values, survey.skippable)
    answers = _answers(survey, reply) if reply is not None else None
    if answers is None:
        row.outcome = "help"
        _send_help(row, phone, agency_id, survey)
        return
    try:
        answer_invitation(invitation, ParsedResponse(answers=answers), via="reply", version=survey.version,
                          counter=survey.counter)
    except (InvitationClosed, DuplicateSubmission):
        # Answered already (by its link or an earlier reply): not counted twice.
        row.outcome = "duplicate_answer"
        row.body = ANSWER_REPEATED
        if _under_cap(row):
            _send(row, phone, "reply_thanks", "reply_thanks", agency_id)
        return
    row.outcome = "answer"
    row.body = ANSWER_STORED
    now = utcnow()
    row.hour = now.replace(minute=0, second=0, microsecond=0)


def _answer(question: QuestionSpec, value: int) -> dict:
    return {**ANSWER_DEFAULTS, "question_id": question.id, "value": value}


def _answers(survey: Survey, reply: Reply) -> list[dict] | None:
    """The answer rows a reply makes; None when the questionnaire has nowhere to put it."""
    if reply.overall is not None:
        question = survey.overall
        if question is None and len(survey.rated) == 1:
            question = survey.rated[0][1]
        if question is None:
            scale = [q for q in survey.version.questions if q.is_scale]
            question = scale[0] if len(scale) == 1 else None
        return [_answer(question, reply.overall)] if question is not None else None
    answers: list[dict] = []
    for (factor, question), value in zip(survey.rated, reply.factors, strict=True):
        if factor.screening is not None:  # 0: "does not apply to me", as a no to the screening question
            answers.append(_answer(factor.screening, 0 if value == SKIPPED else 1))
        if value != SKIPPED:
            answers.append(_answer(question, value))
    return answers


def survey_of(invitation: SurveyInvitation | None) -> Survey | None:
    """What a reply to the invitation is read against: its counter's current questionnaire (the default one,
    counter-less, without an active counter); None without an invitation or a questionnaire."""
    if invitation is None:
        return None
    try:
        counter, version = reply_target(invitation)
    except UnknownVersion:
        return None
    rated = []
    for factor in version.factors:
        question = next((q for q in factor.questions if q.kind == "factor_satisfaction"), None)
        if question is not None:
            rated.append((factor, question))
    overall = next((q for q in version.closing if q.kind == "overall"), None)
    return Survey(counter, version, tuple(rated), overall)


def _complaint(row: Received, found: keywords.ComplaintText, phone: str, local: str | None) -> None:
    """File the message as a PAKN/góp ý in the agency's queue (channel sms, the phone as contact) and send the
    code back. No name or address comes with an SMS, so the item is not a PAKN under Nghị định 20/2008
    (`legal` false: no legal deadline) unless the office completes the sender's details; its kind follows the
    keyword (PA/PAKN phản ánh, KN kiến nghị, GOP Y góp ý). Sending it from the phone is the consent to be
    answered on that phone (the help text says so)."""
    agency_id = complaint_agency(latest_invitation(row.phone_hash))
    if agency_id is None:
        log.warning("SMS complaint %s kept without an agency to file it to (set SMS_DEFAULT_AGENCY)", row.id)
        row.outcome = "help"
        _send_help(row, phone, None, None, no_agency=True)
        return
    limit = int(current_app.config.get("SMS_COMPLAINTS_PER_DAY", COMPLAINTS_PER_DAY))
    if _complaints_today(row) >= limit:
        log.warning("SMS complaint %s not filed: the phone's daily limit is reached", row.id)
        row.outcome = "help"
        if _under_cap(row, allowance=limit):  # the filed ones were messages too: a few notices on top of them
            _send(row, phone, "complaint_limit", "reply_help", agency_id, limit=limit)
        return
    content = "".join(char for char in found.content if not clean_text(char)[1])
    intake = Intake(agency_id=agency_id, kind=found.kind, content=content, channel="sms",
                    sender=Sender(phone=local or ""), consent=local is not None)
    try:
        complaint, secret = file_complaint(intake)  # validates before it adds anything
    except ComplaintInputError as error:
        log.warning("SMS complaint %s not filed: %s", row.id, ", ".join(error.errors))
        row.outcome = "help"
        _send_help(row, phone, agency_id, None)
        return
    row.outcome = "complaint"
    row.complaint_id = complaint.id
    agency = db.session.get(OrgUnit, agency_id)
    _send(row, phone, "complaint_receipt", "reply_complaint_code", agency_id, complaint=complaint,
          agency_name=(agency.short_name or agency.name) if agency else "", link=lookup_url(complaint, secret))


def complaint_agency(invitation: SurveyInvitation | None) -> int | None:
    """Where an SMS complaint goes: the agency of the phone's latest invitation; else SMS_DEFAULT_AGENCY (a unit
    code); else the one Sở in force (as /pakn/new does); else the one top-level UBND; else nowhere."""
    if invitation is not None:
        return agency_of(invitation.agency_id)
    code = (current_app.config.get("SMS_DEFAULT_AGENCY") or "").strip()
    if code:
        found = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
        if found is not None:
            return found
    from ..pakn.services import agencies_in_force

    agencies = agencies_in_force()
    if len(agencies) == 1:
        return agencies[0].id
    today = local_today()
    roots = db.session.scalars(select(OrgUnit.id).where(
        OrgUnit.parent_id.is_(None), OrgUnit.unit_type.in_(AGENCY_TYPES), OrgUnit.valid_from <= today,
        or_(OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= today)).limit(2)).all()
    return roots[0] if len(roots) == 1 else None


def _complaints_today(row: Received) -> int:
    """How many complaints this phone has filed by SMS in the last 24 hours."""
    since = utcnow() - timedelta(hours=24)
    return db.session.scalar(select(func.count(InboundSms.id)).where(
        InboundSms.phone_hash == row.phone_hash, InboundSms.outcome == "complaint",
        InboundSms.received_at > since)) or 0


def _under_cap(row: Received, allowance: int = 0) -> bool:
    """Whether this phone has sent few enough messages today (AUTO_REPLY_CAP, plus `allowance`) to be answered with
    help once more."""
    since = utcnow() - timedelta(hours=24)
    cap = AUTO_REPLY_CAP + allowance
    recent = db.session.scalar(select(func.count()).select_from(
        select(InboundSms.id).where(InboundSms.phone_hash == row.phone_hash, InboundSms.received_at > since)
        .limit(cap + 1).subquery()))
    return (recent or 0) <= cap


def _send_help(row: Received, phone: str, agency_id: int | None, survey: Survey | None, **flags: bool) -> None:
    if not _under_cap(row):
        return
    factor_count = len(survey.rated) if survey is not None else 0
    _send(row, phone, "help", "reply_help", agency_id, survey=survey, factor_count=factor_count,
          scale_max=survey.scale_max if survey is not None else 5,
          example=" ".join(str(min(4 + i % 2, survey.scale_max)) for i in range(factor_count)) if survey else "",
          skippable=bool(survey.skippable) if survey is not None else False, **flags)


def ascii_only(agency_id: int | None) -> bool:
    """Whether this agency's SMS go without diacritics (its own setting, else SMS_ASCII_ONLY)."""
    if agency_id is not None:
        setting = db.session.get(AgencySmsSettings, agency_id)
        if setting is not None and setting.ascii_only is not None:
            return setting.ascii_only
    return bool(current_app.config.get("SMS_ASCII_ONLY"))


def sms_text(template: str, agency_id: int | None, **context: object) -> str:
    """An SMS from templates/sms/<template>.txt on one line, without diacritics when the agency sends ASCII."""
    body = " ".join(render_template(f"sms/{template}.txt", **context).split())
    return keywords.strip_diacritics(body) if ascii_only(agency_id) else body


def _send(row: Received, phone: str, template: str, kind: str, agency_id: int | None, **context: object) -> None:
    """Queue the one answer to this message, about it (entity inbound_sms)."""
    # No dedupe key: the claim already makes one handling per message (a key would cost a savepoint).
    enqueue_sms(phone, sms_text(template, agency_id, **context), kind=kind, agency_id=agency_id, entity=row)
