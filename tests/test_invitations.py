"""Scheduling invitations (skip reasons, one per phone per period, send time, quiet hours), the send guard,
the periodic job, and finding an invitation by phone for SMS replies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import AgencySmsSettings, OutboxMessage, SmsOptOut, SurveyInvitation
from feedback_app.phones import phone_hash
from feedback_app.sms import guard, invitations
from feedback_app.sms.guard import Hold, before_send
from feedback_app.sms.invitations import (
    expire_invitations,
    invitation_for_phone,
    invitations_job,
    schedule_invitation,
    sync_sent,
)
from feedback_app.timeutil import LOCAL_TZ, as_utc

from .invitation_helpers import dossier, invite, token_of

pytestmark = pytest.mark.usefixtures("db_session")


def local(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LOCAL_TZ)


@pytest.fixture
def clock(monkeypatch):
    """Set the moment the scheduler sees as now."""

    def set_now(moment: datetime) -> None:
        monkeypatch.setattr(invitations, "utcnow", lambda: moment.astimezone(UTC))

    return set_now


def _settings(agency_id: int, **values) -> AgencySmsSettings:
    row = db.session.get(AgencySmsSettings, agency_id) or AgencySmsSettings(agency_id=agency_id)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.flush()
    return row


def test_returned_dossier_with_phone_is_invited_at_the_send_time(world, clock, app):
    clock(local(2026, 5, 4, 9))
    d = dossier(world.agency.id, counter=world.counter_a, officer=world.officer_a, returned=date(2026, 5, 4),
                channel="online")
    invitation = schedule_invitation(d)
    assert invitation.status == "scheduled" and invitation.skip_reason is None
    assert as_utc(invitation.send_at) == local(2026, 5, 4, 19)
    assert as_utc(invitation.expires_at) == local(2026, 5, 4, 19) + timedelta(days=app.config["INVITATION_LINK_DAYS"])
    assert invitation.channel == "online" and invitation.counter_id == world.counter_a.id
    assert invitation.phone_hash == phone_hash("0905123456") and invitation.token_hash is not None
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    assert message.channel == "sms" and message.recipient == "0905123456" and message.kind == "survey_invitation"
    assert message.agency_id == world.agency.id and as_utc(message.available_at) == local(2026, 5, 4, 19)
    assert (message.entity_type, message.entity_id) == ("survey_invitations", invitation.id)
    token = token_of(invitation)
    assert len(token) == 12 and f"/s/{token}" in message.body and world.agency.name in message.body
    assert "1 đến 5" in message.body  # the reply option
    # A second import of the same dossier changes nothing.
    assert schedule_invitation(d) is invitation
    assert db.session.scalar(select(func.count(SurveyInvitation.id)).where(SurveyInvitation.dossier_id == d.id)) == 1


def test_imported_after_the_send_time_goes_at_the_next_allowed_moment(world, clock):
    clock(local(2026, 5, 5, 10))  # returned yesterday, imported this morning
    invitation = schedule_invitation(dossier(world.agency.id, returned=date(2026, 5, 4)))
    assert as_utc(invitation.send_at) == local(2026, 5, 5, 10)
    clock(local(2026, 5, 5, 23))  # imported at night: the end of the quiet hours
    invitation = schedule_invitation(dossier(world.agency.id, phone="0905000002", returned=date(2026, 5, 5)))
    assert as_utc(invitation.send_at) == local(2026, 5, 6, 7)


def test_agency_send_time_now_and_own_quiet_hours(world, clock):
    _settings(world.agency.id, send_at="now", quiet_hours="12:00-13:30")
    clock(local(2026, 5, 4, 12, 15))
    invitation = schedule_invitation(dossier(world.agency.id, returned=date(2026, 5, 4)))
    assert as_utc(invitation.send_at) == local(2026, 5, 4, 13, 30)
    _settings(world.agency.id, quiet_hours="")  # none at all: even at night
    clock(local(2026, 5, 4, 23, 30))
    invitation = schedule_invitation(dossier(world.agency.id, phone="0905000003", returned=date(2026, 5, 4)))
    assert as_utc(invitation.send_at) == local(2026, 5, 4, 23, 30)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"phone": None}, "no_phone"),
    ({"phone": "12345"}, "no_phone"),
    ({"returned": date(2026, 4, 20)}, "expired"),  # older than the link's validity (7 days)
])
def test_skip_reasons(world, clock, kwargs, reason):
    clock(local(2026, 5, 4, 9))
    invitation = schedule_invitation(dossier(world.agency.id, **{"returned": date(2026, 5, 4), **kwargs}))
    assert invitation.status == "skipped" and invitation.skip_reason == reason
    assert invitation.token_hash is None and invitation.outbox_message_id is None


def test_not_returned_dossiers_wait(world):
    d = dossier(world.agency.id, status="processing", returned=None)
    assert schedule_invitation(d) is None
    assert db.session.scalar(select(func.count(SurveyInvitation.id))) == 0
    d.status, d.returned_date = "returned", date.today()
    assert schedule_invitation(d).status == "scheduled"  # the import that brings the return invites it


def test_opted_out_phone_is_never_invited_until_it_opts_in(world, clock):
    clock(local(2026, 5, 4, 9))
    db.session.add(SmsOptOut(phone_hash=phone_hash("0905123456"), opted_out_at=local(2026, 1, 1, 8).astimezone(UTC)))
    db.session.flush()
    assert schedule_invitation(dossier(world.agency.id, returned=date(2026, 5, 4))).skip_reason == "opted_out"
    db.session.get(SmsOptOut, phone_hash("0905123456")).opted_in_at = local(2026, 2, 1, 8).astimezone(UTC)
    db.session.flush()
    assert schedule_invitation(dossier(world.agency.id, returned=date(2026, 5, 4))).status == "scheduled"


def test_one_invitation_per_phone_per_period(world, clock):
    clock(local(2026, 5, 4, 9))
    first = schedule_invitation(dossier(world.agency.id, phone="+84 905 123 456", returned=date(2026, 5, 4)))
    assert first.status == "scheduled"
    second = schedule_invitation(dossier(world.agency.id, phone="0905.123.456", returned=date(2026, 5, 4)))
    assert (second.status, second.skip_reason) == ("skipped", "recent_invitation")
    other = schedule_invitation(dossier(world.agency.id, phone="0905999999", returned=date(2026, 5, 4)))
    assert other.status == "scheduled"
    # A skipped invitation does not count: 29 days later still blocked, 31 days later invited again.
    clock(local(2026, 6, 2, 9))
    assert schedule_invitation(dossier(world.agency.id, returned=date(2026, 6, 2))).skip_reason == "recent_invitation"
    clock(local(2026, 6, 4, 9, 1))
    assert schedule_invitation(dossier(world.agency.id, returned=date(2026, 6, 4))).status == "scheduled"
    # An agency may allow every invitation (0 days).
    _settings(world.agency.id, min_days_between=0)
    assert schedule_invitation(dossier(world.agency.id, returned=date(2026, 6, 4))).status == "scheduled"


def test_template_ascii_and_brand(world, clock):
    clock(local(2026, 5, 4, 9))
    _settings(world.agency.id, sender_name="SXDKH", ascii_only=True,
              invitation_template="{agency} mời đánh giá: {link} {reply}")
    invitation = schedule_invitation(dossier(world.agency.id, returned=date(2026, 5, 4)))
    body = db.session.get(OutboxMessage, invitation.outbox_message_id).body
    assert body.startswith("SXDKH: So Xay dung") and "moi danh gia: http" in body and body.isascii()


# --- the send guard --------------------------------------------------------------------------------------------

def _scheduled(world, clock, **kw):
    clock(local(2026, 5, 4, 9))
    invitation = schedule_invitation(dossier(world.agency.id, returned=date(2026, 5, 4), **kw))
    return invitation, invitation.outbox_message_id


def test_guard_lets_a_due_invitation_go(world, clock):
    _invitation, message_id = _scheduled(world, clock)
    assert before_send(message_id, now=local(2026, 5, 4, 19).astimezone(UTC)) is None


def test_guard_holds_in_quiet_hours_and_while_paused(world, clock):
    _invitation, message_id = _scheduled(world, clock)
    night = local(2026, 5, 4, 23, 10).astimezone(UTC)
    assert before_send(message_id, now=night) == Hold(until=local(2026, 5, 5, 7).astimezone(UTC))
    _settings(world.agency.id, paused=True)
    evening = local(2026, 5, 4, 19).astimezone(UTC)
    assert before_send(message_id, now=evening) == Hold(until=evening + guard.PAUSE_RECHECK)


def test_guard_cancels_after_opt_out_and_expiry(world, clock):
    invitation, message_id = _scheduled(world, clock)
    evening = local(2026, 5, 4, 19).astimezone(UTC)
    assert before_send(message_id, now=as_utc(invitation.expires_at) + timedelta(seconds=1)) == Hold(
        cancel_reason="expired")
    db.session.add(SmsOptOut(phone_hash=invitation.phone_hash, opted_out_at=evening))
    db.session.flush()
    assert before_send(message_id, now=evening) == Hold(cancel_reason="opted_out")


def test_guard_leaves_replies_and_other_channels_alone(world, clock):
    _settings(world.agency.id, paused=True)
    reply = OutboxMessage(channel="sms", recipient="0905123456", body="x", kind="reply_help",
                          agency_id=world.agency.id)
    email = OutboxMessage(channel="email", recipient="a@b.vn", body="x", kind="pakn_receipt",
                          agency_id=world.agency.id)
    db.session.add_all([reply, email])
    db.session.flush()
    night = local(2026, 5, 4, 23).astimezone(UTC)
    assert before_send(reply.id, now=night) is None and before_send(email.id, now=night) is None
    assert before_send(10**9) is None


def test_guard_is_two_queries_at_most(world, clock, app):
    from sqlalchemy import event

    _invitation, message_id = _scheduled(world, clock)
    db.session.expire_all()
    statements = []
    engine_conn = db.session.connection()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine_conn, "before_cursor_execute", listener)
    try:
        before_send(message_id, now=local(2026, 5, 4, 19).astimezone(UTC))
    finally:
        event.remove(engine_conn, "before_cursor_execute", listener)
    assert len(statements) <= 2, statements


# --- the periodic job and replies --------------------------------------------------------------------------------

def test_job_marks_sent_delivered_and_expired(world, clock):
    invitation, message_id = _scheduled(world, clock)
    stale, _ = _scheduled(world, clock, phone="0905000009")
    message = db.session.get(OutboxMessage, message_id)
    message.status, message.sent_at = "sent", local(2026, 5, 4, 19).astimezone(UTC)
    message.delivery_status, message.delivery_updated_at = "delivered", local(2026, 5, 4, 19, 1).astimezone(UTC)
    stale.expires_at = local(2026, 5, 4, 8).astimezone(UTC)  # the clock says 09:00
    db.session.flush()
    assert invitations_job() == 3  # sent_at, delivered_at, one expired
    db.session.expire_all()
    invitation = db.session.get(SurveyInvitation, invitation.id)
    assert invitation.status == "sent" and as_utc(invitation.sent_at) == local(2026, 5, 4, 19)
    assert as_utc(invitation.delivered_at) == local(2026, 5, 4, 19, 1)
    assert db.session.get(SurveyInvitation, stale.id).status == "expired"
    assert expire_invitations() == 0 and sync_sent() == 0  # nothing twice


def test_invitation_for_phone(world, clock):
    invitation, token = invite(world.agency.id, counter=world.counter_a)
    assert invitation_for_phone("+84905123456") is invitation
    assert invitation_for_phone("0905999999") is None and invitation_for_phone("garbage") is None
    invitation.status = "answered"
    db.session.flush()
    assert invitation_for_phone("0905123456") is invitation  # a second reply is told it counted once
    invitation.status = "expired"
    db.session.flush()
    assert invitation_for_phone("0905123456") is None

