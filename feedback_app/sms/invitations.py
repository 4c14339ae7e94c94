"""Survey invitations for returned dossiers (one per dossier, sent at the agency's send time).

`schedule_invitation(dossier)` runs after every import. A returned dossier gets exactly one invitation row
(unique on the dossier, safe under concurrent imports): either 'skipped' with its reason (no_phone, opted_out,
recent_invitation, expired — counted in the funnel as not invited), or 'scheduled' with a one-time link and an
outbox SMS due at the next allowed moment (sms/rules.py). A dossier that is not returned yet gets nothing: it is
looked at again when an import brings its return. An agency's pause does not skip: the SMS is written and the
send guard (sms/guard.py) holds it until the pause ends, or cancels it once its link has expired.

The link is PUBLIC_BASE_URL/s/<token>: 12 URL-safe characters (72 random bits); only its SHA-256 is stored.
An invitation's status follows its outbox row: scheduled -> sent (copied by the periodic job `invitations-sync`
from the outbox row's sent_at; delivered_at from the gateway's report) -> answered (link or reply) or expired.
The funnel (sms/funnel.py) reads the outbox row itself, so it never lags behind that job.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import AgencySmsSettings, Dossier, OutboxMessage, SmsOptOut, SurveyInvitation
from ..outbox import enqueue_sms
from ..phones import normalise_phone, phone_hash
from ..surveys.specs import CounterInfo, UnknownCounter, VersionSpec, counter_info, version_for_page
from ..surveys.submission import ParsedResponse, SubmissionContext, invitation_key, submit_parsed
from ..timeutil import LOCAL_TZ, as_utc, utcnow
from ..urls import public_url
from . import templates
from .rules import Rules, effective_rules, link_expired_before_sending, period_start, planned_send

KIND = "survey_invitation"
OPEN_STATUSES = ("scheduled", "sent")
EXPIRE_EVERY_SECONDS = 600


class InvitationClosed(Exception):
    """The invitation cannot take an answer: already answered (`reason` 'answered') or expired ('expired')."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """12 URL-safe characters, 72 random bits: short for an SMS, not guessable."""
    return secrets.token_urlsafe(9)


def agency_rules(agency_id: int) -> Rules:
    """The agency's effective sending rules (its own settings over the configuration)."""
    return effective_rules(db.session.get(AgencySmsSettings, agency_id), current_app.config)


def opted_out(hashed_phone: str) -> bool:
    """Whether this phone said STOP and has not opted back in since."""
    row = db.session.get(SmsOptOut, hashed_phone)
    return row is not None and (row.opted_in_at is None or as_utc(row.opted_in_at) < as_utc(row.opted_out_at))


def _recently_invited(hashed_phone: str, rules: Rules, now: datetime) -> bool:
    if rules.min_days <= 0:
        return False
    if db.session.get_bind().dialect.name == "postgresql":
        # Two imports at once may hold two dossiers of one phone: the second waits here for the first to commit,
        # then sees its invitation (SQLite runs one writer at a time anyway).
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 8))"),
                           {"key": "invitation-phone:" + hashed_phone})
    return bool(db.session.scalar(select(exists().where(
        SurveyInvitation.phone_hash == hashed_phone, SurveyInvitation.status != "skipped",
        SurveyInvitation.created_at >= period_start(now, rules.min_days)))))


def _skip_reason(dossier: Dossier, hashed: str | None, rules: Rules, now: datetime) -> str | None:
    if hashed is None:
        return "no_phone"
    if opted_out(hashed):
        return "opted_out"
    assert dossier.returned_date is not None
    if link_expired_before_sending(dossier.returned_date, rules.link_days, now.astimezone(LOCAL_TZ).date()):
        return "expired"
    if _recently_invited(hashed, rules, now):
        return "recent_invitation"
    return None


