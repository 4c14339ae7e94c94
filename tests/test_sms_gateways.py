"""SMS gateways: the real `twilio` client against the local Twilio stub, the generic HTTP gateway against a local
JSON server, the console; and the worker sending SMS through them on a real database (commits, the send guard,
permanent and transient errors, the invitation funnel). Nothing of ours is monkeypatched but the guard's rules,
which belong to another module."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import Dossier, OutboxMessage, SurveyInvitation
from feedback_app.models.sms import AgencySmsSettings
from feedback_app.outbox import enqueue_email, enqueue_sms
from feedback_app.outbox.runner import run_once
from feedback_app.outbox.senders import Accepted, OutgoingMessage, SendError, Senders
from feedback_app.sms import guard
from feedback_app.sms.gateways import ConsoleSmsGateway, HttpGateway, TwilioGateway, sms_gateway
from feedback_app.timeutil import as_utc, utcnow

from . import factories
from . import twilio_stub as stubs
from .conftest import migrated_app
from .twilio_stub import MESSAGING_SERVICE_SID

twilio_stub, fresh_twilio_stub = stubs.twilio_stub, stubs.fresh_twilio_stub  # the stub's fixtures, for this module

PUBLIC = "https://danhgia.khanhhoa.gov.vn"
PHONE = "0905 123 456"
E164 = "+84905123456"
TEXT = "Sở Xây dựng Khánh Hòa mời ông/bà đánh giá: https://danhgia.khanhhoa.gov.vn/s/Ab3dE9xQ. Trả lời 1-5."


def outgoing(message_id: int = 41, **kw: Any) -> OutgoingMessage:
    values = {"id": message_id, "channel": "sms", "recipient": "0905123456", "subject": None, "body": TEXT,
              "kind": "survey_invitation", "attempts": 1, **kw}
    return OutgoingMessage(**values)


# --- Twilio, through the real client ---------------------------------------------------------------------------

def test_twilio_sends_e164_through_the_messaging_service_with_a_status_callback_naming_the_outbox_row(
        fresh_twilio_stub):
    gateway = TwilioGateway(fresh_twilio_stub.app_config(PUBLIC_BASE_URL=PUBLIC))
    accepted = gateway.send(outgoing(41))
    [received] = fresh_twilio_stub.messages
    assert accepted.provider_id == received["sid"] and accepted.provider_id.startswith("SM")
    assert accepted.delivery_status == "queued"  # Twilio's 'accepted' (Messaging Service) is our 'queued'
    assert received["To"] == E164 and received["Body"] == TEXT
    assert received["MessagingServiceSid"] == MESSAGING_SERVICE_SID and "From" not in received
    assert received["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/status?m=41"
    assert received["Attempt"] == "1"


def test_twilio_sends_from_a_number_when_there_is_no_messaging_service_and_no_callback_without_public_url(
        fresh_twilio_stub):
    config = fresh_twilio_stub.app_config(TWILIO_MESSAGING_SERVICE_SID="", TWILIO_FROM_NUMBER="SXDKHANHHOA",
                                          PUBLIC_BASE_URL="")
    TwilioGateway(config).send(outgoing())
    [received] = fresh_twilio_stub.messages
    assert received["From"] == "SXDKHANHHOA" and "MessagingServiceSid" not in received
    assert "StatusCallback" not in received


@pytest.mark.parametrize(("mode", "code"), [("invalid", "21211"), ("unsubscribed", "21610")])
def test_a_refused_recipient_is_a_permanent_error_with_twilios_code_and_without_the_number(
        fresh_twilio_stub, mode, code):
    gateway = TwilioGateway(fresh_twilio_stub.app_config())
    fresh_twilio_stub.fail_next(mode)
    with pytest.raises(SendError) as raised:
        gateway.send(outgoing())
    assert raised.value.permanent and raised.value.error_code == code
    assert "905" not in raised.value.reason and code in raised.value.reason
    assert fresh_twilio_stub.requests == 1  # asked once: the client retried nothing


@pytest.mark.parametrize("mode", ["rate_limited", "server_error"])
def test_rate_limits_and_server_errors_are_transient_and_never_retried_by_the_client(fresh_twilio_stub, mode):
    gateway = TwilioGateway(fresh_twilio_stub.app_config())
    fresh_twilio_stub.fail_next(mode)
    with pytest.raises(SendError) as raised:
        gateway.send(outgoing())
    assert not raised.value.permanent
    assert fresh_twilio_stub.requests == 1 and fresh_twilio_stub.messages == []


def test_a_timeout_is_transient_and_the_client_does_not_send_again_by_itself(fresh_twilio_stub):
    gateway = TwilioGateway(fresh_twilio_stub.app_config(SMS_HTTP_TIMEOUT_SECONDS=1))
    fresh_twilio_stub.slow_seconds = 2
    fresh_twilio_stub.fail_next("slow")
    started = time.monotonic()
    with pytest.raises(SendError) as raised:
        gateway.send(outgoing())
    assert not raised.value.permanent and "Timeout" in raised.value.reason
    assert time.monotonic() - started < 1.8
    time.sleep(1.2)  # long enough for any retry to reach the stub
    assert fresh_twilio_stub.requests == 1 and len(fresh_twilio_stub.messages) == 1  # accepted once, answer lost


def test_a_wrong_auth_token_or_an_unreachable_api_is_transient(fresh_twilio_stub):
    with pytest.raises(SendError) as raised:
        TwilioGateway(fresh_twilio_stub.app_config(TWILIO_AUTH_TOKEN="wrong")).send(outgoing())
    assert not raised.value.permanent and "401" in raised.value.reason
    with pytest.raises(SendError) as raised:
        TwilioGateway(fresh_twilio_stub.app_config(TWILIO_API_BASE_URL="http://127.0.0.1:9")).send(outgoing())
    assert not raised.value.permanent and "unreachable" in raised.value.reason


def test_twilio_status_is_fetched_in_our_words(fresh_twilio_stub):
    gateway = TwilioGateway(fresh_twilio_stub.app_config())
    sid = gateway.send(outgoing()).provider_id
    assert gateway.fetch_status(sid) == ("queued", None)
    fresh_twilio_stub.set_status(sid, "undelivered", 30005)
    assert gateway.fetch_status(sid) == ("undelivered", "30005")
    fresh_twilio_stub.set_status(sid, "read")
    assert gateway.fetch_status(sid) == ("delivered", None)
    assert gateway.fetch_status("SM" + "0" * 32) is None


# --- the generic HTTP gateway ------------------------------------------------------------------------------

class JsonGateway:
    """A provider speaking the generic contract: POST {to, text, sender, reference, callback_url} -> {"id"}."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.answers: list[tuple[int, dict[str, Any], float]] = []
        self.statuses: dict[str, dict[str, Any]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.received.append((dict(self.headers), body))
                status, payload, delay = owner.answers.pop(0) if owner.answers else (
                    200, {"id": f"vn-{len(owner.received)}", "status": "queued"}, 0)
                time.sleep(delay)
                self.reply(status, payload)

            def do_GET(self) -> None:  # noqa: N802
                found = owner.statuses.get(self.path.rsplit("/", 1)[-1])
                self.reply(200, found) if found else self.reply(404, {"error": "unknown"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"


@pytest.fixture
def json_gateway() -> Iterator[JsonGateway]:
    gateway = JsonGateway()
    yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()


def http_config(url: str, **extra: Any) -> dict[str, Any]:
    return {"SMS_HTTP_URL": url, "SMS_HTTP_TOKEN": "tok-123", "SMS_HTTP_SECRET": "s3cret", "PUBLIC_BASE_URL": PUBLIC,
            "SMS_HTTP_TIMEOUT_SECONDS": 15, **extra}


def test_the_generic_gateway_posts_the_documented_json_with_the_bearer_token(json_gateway):
    accepted = HttpGateway(http_config(json_gateway.url)).send(outgoing(77, sender_name="SXD KHANHHOA"))
    assert accepted == Accepted("vn-1", "queued")
    [(headers, body)] = json_gateway.received
    assert headers["Authorization"] == "Bearer tok-123" and headers["Idempotency-Key"] == "outbox-77"
    assert body == {"to": E164, "text": TEXT, "sender": "SXD KHANHHOA", "reference": "77",
                    "callback_url": f"{PUBLIC}/webhooks/sms/status"}


def test_the_generic_gateway_4xx_is_permanent_5xx_and_timeouts_transient_none_retried(json_gateway):
    gateway = HttpGateway(http_config(json_gateway.url, SMS_HTTP_TIMEOUT_SECONDS=1))
    json_gateway.answers = [(422, {"error_code": "INVALID_MSISDN"}, 0), (503, {}, 0), (200, {"id": "late"}, 2),
                            (200, {"nothing": True}, 0)]
    with pytest.raises(SendError) as raised:
        gateway.send(outgoing())
    assert raised.value.permanent and raised.value.error_code == "INVALID_MSISDN"
    with pytest.raises(SendError) as raised:
        gateway.send(outgoing())
    assert not raised.value.permanent and "503" in raised.value.reason
    with pytest.raises(SendError) as raised:
        gateway.send(outgoing())
    assert not raised.value.permanent and "Timeout" in raised.value.reason
    time.sleep(1.2)
    with pytest.raises(SendError, match="without an id"):
        gateway.send(outgoing())
    assert len(json_gateway.received) == 4  # one request per send


def test_the_generic_gateway_status_look_up(json_gateway):
    gateway = HttpGateway(http_config(json_gateway.url))
    json_gateway.statuses["vn-9"] = {"id": "vn-9", "status": "UNDELIVERED", "error_code": "EXPIRED"}
    json_gateway.statuses["vn-10"] = {"id": "vn-10", "status": "lost in space"}
    assert gateway.fetch_status("vn-9") == ("undelivered", "EXPIRED")
    assert gateway.fetch_status("vn-10") is None  # not one of the five words
    assert gateway.fetch_status("vn-404") is None


def test_the_console_logs_the_message_and_nothing_leaves(caplog):
    with caplog.at_level(logging.WARNING, logger="feedback_app.sms"):
        accepted = ConsoleSmsGateway().send(outgoing(5))
    assert accepted == Accepted("console-5", "sent")
    assert E164 in caplog.text and TEXT in caplog.text


def test_the_gateway_follows_the_configuration(fresh_twilio_stub, json_gateway):
    assert isinstance(sms_gateway({}), ConsoleSmsGateway)
    assert isinstance(sms_gateway(http_config(json_gateway.url)), HttpGateway)
    assert isinstance(sms_gateway({**http_config(json_gateway.url), **fresh_twilio_stub.app_config()}),
                      TwilioGateway)
    assert isinstance(Senders({}).for_channel("sms"), ConsoleSmsGateway)


# --- the worker on a real database ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sms_worker_app(app, tmp_root, twilio_stub):
    application = migrated_app(app.config["BACKEND"], tmp_root, "sms_gateways", OUTBOX_MAX_ATTEMPTS=3,
                               OUTBOX_BACKOFF_SECONDS=60, PUBLIC_BASE_URL=PUBLIC,
                               SMS_QUIET_HOURS="",  # the real send guard runs: no night in these tests
                               **twilio_stub.app_config())
    application.config["BACKEND"] = app.config["BACKEND"]
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def wapp(sms_worker_app, fresh_twilio_stub):
    yield sms_worker_app
    with sms_worker_app.app_context():
        for table in ("outbox_messages", "survey_invitations", "dossiers", "agency_sms_settings", "periodic_jobs"):
            db.session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        db.session.commit()
        db.session.remove()


def rows(application) -> list[OutboxMessage]:
    with application.app_context():
        found = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def invitation_for(agency_id: int, phone: str = PHONE) -> SurveyInvitation:
    """A returned dossier and its scheduled invitation (flushed)."""
    dossier = Dossier(code=f"H-{utcnow().timestamp()}", agency_id=agency_id, procedure_name="Cấp giấy phép xây dựng",
                      phone=phone, received_date=date(2026, 11, 2), appointment_date=date(2026, 11, 20),
                      returned_date=date(2026, 11, 19), status="returned")
    db.session.add(dossier)
    db.session.flush()
    invitation = SurveyInvitation(dossier_id=dossier.id, agency_id=agency_id, channel="in_person", status="scheduled")
    db.session.add(invitation)
    db.session.flush()
    return invitation


def test_the_worker_sends_an_sms_through_twilio_and_records_provider_id_status_and_the_invitation(
        wapp, fresh_twilio_stub):
    with wapp.app_context():
        agency = factories.unit("Sở Xây dựng", "so")
        db.session.add(AgencySmsSettings(agency_id=agency.id, sender_name="SXD KH"))
        invitation = invitation_for(agency.id)
        enqueue_sms(PHONE, TEXT, kind="survey_invitation", agency_id=agency.id, entity=invitation)
        enqueue_email("nguyenvananh@example.vn", "Tiêu đề", "Nội dung", kind="pakn_receipt")
        db.session.commit()
        invitation_id = invitation.id
    result = run_once(wapp).messages
    assert (result.sent, result.retried, result.dead) == (2, 0, 0), (result, rows(wapp))
    sms, mail = sorted(rows(wapp), key=lambda r: r.channel != "sms")
    [received] = fresh_twilio_stub.messages
    assert (sms.status, sms.provider, sms.provider_id, sms.delivery_status) == ("sent", "twilio", received["sid"],
                                                                                "queued")
    assert sms.recipient == "0905123456" and received["To"] == E164
    assert received["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/status?m={sms.id}"
    assert (mail.status, mail.provider, mail.delivery_status) == ("sent", None, None)  # e-mail as before
    with wapp.app_context():
        invitation = db.session.get(SurveyInvitation, invitation_id)
        assert invitation.status == "sent" and invitation.sent_at is not None and invitation.delivered_at is None


def test_a_permanent_refusal_is_dead_at_once_with_the_code_and_a_transient_one_waits(wapp, fresh_twilio_stub):
    with wapp.app_context():
        enqueue_sms("0905000001", TEXT, kind="survey_invitation")
        enqueue_sms("0905000002", TEXT, kind="survey_invitation")
        db.session.commit()
    fresh_twilio_stub.fail_next("invalid")
    fresh_twilio_stub.fail_next("server_error")
    result = run_once(wapp).messages
    assert (result.sent, result.retried, result.dead) == (0, 1, 1)
    dead, failed = rows(wapp)
    assert (dead.status, dead.error_code, dead.provider, dead.attempts) == ("dead", "21211", "twilio", 1)
    assert "0905000001" not in (dead.last_error or "")
    assert failed.status == "failed" and failed.error_code is None and "500" in failed.last_error
    assert as_utc(failed.available_at) > utcnow() + timedelta(seconds=50)
    assert fresh_twilio_stub.requests == 2 and fresh_twilio_stub.messages == []


def test_the_send_guard_holds_a_message_without_counting_the_attempt_or_cancels_it(wapp, fresh_twilio_stub,
                                                                                      monkeypatch):
    with wapp.app_context():
        later = enqueue_sms("0905000001", TEXT, kind="survey_invitation")
        stopped = enqueue_sms("0905000002", TEXT, kind="survey_invitation")
        free = enqueue_sms("0905000003", TEXT, kind="survey_invitation")
        db.session.commit()
        ids = (later.id, stopped.id, free.id)
    morning = (utcnow() + timedelta(hours=9)).replace(microsecond=0)
    asked: list[int] = []

    def before_send(message_id: int) -> guard.Hold | None:
        asked.append(message_id)
        return {ids[0]: guard.Hold(until=morning), ids[1]: guard.Hold(cancel_reason="opted_out")}.get(message_id)

    monkeypatch.setattr(guard, "before_send", before_send)
    result = run_once(wapp).messages
    assert (result.sent, result.held, result.cancelled) == (1, 1, 1)
    assert sorted(asked) == sorted(ids)
    held, cancelled, sent = rows(wapp)
    assert (held.status, held.attempts, as_utc(held.available_at), held.locked_by) == ("pending", 0, morning, None)
    assert (cancelled.status, cancelled.last_error) == ("cancelled", "opted_out")
    assert sent.status == "sent"
    assert [m["To"] for m in fresh_twilio_stub.messages] == ["+84905000003"]
    assert run_once(wapp).messages.claimed == 0  # the held one waits for its morning


def test_a_guard_that_holds_until_now_does_not_spin_the_worker(wapp, fresh_twilio_stub, monkeypatch):
    with wapp.app_context():
        enqueue_sms("0905000001", TEXT, kind="survey_invitation")
        db.session.commit()
    monkeypatch.setattr(guard, "before_send", lambda _id: guard.Hold(until=utcnow() - timedelta(hours=1)))
    assert run_once(wapp).messages.held == 1
    [row] = rows(wapp)
    assert row.status == "pending" and row.attempts == 0


def test_the_generic_gateway_gets_the_agencys_sender_name_else_the_installations(wapp, json_gateway):
    with wapp.app_context():
        agency = factories.unit("Sở Y tế", "so")
        other = factories.unit("Sở Tư pháp", "so")
        db.session.add(AgencySmsSettings(agency_id=agency.id, sender_name="SOYTE KH"))
        enqueue_sms(PHONE, TEXT, kind="survey_invitation", agency_id=agency.id)
        enqueue_sms(PHONE, TEXT, kind="survey_invitation", agency_id=other.id)
        db.session.commit()
    overrides = {"TWILIO_ACCOUNT_SID": "", **http_config(json_gateway.url), "SMS_SENDER_NAME": "KHANHHOA"}
    saved = {key: wapp.config[key] for key in overrides}
    wapp.config.update(overrides)
    try:
        assert run_once(wapp).messages.sent == 2
    finally:
        wapp.config.update(saved)
    assert [body["sender"] for _headers, body in json_gateway.received] == ["SOYTE KH", "KHANHHOA"]
    first, second = rows(wapp)
    assert (first.provider, first.provider_id, second.provider_id) == ("http", "vn-1", "vn-2")


# --- production refuses a gateway half configured --------------------------------------------------------------

GATEWAY_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM_NUMBER",
                    "TWILIO_API_BASE_URL", "SMS_HTTP_URL", "SMS_HTTP_TOKEN", "SMS_HTTP_SECRET", "SMS_SENDER_NAME")
TWILIO_FULL = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32,
               "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}
GENERIC_FULL = {"SMS_HTTP_URL": "https://sms.example.vn/v1/messages", "SMS_HTTP_TOKEN": "tok",
                "SMS_HTTP_SECRET": "sec"}


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://danhgia.khanhhoa.gov.vn")
    for name in GATEWAY_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def with_settings(**values: str) -> dict[str, str]:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        from config import ProductionConfig

        return ProductionConfig.validate()

    return with_settings


@pytest.mark.parametrize(("settings", "complaint"), [
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}, "TWILIO_MESSAGING_SERVICE_SID or"),
    ({"TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_FROM_NUMBER": "+15005550006"}, "TWILIO_ACCOUNT_SID"),
    ({"SMS_HTTP_URL": "https://sms.example.vn/v1/messages", "SMS_HTTP_SECRET": "sec"}, "SMS_HTTP_TOKEN"),
    ({"SMS_HTTP_URL": "https://sms.example.vn/v1/messages", "SMS_HTTP_TOKEN": "tok"}, "SMS_HTTP_SECRET"),
    ({"SMS_HTTP_SECRET": "sec"}, "SMS_HTTP_URL"),
    ({**TWILIO_FULL, **GENERIC_FULL}, "one SMS gateway"),
    ({**GENERIC_FULL, "SMS_HTTP_URL": "http://sms.example.vn/v1"}, "https"),
    ({**GENERIC_FULL, "SMS_HTTP_URL": "sms.example.vn/v1"}, "absolute"),
    ({**TWILIO_FULL, "SMS_SENDER_NAME": "SO XAY DUNG KH"}, "11 characters"),
])
def test_production_refuses_a_gateway_half_configured(production_env, settings, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        production_env(**settings)


def test_production_starts_with_one_whole_gateway_or_none(production_env):
    assert "TWILIO_ACCOUNT_SID" not in production_env()
    assert production_env(**TWILIO_FULL)["TWILIO_AUTH_TOKEN"] == "t" * 32


def test_production_takes_the_generic_gateway_and_a_local_relay(production_env):
    checked = production_env(**GENERIC_FULL, SMS_SENDER_NAME="SXD KHHOA")
    assert checked["SMS_HTTP_URL"] == GENERIC_FULL["SMS_HTTP_URL"]
    assert production_env(SMS_HTTP_URL="http://127.0.0.1:8088/sms")["SMS_HTTP_URL"] == "http://127.0.0.1:8088/sms"


def test_a_guard_that_raises_sends_nothing_and_the_message_is_retried(wapp, fresh_twilio_stub, monkeypatch):
    with wapp.app_context():
        enqueue_sms("0905000001", TEXT, kind="survey_invitation")
        db.session.commit()

    def broken(_message_id: int) -> guard.Hold | None:
        raise KeyError("a rule's bug")

    monkeypatch.setattr(guard, "before_send", broken)
    result = run_once(wapp).messages
    assert (result.sent, result.retried) == (0, 1)
    [row] = rows(wapp)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "KeyError")
    assert fresh_twilio_stub.requests == 0
