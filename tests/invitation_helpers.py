"""Dossiers and invitations for the survey-invitation tests (flushes, never commits)."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import Counter, Dossier, Officer, OutboxMessage, Service, SurveyInvitation
from feedback_app.sms.invitations import hash_token, schedule_invitation
from feedback_app.timeutil import local_today

_seq = itertools.count(1)


def dossier(agency_id: int, *, phone: str | None = "0905123456", counter: Counter | None = None,
            officer: Officer | None = None, service: Service | None = None, returned: date | None = None,
            status: str = "returned", channel: str = "in_person") -> Dossier:
    n = next(_seq)
    returned = returned if returned is not None or status != "returned" else local_today()
    obj = Dossier(code=f"H{n:06d}.T{n}", agency_id=agency_id, counter_id=counter.id if counter else None,
                  officer_id=officer.id if officer else None, service_id=service.id if service else None,
                  procedure_name="Cấp giấy phép xây dựng", citizen_name="Nguyễn Văn Dân", phone=phone,
                  received_date=(returned or local_today()) - timedelta(days=10),
                  appointment_date=(returned or local_today()) - timedelta(days=1), returned_date=returned,
                  status=status, channel=channel, source="api")
    db.session.add(obj)
    db.session.flush()
    return obj


def invite(agency_id: int, **kw) -> tuple[SurveyInvitation, str | None]:
    """A scheduled invitation and its token (read back from the SMS text, as a citizen would)."""
    d = dossier(agency_id, **kw)
    invitation = schedule_invitation(d)
    assert invitation is not None
    return invitation, token_of(invitation)


def token_of(invitation: SurveyInvitation) -> str | None:
    if invitation.outbox_message_id is None:
        return None
    body = db.session.get(OutboxMessage, invitation.outbox_message_id).body
    match = re.search(r"/s/([A-Za-z0-9_-]{12})", body)
    assert match, body
    assert hash_token(match.group(1)) == invitation.token_hash
    return match.group(1)


def invitation_of(d: Dossier) -> SurveyInvitation | None:
    return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.dossier_id == d.id))