def schedule_invitation(dossier: Dossier) -> SurveyInvitation | None:
    """Called by every import (upload, CLI, API) after a dossier is saved: invite it once when it is returned
    with a phone. Flushes, never commits. Returns the dossier's invitation (new or earlier), None when it is not
    returned yet."""
    if dossier.status != "returned" or dossier.returned_date is None or dossier.id is None:
        return None
    existing = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.dossier_id == dossier.id))
    if existing is not None:
        return existing
    now = utcnow()
    rules = agency_rules(dossier.agency_id)
    phone = normalise_phone(dossier.phone)
    hashed = phone_hash(phone) if phone else None
    invitation = SurveyInvitation(
        dossier_id=dossier.id, phone_hash=hashed, agency_id=dossier.agency_id, counter_id=dossier.counter_id,
        officer_id=dossier.officer_id, service_id=dossier.service_id, channel=dossier.channel, created_at=now)
    reason = _skip_reason(dossier, hashed, rules, now)
    token = None
    if reason is None:
        token = new_token()
        invitation.token_hash = hash_token(token)
        invitation.send_at = planned_send(dossier.returned_date, rules.send_at, rules.quiet, now)
        invitation.expires_at = invitation.send_at + timedelta(days=rules.link_days)
        invitation.status = "scheduled"
    else:
        invitation.status, invitation.skip_reason = "skipped", reason
    try:
        with db.session.begin_nested():  # another import of the same dossier may have just invited it
            db.session.add(invitation)
    except IntegrityError:
        return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.dossier_id == dossier.id))
    if token is not None:
        assert phone is not None
        text = templates.render(rules.template, agency=dossier.agency.name,
                                link=public_url("survey_links.survey", token=token), rules=rules).text
        message = enqueue_sms(phone, text, kind=KIND, agency_id=dossier.agency_id, entity=invitation,
                              dedupe_key=f"invitation-{invitation.id}", available_at=invitation.send_at)
        invitation.outbox_message_id = message.id if message is not None else None
        db.session.flush()
    return invitation


def is_expired(invitation: SurveyInvitation, now: datetime | None = None) -> bool:
    """Past its link's validity (and not answered)."""
    if invitation.status == "expired":
        return True
    if invitation.status == "answered" or invitation.expires_at is None:
        return False
    return as_utc(invitation.expires_at) <= (now or utcnow())


def invitation_for_phone(phone: str) -> SurveyInvitation | None:
    """The invitation an SMS from this phone answers: its newest one that was sent (or is due) and may still be
    answered, else its newest answered one (a second reply is then told it counted once); None otherwise."""
    local = normalise_phone(phone)
    if local is None:
        return None
    now = utcnow()
    rows = db.session.scalars(
        select(SurveyInvitation).where(
            SurveyInvitation.phone_hash == phone_hash(local),
            SurveyInvitation.status.in_((*OPEN_STATUSES, "answered")),
        ).order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id.desc()).limit(5)
    ).all()
    for row in rows:
        if row.status in OPEN_STATUSES and not is_expired(row, now):
            return row
    return next((row for row in rows if row.status == "answered"), None)


def survey_target(invitation: SurveyInvitation, version_id: int | None = None) -> tuple[CounterInfo, VersionSpec]:
    """The counter and questionnaire version an invitation's answer is stored under.

    A dossier without a counter (or whose counter is gone) is answered counter-less: the response is the agency's
    (unit_id) with no counter, on the default questionnaire. Pinning it to some counter of the agency would put
    answers about a counter the citizen never stood at into that counter's figures. UnknownVersion when
    `version_id` (a draft's) is not one this counter asks any more.
    """
    counter = None
    if invitation.counter is not None:
        try:
            counter = counter_info(invitation.counter.code)
        except UnknownCounter:
            counter = None
    if counter is None:
        counter = _agency_only(invitation)
    return counter, version_for_page(counter, version_id)


def _agency_only(invitation: SurveyInvitation) -> CounterInfo:
    from ..models.survey import current_version_query

    current = db.session.execute(current_version_query(None)).first()
    return CounterInfo(
        id=None,  # type: ignore[arg-type] - a response of the agency, not of a counter
        code="", name=invitation.agency.name, agency_id=invitation.agency_id, agency_name=invitation.agency.name,
        centre_name="", questionnaire_id=current.questionnaire_id if current else None,
        version_id=current.id if current else None, version_published_at=current.published_at if current else None)


