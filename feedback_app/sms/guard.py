"""The last check before the worker hands an SMS to the gateway (opt-out, an agency's pause, quiet hours).

Which rules apply to which message:
- every SMS the agency starts (invitations, apology slips, …): held while its agency is paused (looked at again
  every PAUSE_RECHECK), and never sent inside the quiet hours (a retry that slid into the night waits for
  their end);
- survey invitations also: cancelled when the phone opted out since it was scheduled, or when the link expired
  (or the invitation was answered or expired) before it could go;
- an answer to a message the citizen just sent (a kind starting with "reply", e.g. reply_help,
  reply_complaint_code, reply_opt_out) goes at once: the citizen is waiting for it, even at night, and the
  confirmation of a STOP must reach a phone that has just opted out.

Cheap on purpose (the worker sends ≥ 100 messages a second): one query by primary key joins the outbox row, its
agency's settings and its invitation; a second one (by primary key) reads the opt-out of an invitation's phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import AgencySmsSettings, OutboxMessage, SurveyInvitation
from ..timeutil import as_utc, utcnow
from .rules import effective_rules, in_quiet_hours, quiet_hours_end

INVITATION_KIND = "survey_invitation"
REPLY_KIND_PREFIX = "reply"
PAUSE_RECHECK = timedelta(minutes=30)


@dataclass(frozen=True)
class Hold:
    """Do not send now: `until` a later moment (quiet hours, a paused agency), or never (`cancel_reason`)."""

    until: datetime | None = None
    cancel_reason: str | None = None


def before_send(message_id: int, now: datetime | None = None) -> Hold | None:
    """None to send the outbox message now; a Hold to postpone or cancel it."""
    row = db.session.execute(
        select(OutboxMessage.channel, OutboxMessage.kind, OutboxMessage.recipient, AgencySmsSettings,
               SurveyInvitation.status, SurveyInvitation.expires_at, SurveyInvitation.phone_hash,
               SurveyInvitation.created_at)
        .select_from(OutboxMessage)
        .outerjoin(AgencySmsSettings, AgencySmsSettings.agency_id == OutboxMessage.agency_id)
        .outerjoin(SurveyInvitation, (OutboxMessage.kind == INVITATION_KIND)
                   & (OutboxMessage.entity_type == SurveyInvitation.__tablename__)
                   & (SurveyInvitation.id == OutboxMessage.entity_id))
        .where(OutboxMessage.id == message_id)
    ).first()
    if row is None or row.channel != "sms" or (row.kind or "").startswith(REPLY_KIND_PREFIX):
        return None
    now = now or utcnow()
    if row.kind == INVITATION_KIND:
        hold = _invitation_hold(row, now)
        if hold is not None:
            return hold
    rules = effective_rules(row.AgencySmsSettings, current_app.config)
    if rules.paused:
        return Hold(until=now + PAUSE_RECHECK)
    if in_quiet_hours(now, rules.quiet):
        assert rules.quiet is not None
        return Hold(until=quiet_hours_end(now, rules.quiet))
    return None


def _invitation_hold(row, now: datetime) -> Hold | None:  # noqa: ANN001 - a result row
    if row.status is None:
        return None  # not tied to an invitation row (written by hand): the general rules only
    if row.status in ("answered", "expired", "skipped"):
        return Hold(cancel_reason=f"invitation_{row.status}")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return Hold(cancel_reason="expired")
    if row.phone_hash and _opted_out_since(row.phone_hash):
        return Hold(cancel_reason="opted_out")
    return None


def _opted_out_since(hashed_phone: str) -> bool:
    from .invitations import opted_out

    return opted_out(hashed_phone)
