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
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

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


def _lock_phones(hashes: list[str]) -> None:
    """PostgreSQL: two imports at once may hold dossiers of one phone; the second waits here until the first
    commits, then sees its invitation (SQLite runs one writer at a time anyway). Locks in one order: no deadlock."""
    if hashes and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 8))) FROM "
                                "(SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS ordered"),
                           {"keys": sorted({"invitation-phone:" + h for h in hashes})})


def _opted_out_of(hashes: set[str]) -> set[str]:
    """Which of these phones said STOP and have not opted back in since."""
    rows = db.session.execute(select(SmsOptOut.phone_hash, SmsOptOut.opted_out_at, SmsOptOut.opted_in_at)
                              .where(SmsOptOut.phone_hash.in_(hashes))) if hashes else []
    return {h for h, out, back in rows if back is None or as_utc(back) < as_utc(out)}


def _last_invited(hashes: set[str]) -> dict[str, datetime]:
    """When each of these phones was last invited (skipped dossiers are not invitations)."""
    if not hashes:
        return {}
    rows = db.session.execute(select(SurveyInvitation.phone_hash, func.max(SurveyInvitation.created_at))
                              .where(SurveyInvitation.phone_hash.in_(hashes), SurveyInvitation.status != "skipped")
                              .group_by(SurveyInvitation.phone_hash))
    return {h: as_utc(when) for h, when in rows}


def _skip_reason(dossier: Dossier, hashed: str | None, rules: Rules, now: datetime, opted: set[str],
                 last: dict[str, datetime]) -> str | None:
    if hashed is None:
        return "no_phone"
    if hashed in opted:
        return "opted_out"
    assert dossier.returned_date is not None
    if link_expired_before_sending(dossier.returned_date, rules.link_days, now.astimezone(LOCAL_TZ).date()):
        return "expired"
    if rules.min_days > 0 and hashed in last and last[hashed] >= period_start(now, rules.min_days):
        return "recent_invitation"
    return None


def _due(dossier: Dossier) -> bool:
    return dossier.status == "returned" and dossier.returned_date is not None and dossier.id is not None


def _plan(dossiers: list[Dossier], now: datetime) -> list[tuple[Dossier, SurveyInvitation, str | None, Rules]]:
    """Each dossier's invitation (not yet added) and its token, with what is read once for all of them: the
    agencies' rules, the opt-outs and when each phone was last invited. Two dossiers of one phone in the same
    batch: the second is a recent invitation."""
    phones = {d.id: normalise_phone(d.phone) for d in dossiers}
    hashes = {d.id: phone_hash(phones[d.id]) for d in dossiers if phones[d.id]}
    _lock_phones(list(hashes.values()))
    opted, last = _opted_out_of(set(hashes.values())), _last_invited(set(hashes.values()))
    rules_of = {agency_id: agency_rules(agency_id) for agency_id in {d.agency_id for d in dossiers}}
    planned = []
    for dossier in dossiers:
        rules, hashed = rules_of[dossier.agency_id], hashes.get(dossier.id)
        invitation = SurveyInvitation(
            dossier_id=dossier.id, phone_hash=hashed, agency_id=dossier.agency_id, counter_id=dossier.counter_id,
            officer_id=dossier.officer_id, service_id=dossier.service_id, channel=dossier.channel, created_at=now)
        reason = _skip_reason(dossier, hashed, rules, now, opted, last)
        token = None
        if reason is None:
            token = new_token()
            invitation.token_hash = hash_token(token)
            invitation.send_at = planned_send(dossier.returned_date, rules.send_at, rules.quiet, now)
            invitation.expires_at = invitation.send_at + timedelta(days=rules.link_days)
            invitation.status = "scheduled"
            last[hashed] = now  # type: ignore[index] - a scheduled invitation has a phone
        else:
            invitation.status, invitation.skip_reason = "skipped", reason
        planned.append((dossier, invitation, token, rules))
    return planned


def _enqueue(planned: list[tuple[Dossier, SurveyInvitation, str | None, Rules]]) -> None:
    """The SMS of each scheduled invitation, due at its send moment; written once per invitation (the invitation
    is new and unique on its dossier, so no dedupe key — and no savepoint per message — is needed)."""
    messages = []
    for dossier, invitation, token, rules in planned:
        if token is None:
            continue
        text_ = templates.render(rules.template, agency=dossier.agency.name,
                                 link=public_url("survey_links.survey", token=token), rules=rules).text
        messages.append((invitation, enqueue_sms(dossier.phone or "", text_, kind=KIND, agency_id=dossier.agency_id,
                                                 entity=invitation, available_at=invitation.send_at, flush=False)))
    if not messages:
        return
    db.session.flush()  # every message in one multi-row INSERT
    # Each invitation points at its message: one UPDATE for the batch rather than one per invitation.
    db.session.execute(
        update(SurveyInvitation)
        .where(SurveyInvitation.id.in_([invitation.id for invitation, _m in messages]))
        .values(outbox_message_id=select(OutboxMessage.id).where(
            OutboxMessage.entity_type == SurveyInvitation.__tablename__, OutboxMessage.entity_id == SurveyInvitation.id,
            OutboxMessage.kind == KIND).scalar_subquery())
        .execution_options(synchronize_session=False))
    for invitation, message in messages:
        set_committed_value(invitation, "outbox_message_id", message.id if message is not None else None)


def schedule_invitation(dossier: Dossier) -> SurveyInvitation | None:
    """Invite one saved dossier once when it is returned with a phone (see `schedule_invitations`). Flushes,
    never commits. Returns the dossier's invitation (new or earlier), None when it is not returned yet."""
    if not _due(dossier):
        return None
    existing = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.dossier_id == dossier.id))
    if existing is not None:
        return existing
    planned = _plan([dossier], utcnow())
    invitation = planned[0][1]
    try:
        with db.session.begin_nested():  # another import of the same dossier may have just invited it
            db.session.add(invitation)
    except IntegrityError:
        return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.dossier_id == dossier.id))
    _enqueue(planned)
    return invitation


def schedule_invitations(dossiers: list[Dossier]) -> None:
    """Called by every import (upload, CLI, API) with each batch of saved dossiers: the returned ones with a phone
    get their invitation, read and written once per batch rather than once per dossier. Flushes, never commits.
    When another import invites one of them at the same moment, the batch falls back to one at a time."""
    due = [d for d in dossiers if _due(d)]
    if not due:
        return
    invited = set(db.session.scalars(select(SurveyInvitation.dossier_id)
                                     .where(SurveyInvitation.dossier_id.in_([d.id for d in due]))))
    todo = [d for d in due if d.id not in invited]
    if not todo:
        return
    planned = _plan(todo, utcnow())
    try:
        with db.session.begin_nested():
            db.session.add_all([invitation for _d, invitation, _t, _r in planned])
    except IntegrityError:
        for dossier in todo:
            schedule_invitation(dossier)
        return
    _enqueue(planned)


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
        ).options(joinedload(SurveyInvitation.counter))  # the reply's target needs it: one query, not two
        .order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id.desc()).limit(5)
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

