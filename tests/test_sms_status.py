"""Delivery reports: Twilio's status callback (signed, checked with Twilio's RequestValidator against the public
URL) and the generic gateway's (HMAC-SHA256); statuses never move backwards; a report reconciles a message whose
worker died after the gateway took it; the invitation funnel; the daily reconciliation against the Twilio stub;
the administrators' outbox page."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest

from feedback_app.extensions import db
from feedback_app.models import Dossier, OutboxMessage, SurveyInvitation
from feedback_app.outbox import enqueue_sms
from feedback_app.outbox.periodic import registered_jobs
from feedback_app.outbox.senders import Accepted, OutgoingMessage
from feedback_app.outbox.worker import _sent, claim
from feedback_app.sms import signing
from feedback_app.sms.gateways import TwilioGateway
from feedback_app.sms.status import may_replace, reconcile, record_delivery
from feedback_app.timeutil import utcnow

from . import twilio_stub as stubs
from .twilio_stub import AUTH_TOKEN, post_signed, sign_twilio_request

twilio_stub, fresh_twilio_stub = stubs.twilio_stub, stubs.fresh_twilio_stub  # the stub's fixtures, for this module

SECRET = "generic-gateway-secret-0123456789"
PATH = "/webhooks/twilio/status"


@pytest.fixture
def gateways(app, monkeypatch):
    """The app as if both gateways were configured (their webhook secrets; nothing is sent here)."""
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "SMS_HTTP_SECRET", SECRET)
    return app


def sent_sms(provider: str = "twilio", provider_id: str | None = "SM" + "1" * 32, delivery: str | None = "queued",
             entity: object | None = None, status: str = "sent", phone: str = "0905123456") -> OutboxMessage:
    message = enqueue_sms(phone, "Mời ông/bà đánh giá", kind="survey_invitation", entity=entity)
    message.status, message.provider, message.provider_id, message.delivery_status = status, provider, provider_id, \
        delivery
    message.sent_at = utcnow() if status == "sent" else None
    db.session.commit()
    return message


def twilio_report(client, sid: str, status: str, message_id: int | None = None, error_code: str | None = None):
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
              "AccountSid": stubs.ACCOUNT_SID, "To": "+84905123456", "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = error_code
    path = PATH + (f"?m={message_id}" if message_id is not None else "")
    return post_signed(client, path, params)


def generic_report(client, payload: dict, secret: str = SECRET, timestamp: int | None = None,
                   body: bytes | None = None):
    raw = body if body is not None else json.dumps(payload).encode()
    headers = signing.signed_headers(secret, raw, timestamp)
    return client.post("/webhooks/sms/status", data=raw, headers={**headers, "Content-Type": "application/json"})


# --- the monotone rule ---------------------------------------------------------------------------------------

def test_a_status_only_moves_forward_and_undelivered_may_still_become_delivered():
    order = [None, "queued", "sent"]
    for i, current in enumerate(order):
        for later in order[i + 1:]:
            assert may_replace(current, later)
        assert not may_replace(current, current) if current else True
    for final in ("delivered", "undelivered", "failed"):
        assert may_replace("sent", final) and may_replace(None, final)
        assert not may_replace(final, "queued") and not may_replace(final, "sent")
    assert may_replace("undelivered", "delivered")
    assert not may_replace("delivered", "undelivered") and not may_replace("delivered", "failed")
    assert not may_replace("failed", "delivered") and not may_replace("undelivered", "failed")


# --- Twilio's status callback --------------------------------------------------------------------------------

def test_twilio_reports_need_a_valid_signature(client, gateways, db_session):
    message = sent_sms()
    params = {"MessageSid": message.provider_id, "MessageStatus": "delivered"}
    assert client.post(PATH, data=params).status_code == 403  # no signature
    forged = sign_twilio_request("http://localhost" + PATH, params, "not-our-token")
    assert client.post(PATH, data=params, headers={"X-Twilio-Signature": forged}).status_code == 403
    signed = sign_twilio_request("http://localhost" + PATH, params)
    tampered = {**params, "MessageStatus": "failed"}
    assert client.post(PATH, data=tampered, headers={"X-Twilio-Signature": signed}).status_code == 403
    db.session.refresh(message)
    assert message.delivery_status == "queued"
    response = client.post(PATH, data=params, headers={"X-Twilio-Signature": signed})
    assert response.status_code == 204 and response.get_data() == b""
    db.session.refresh(message)
    assert message.delivery_status == "delivered" and message.delivery_updated_at is not None


def test_without_an_auth_token_every_twilio_report_is_refused(client, app, db_session):
    message = sent_sms()
    assert app.config["TWILIO_AUTH_TOKEN"] == ""
    assert twilio_report(client, message.provider_id, "delivered").status_code == 403


def test_behind_a_proxy_the_public_url_from_configuration_is_what_is_validated(client, gateways, db_session,
                                                                                monkeypatch):
    monkeypatch.setitem(gateways.config, "PUBLIC_BASE_URL", "https://danhgia.khanhhoa.gov.vn")
    message = sent_sms()
    params = {"MessageSid": message.provider_id, "MessageStatus": "sent"}
    path = f"{PATH}?m={message.id}"
    as_seen_by_the_app = sign_twilio_request("http://localhost" + path, params)
    assert client.post(path, data=params, headers={"X-Twilio-Signature": as_seen_by_the_app}).status_code == 403
    as_called_by_twilio = sign_twilio_request("https://danhgia.khanhhoa.gov.vn" + path, params)
    assert client.post(path, data=params, headers={"X-Twilio-Signature": as_called_by_twilio}).status_code == 204
    db.session.refresh(message)
    assert message.delivery_status == "sent"


def test_late_and_repeated_reports_never_move_a_status_back(client, gateways, db_session):
    message = sent_sms()
    sid = message.provider_id
    for status in ("delivered", "sent", "queued", "delivered", "undelivered", "failed"):
        assert twilio_report(client, sid, status).status_code == 204
        db.session.refresh(message)
        assert message.delivery_status == "delivered", status


def test_an_undelivered_message_may_still_be_reported_delivered_and_its_error_code_goes(client, gateways,
                                                                                         db_session):
    message = sent_sms()
    assert twilio_report(client, message.provider_id, "undelivered", error_code="30005").status_code == 204
    db.session.refresh(message)
    assert (message.delivery_status, message.error_code) == ("undelivered", "30005")
    twilio_report(client, message.provider_id, "sent")
    db.session.refresh(message)
    assert message.delivery_status == "undelivered"
    twilio_report(client, message.provider_id, "delivered")
    db.session.refresh(message)
    assert (message.delivery_status, message.error_code) == ("delivered", None)


def test_a_failed_message_stays_failed(client, gateways, db_session):
    message = sent_sms()
    twilio_report(client, message.provider_id, "failed", error_code="30007")
    twilio_report(client, message.provider_id, "delivered")
    db.session.refresh(message)
    assert (message.delivery_status, message.error_code) == ("failed", "30007")


def test_a_delivered_invitation_counts_as_delivered_in_the_funnel(client, gateways, db_session, world):
    dossier = Dossier(code="000.00.17.H29-261119-0001", agency_id=world.agency.id, procedure_name="Cấp phép",
                      phone="0905123456", received_date=date(2026, 11, 2), appointment_date=date(2026, 11, 20),
                      returned_date=date(2026, 11, 19), status="returned")
    db.session.add(dossier)
    db.session.flush()
    invitation = SurveyInvitation(dossier_id=dossier.id, agency_id=world.agency.id, channel="in_person",
                                  status="sent", sent_at=utcnow())
    db.session.add(invitation)
    db.session.flush()
    message = sent_sms(entity=invitation)
    twilio_report(client, message.provider_id, "sent")
    db.session.refresh(invitation)
    assert invitation.delivered_at is None
    twilio_report(client, message.provider_id, "delivered")
    db.session.refresh(invitation)
    first = invitation.delivered_at
    assert first is not None
    twilio_report(client, message.provider_id, "delivered")  # again: the first moment stays
    db.session.refresh(invitation)
    assert invitation.delivered_at == first


def test_a_report_reconciles_a_message_whose_worker_died_after_twilio_took_it(client, gateways, db_session):
    message = sent_sms(provider=None, provider_id=None, delivery=None, status="sending")
    message.attempts, message.locked_by = 1, "dead-host:1:1"
    message.locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    sid = "SM" + "7" * 32
    assert twilio_report(client, sid, "sent", message_id=message.id).status_code == 204
    db.session.refresh(message)
    assert (message.status, message.provider, message.provider_id, message.delivery_status) == (
        "sent", "twilio", sid, "sent")
    assert message.locked_until is None and message.sent_at is not None
    # Its lock would have expired: it is not taken (and sent) again.
    assert claim(10, "next-worker", due_before=utcnow() + timedelta(minutes=10)) == []
    # A report about a second copy (sent in that window) changes nothing.
    assert record_delivery("twilio", "SM" + "8" * 32, "failed", "30008", message_id=message.id) == "other_copy"
    db.session.refresh(message)
    assert (message.provider_id, message.delivery_status) == (sid, "sent")


def test_the_workers_own_write_does_not_undo_a_report_that_came_first(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "")  # whatever the hour of the run
    message = enqueue_sms("0905123456", "Mời ông/bà đánh giá", kind="survey_invitation")
    db.session.commit()
    [claimed] = claim(1, "w1")
    sid = "SM" + "9" * 32
    # Twilio took it and its callback ran before the worker could write what Twilio answered.
    assert record_delivery("twilio", sid, "delivered", message_id=claimed.id) == "updated"

    class Gateway:
        name = "twilio"

    _sent(claimed, "w1", Gateway(), Accepted(sid, "queued"))
    db.session.refresh(message)
    assert (message.status, message.provider_id, message.delivery_status) == ("sent", sid, "delivered")


def test_unknown_messages_and_other_statuses_are_answered_without_effect(client, gateways, db_session):
    assert twilio_report(client, "SM" + "0" * 32, "delivered").status_code == 204
    assert twilio_report(client, "SM" + "0" * 32, "delivered", message_id=999999).status_code == 204
    message = sent_sms()
    assert twilio_report(client, message.provider_id, "receiving").status_code == 204
    db.session.refresh(message)
    assert message.delivery_status == "queued"
    assert post_signed(client, PATH, {"MessageStatus": "sent"}).status_code == 400


# --- the generic gateway's report ----------------------------------------------------------------------------

def test_generic_reports_are_checked_with_hmac_sha256(client, gateways, db_session):
    message = sent_sms(provider="http", provider_id="vn-123")
    payload = {"id": "vn-123", "reference": str(message.id), "status": "delivered"}
    raw = json.dumps(payload).encode()
    assert client.post("/webhooks/sms/status", json=payload).status_code == 403  # unsigned
    assert generic_report(client, payload, secret="not-ours").status_code == 403
    assert generic_report(client, payload, timestamp=int(time.time()) - 3600).status_code == 403  # a replay
    headers = signing.signed_headers(SECRET, raw)
    other_body = json.dumps({**payload, "status": "failed"}).encode()
    assert client.post("/webhooks/sms/status", data=other_body, headers=headers).status_code == 403
    db.session.refresh(message)
    assert message.delivery_status == "queued"
    assert generic_report(client, payload).status_code == 204
    db.session.refresh(message)
    assert message.delivery_status == "delivered"


def test_generic_reports_follow_the_same_rules_and_refuse_nonsense(client, gateways, db_session):
    message = sent_sms(provider="http", provider_id="vn-124")
    assert generic_report(client, {"id": "vn-124", "status": "UNDELIVERED", "error_code": "EXPIRED"}).status_code \
        == 204
    assert generic_report(client, {"id": "vn-124", "status": "sent"}).status_code == 204
    db.session.refresh(message)
    assert (message.delivery_status, message.error_code) == ("undelivered", "EXPIRED")
    assert generic_report(client, {"id": "vn-124", "status": "arrived"}).status_code == 400
    assert generic_report(client, {"status": "delivered"}).status_code == 400
    assert generic_report(client, {}, body=b"not json").status_code == 400
    assert generic_report(client, {}, body=b"[1, 2]").status_code == 400


def test_a_generic_report_reconciles_by_its_reference(client, gateways, db_session):
    message = sent_sms(provider=None, provider_id=None, delivery=None, status="failed")
    message.last_error = "SMS gateway unreachable: ReadTimeout"
    db.session.commit()
    assert generic_report(client, {"id": "vn-500", "reference": str(message.id), "status": "sent"}).status_code \
        == 204
    db.session.refresh(message)
    assert (message.status, message.provider, message.provider_id, message.delivery_status, message.last_error) \
        == ("sent", "http", "vn-500", "sent", None)


def test_webhooks_are_rate_limited(client, gateways, db_session, monkeypatch):
    monkeypatch.setitem(gateways.config, "SMS_WEBHOOK_LIMIT", "3 per minute")
    codes = [generic_report(client, {"id": "nothing", "status": "sent"}).status_code for _ in range(4)]
    assert codes == [204, 204, 204, 429]


def test_signatures():
    body = b'{"id": "vn-1", "status": "delivered"}'
    stamp = int(time.time())
    signature = signing.sign(SECRET, body, stamp)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert signing.verify(SECRET, body, str(stamp), signature)
    assert signing.verify(SECRET, body, str(stamp), f"sha256={'0' * 64}, {signature}")  # a rotating gateway
    assert not signing.verify(SECRET, body + b" ", str(stamp), signature)
    assert not signing.verify(SECRET, body, str(stamp + 1), signature)
    assert not signing.verify("", body, str(stamp), signing.sign("", body, stamp))  # no secret: nothing passes
    assert not signing.verify(SECRET, body, None, signature) and not signing.verify(SECRET, body, str(stamp), None)
    assert not signing.verify(SECRET, body, "12ab", signature) and not signing.verify(SECRET, body, "-1", signature)
    old = stamp - signing.TOLERANCE_SECONDS - 5
    assert not signing.verify(SECRET, body, str(old), signing.sign(SECRET, body, old))
    assert signing.verify(SECRET, body, str(old), signing.sign(SECRET, body, old), now=old + 10)


# --- the daily reconciliation --------------------------------------------------------------------------------

def test_the_reconciliation_is_a_daily_job():
    [job] = [job for job in registered_jobs() if job.name == "sms-delivery-reconcile"]
    assert job.every_seconds == 24 * 3600


def test_the_reconciliation_asks_twilio_about_messages_left_without_a_final_status(db_session, fresh_twilio_stub):
    config = fresh_twilio_stub.app_config()
    gateway = TwilioGateway(config)
    now = utcnow()

    def at_twilio(sent_ago: timedelta, delivery: str | None, stub_status: str, code: int | None = None):
        sid = gateway.send(an_outgoing()).provider_id
        fresh_twilio_stub.set_status(sid, stub_status, code)
        message = sent_sms(provider_id=sid, delivery=delivery)
        message.sent_at = now - sent_ago
        db.session.commit()
        return message

    waiting = at_twilio(timedelta(hours=3), "queued", "delivered")
    silent = at_twilio(timedelta(days=2), None, "undelivered", 30003)
    too_young = at_twilio(timedelta(minutes=20), "queued", "delivered")
    too_old = at_twilio(timedelta(days=30), "sent", "delivered")
    settled = at_twilio(timedelta(hours=5), "failed", "delivered")
    still_on_its_way = at_twilio(timedelta(hours=2), "sent", "sent")
    other_gateway = sent_sms(provider="http", provider_id="vn-1", delivery="queued")
    other_gateway.sent_at = now - timedelta(hours=3)
    db.session.commit()

    assert reconcile(config, gateway, now=now) == 2
    for message in (waiting, silent, too_young, too_old, settled, still_on_its_way, other_gateway):
        db.session.refresh(message)
    assert waiting.delivery_status == "delivered"
    assert (silent.delivery_status, silent.error_code) == ("undelivered", "30003")
    assert (too_young.delivery_status, too_old.delivery_status, settled.delivery_status) == ("queued", "sent",
                                                                                            "failed")
    assert still_on_its_way.delivery_status == "sent"
    assert sorted(fresh_twilio_stub.fetches) == sorted([waiting.provider_id, silent.provider_id,
                                                        still_on_its_way.provider_id])


def an_outgoing() -> OutgoingMessage:
    return OutgoingMessage(id=1, channel="sms", recipient="0905123456", subject=None, body="x", kind="t", attempts=1)


# --- the administrators' page --------------------------------------------------------------------------------

def test_the_outbox_page_shows_sms_delivery_and_error_codes_masked(client, login_as, world):
    delivered = sent_sms(delivery="delivered")
    dead = sent_sms(provider_id=None, delivery=None, status="dead", phone="0912345678")
    dead.error_code, dead.last_error = "21610", "Twilio HTTP 400 error 21610"
    cancelled = sent_sms(provider_id=None, delivery=None, status="pending", phone="0987654321")
    cancelled.status, cancelled.last_error = "cancelled", "opted_out"
    db.session.commit()
    login_as("admin")
    page = client.get("/admin/outbox?channel=sms").get_data(as_text=True)
    assert "Đã đến máy người nhận" in page and "Mã lỗi 21610" in page and "Đã hủy" in page
    assert "0905123456" not in page and "09******56" in page
    assert "Mời ông/bà đánh giá" not in page
    assert f"/admin/outbox/{dead.id}/retry" in page and f"/admin/outbox/{cancelled.id}/retry" not in page
    assert f"/admin/outbox/{delivered.id}/retry" not in page
    english = client.get("/admin/outbox?channel=sms&status=cancelled&lang=en").get_data(as_text=True)
    assert "Cancelled" in english and "opted_out" in english and "21610" not in english