def answer_invitation(invitation: SurveyInvitation, parsed: ParsedResponse, *, via: str, version: VersionSpec,
                      counter: CounterInfo, language: str = "vi") -> int:
    """Store the answer to an invitation (its link: via 'link'; an SMS reply: via 'reply') and spend it.

    The response carries the dossier's officer and service, never the dossier or the phone. Its idempotency key is
    the invitation's, so the link and a reply count once: the second raises DuplicateSubmission. Raises
    InvitationClosed when it was answered or has expired. Flushes, never commits."""
    if via not in ("link", "reply"):
        raise ValueError(via)
    now = utcnow()
    if invitation.status == "answered":
        raise InvitationClosed("answered")
    if is_expired(invitation, now) or invitation.status == "skipped":
        raise InvitationClosed("expired")
    ctx = SubmissionContext(channel="sms", counter=counter, version=version, language=language,
                            source="invitation" if via == "link" else "sms_reply")
    about = ParsedResponse(parsed.answers, officer_id=invitation.officer_id, service_id=invitation.service_id,
                           dossier_code=None)
    response_id = submit_parsed(ctx, about, invitation_key(invitation.id))
    # Kept to the hour: the exact minute would let anyone reading the tables pair the invitation (and its phone)
    # with the response stored in the same second. The funnel needs only that, and roughly when, it was answered.
    invitation.status, invitation.answered_via = "answered", via
    invitation.answered_at = now.replace(minute=0, second=0, microsecond=0)
    invitation.draft = invitation.draft_saved_at = None
    db.session.flush()
    return response_id


def reply_target(invitation: SurveyInvitation) -> tuple[CounterInfo, VersionSpec]:
    """What an SMS reply answers: the invitation's counter and its current questionnaire version."""
    return survey_target(invitation)


def expire_invitations(now: datetime | None = None) -> int:
    """Invitations past their link's validity and not answered become 'expired'; returns how many."""
    now = now or utcnow()
    result = db.session.execute(
        update(SurveyInvitation)
        .where(SurveyInvitation.status.in_(OPEN_STATUSES), SurveyInvitation.expires_at <= now)
        .values(status="expired", draft=None, draft_saved_at=None)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def sync_sent() -> int:
    """Copy what the outbox knows onto the invitations: when it was sent (scheduled -> sent) and delivered."""
    outbox = OutboxMessage.__table__
    mine = outbox.c.id == SurveyInvitation.outbox_message_id
    linked = SurveyInvitation.outbox_message_id.is_not(None)
    sent = select(outbox.c.sent_at).where(mine).scalar_subquery()
    changed = db.session.execute(
        update(SurveyInvitation)
        .where(linked, SurveyInvitation.sent_at.is_(None),
               exists().where(and_(mine, outbox.c.status == "sent", outbox.c.sent_at.is_not(None))))
        .values(sent_at=sent).execution_options(synchronize_session=False)).rowcount or 0
    db.session.execute(
        update(SurveyInvitation).where(SurveyInvitation.status == "scheduled", SurveyInvitation.sent_at.is_not(None))
        .values(status="sent").execution_options(synchronize_session=False))
    delivered = select(outbox.c.delivery_updated_at).where(mine).scalar_subquery()
    changed += db.session.execute(
        update(SurveyInvitation)
        .where(linked, SurveyInvitation.delivered_at.is_(None),
               exists().where(and_(mine, outbox.c.delivery_status == "delivered")))
        .values(delivered_at=func.coalesce(delivered, SurveyInvitation.sent_at))
        .execution_options(synchronize_session=False)).rowcount or 0
    return changed


def invitations_job() -> int:
    """The periodic job: copy sends and deliveries from the outbox, then expire stale invitations."""
    return sync_sent() + expire_invitations()


def register_jobs() -> None:
    """Periodic jobs of invitations (expiry, and the outbox's sends copied onto them)."""
    from ..outbox import register_periodic

    register_periodic("invitations-sync", EXPIRE_EVERY_SECONDS, invitations_job)

