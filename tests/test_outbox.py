"""The outbox: written with the change that causes it, sent by `flask worker` over real SMTP, retried, shared
by several workers; periodic jobs; staff notifications and the administrators' outbox page."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Notification, OutboxMessage, PeriodicJobState
from feedback_app.outbox import enqueue_email, notify_user, register_periodic
from feedback_app.outbox.masking import mask_recipient
from feedback_app.outbox.periodic import run_due_jobs, unregister_periodic
from feedback_app.outbox.senders import ConsoleSender, Senders, SmtpSender
from feedback_app.outbox.worker import claim
from feedback_app.timeutil import as_utc, utcnow

from . import factories
from .conftest import migrated_app

SUBJECT = "Xác nhận tiếp nhận phản ánh, kiến nghị PA-2026-000123"
BODY = "Kính gửi ông Nguyễn Văn Ánh,\nSở Xây dựng tỉnh Khánh Hòa đã tiếp nhận phản ánh của ông.\nTrân trọng."
CITIZEN = "nguyenvananh@example.vn"


class Sink:
    """An SMTP server's handler that keeps what it receives, or answers 451 (try later) when failing."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.fail = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.fail:
            return "451 4.3.0 Mailbox of nguyenvananh@example.vn busy, try later"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def worker_app(app, tmp_root, smtp):
    """An app on its own database: the worker's transactions really commit, several connections see them."""
    application = migrated_app(app.config["BACKEND"], tmp_root, "outbox", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
                               SMTP_STARTTLS=False, MAIL_FROM="Sở Xây dựng <no-reply@sxd.example.vn>",
                               OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=60)
    application.config["BACKEND"] = app.config["BACKEND"]
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def wapp(worker_app, smtp):
    smtp.messages.clear()
    smtp.envelopes.clear()
    smtp.fail = False
    yield worker_app
    with worker_app.app_context():
        for table in ("outbox_messages", "notifications", "periodic_jobs"):
            db.session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        db.session.commit()
        db.session.remove()


def run_worker_once(application) -> str:
    result = application.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def rows(application) -> list[OutboxMessage]:
    with application.app_context():
        found = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def set_due_now(application) -> None:
    with application.app_context():
        db.session.execute(sa.update(OutboxMessage).values(available_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


# --- written in the transaction, sent once after commit ---------------------------------------------------

def test_a_rolled_back_change_sends_nothing_and_a_committed_one_is_sent_once(wapp, smtp):
    with wapp.app_context():
        enqueue_email(CITIZEN, "Không được gửi", "rolled back", kind="pakn_receipt")
        db.session.rollback()
        enqueue_email(CITIZEN, SUBJECT, BODY, kind="pakn_receipt")
        db.session.commit()
    assert run_worker_once(wapp).startswith("Messages sent: 1, to retry: 0, dead: 0")
    assert "Messages sent: 0" in run_worker_once(wapp)  # nothing twice
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received["Subject"] == SUBJECT  # encoded for the wire (RFC 2047), decoded back intact
    assert received.get_content().replace("\r\n", "\n").strip() == BODY  # CRLF on the wire
    assert received.get_content_type() == "text/plain" and received.get_content_charset() == "utf-8"
    assert received["To"] == CITIZEN and str(received["From"]) == "Sở Xây dựng <no-reply@sxd.example.vn>"
    assert smtp.envelopes == [("no-reply@sxd.example.vn", [CITIZEN])]
    [row] = rows(wapp)
    assert (row.status, row.attempts, row.locked_until) == ("sent", 1, None)
    assert row.sent_at is not None and row.provider_id == received["Message-ID"]


def test_a_dedupe_key_queues_one_message_and_leaves_the_transaction_usable(db_session, world):
    first = enqueue_email(CITIZEN, SUBJECT, BODY, kind="pakn_receipt", entity=world.agency, dedupe_key="receipt:1")
    assert first is not None and (first.entity_type, first.entity_id) == ("org_units", world.agency.id)
    assert enqueue_email(CITIZEN, SUBJECT, BODY, kind="pakn_receipt", dedupe_key="receipt:1") is None
    # The caller's own work in the same transaction survives the refused duplicate.
    user = factories.user("office", world.agency)
    assert notify_user(user.id, "PAKN mới", "/pakn/1", dedupe_key="new:1") is not None
    assert notify_user(user.id, "PAKN mới", "/pakn/1", dedupe_key="new:1") is None
    db_session.flush()
    assert db_session.scalar(select(func.count(OutboxMessage.id))) == 1
    assert db_session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id)) == 1


# --- failures, retries, crashes ------------------------------------------------------------------------------

def test_a_failing_server_is_retried_with_backoff_then_the_message_is_dead(wapp, smtp):
    smtp.fail = True
    with wapp.app_context():
        enqueue_email(CITIZEN, SUBJECT, BODY, kind="pakn_answer")
        db.session.commit()
    before = utcnow()
    assert "to retry: 1" in run_worker_once(wapp)
    [row] = rows(wapp)
    assert (row.status, row.attempts) == ("failed", 1)
    assert timedelta(seconds=55) <= as_utc(row.available_at) - before <= timedelta(seconds=70)  # 60 s
    assert "Messages sent: 0, to retry: 0" in run_worker_once(wapp)  # not due yet: not tried again
    assert rows(wapp)[0].attempts == 1

    set_due_now(wapp)
    before = utcnow()
    run_worker_once(wapp)
    [row] = rows(wapp)
    assert (row.status, row.attempts) == ("failed", 2)
    assert timedelta(seconds=115) <= as_utc(row.available_at) - before <= timedelta(seconds=130)  # doubled

    set_due_now(wapp)
    assert "dead: 1" in run_worker_once(wapp)
    [row] = rows(wapp)
    assert (row.status, row.attempts) == ("dead", 3)  # OUTBOX_MAX_ATTEMPTS
    assert row.last_error == "SMTPDataError 451"  # terse: the server's text quoted the address
    assert smtp.messages == []
    set_due_now(wapp)
    assert "Messages sent: 0" in run_worker_once(wapp)  # dead stays dead


def test_a_message_whose_worker_died_while_sending_is_claimed_again(wapp, smtp):
    with wapp.app_context():
        crashed = enqueue_email(CITIZEN, SUBJECT, BODY, kind="pakn_receipt")
        busy = enqueue_email("tranthib@example.vn", SUBJECT, BODY, kind="pakn_receipt")
        crashed.status, crashed.attempts, crashed.locked_by = "sending", 1, "dead-host:1:1"
        crashed.locked_until = utcnow() - timedelta(seconds=1)
        busy.status, busy.attempts, busy.locked_by = "sending", 1, "live-host:2:2"
        busy.locked_until = utcnow() + timedelta(minutes=5)  # another worker is sending it right now
        db.session.commit()
    assert "Messages sent: 1" in run_worker_once(wapp)
    crashed_row, busy_row = rows(wapp)
    assert (crashed_row.status, crashed_row.attempts) == ("sent", 2)
    assert (busy_row.status, busy_row.locked_by) == ("sending", "live-host:2:2")
    assert [m["To"] for m in smtp.messages] == [CITIZEN]


def test_concurrent_workers_never_claim_the_same_message(wapp):
    if wapp.config["BACKEND"] != "postgresql":
        pytest.skip("several workers share the outbox on PostgreSQL only (SQLite: one process)")
    with wapp.app_context():
        for n in range(60):
            enqueue_email(f"user{n}@example.vn", SUBJECT, BODY, kind="pakn_receipt")
        db.session.commit()
        ids = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        # A worker in the middle of its claim holds the oldest rows locked: another one skips them, at once.
        with db.engine.connect() as other:
            other.execute(sa.text("SELECT id FROM outbox_messages WHERE id IN :ids FOR UPDATE")
                          .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids[:5]})
            db.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            taken = claim(10, "second-worker")
            assert [m.id for m in taken] == ids[5:15]
            other.rollback()
        db.session.execute(sa.update(OutboxMessage).values(status="pending", locked_until=None, locked_by=None))
        db.session.commit()

    start = threading.Barrier(4)
    claimed: dict[str, list[int]] = {}

    def work(name: str) -> None:
        with wapp.app_context():
            start.wait(timeout=10)
            mine = claimed.setdefault(name, [])
            while batch := claim(3, name):
                mine.extend(m.id for m in batch)
            db.session.remove()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [i for mine in claimed.values() for i in mine]
    assert sorted(everything) == ids  # each message claimed exactly once
    assert sum(1 for mine in claimed.values() if mine) >= 2  # and they really shared the work


# --- periodic jobs -------------------------------------------------------------------------------------------

def test_a_periodic_job_runs_when_due_and_not_before(wapp, caplog):
    calls: list[str] = []

    def reminders() -> int:
        calls.append("ran")
        return 2

    def broken() -> int:
        raise RuntimeError("boom")

    register_periodic("test-reminders", 3600, reminders)
    register_periodic("test-broken", 3600, broken)
    try:
        with caplog.at_level(logging.ERROR, logger="feedback_app.outbox"):
            output = run_worker_once(wapp)
        assert "test-reminders: 2" in output and "test-broken: error" in output  # one error stops nothing
        assert any("test-broken" in r.getMessage() for r in caplog.records)
        assert calls == ["ran"]
        assert "test-reminders" not in run_worker_once(wapp)  # due again only in an hour
        assert calls == ["ran"]
        with wapp.app_context():
            state = db.session.get(PeriodicJobState, "test-reminders")
            assert (state.last_count, state.locked_by) == (2, None)
            assert timedelta(minutes=59) < as_utc(state.next_run_at) - utcnow() <= timedelta(hours=1)
            # Due now, but another worker holds it at this moment: not run here.
            state.next_run_at = utcnow() - timedelta(seconds=1)
            state.locked_by, state.locked_until = "other:1:1", utcnow() + timedelta(minutes=5)
            db.session.commit()
            assert "test-reminders" not in run_due_jobs("this:2:2", wapp.config)
            state = db.session.get(PeriodicJobState, "test-reminders")
            state.locked_by = state.locked_until = None
            db.session.commit()
            db.session.remove()
        assert "test-reminders: 2" in run_worker_once(wapp)
        assert calls == ["ran", "ran"]
    finally:
        unregister_periodic("test-reminders")
        unregister_periodic("test-broken")


# --- senders -------------------------------------------------------------------------------------------------

def test_without_smtp_host_mail_goes_to_the_console_and_no_worker_thread_runs_in_tests(client):
    assert isinstance(Senders({"SMTP_HOST": ""}).for_channel("email"), ConsoleSender)
    config = {"SMTP_HOST": "mail.example.vn", "SMTP_PORT": 587, "MAIL_FROM": "a@b.vn", "SMTP_STARTTLS": True}
    assert isinstance(Senders(config).for_channel("email"), SmtpSender)
    client.get("/")
    assert not [t for t in threading.enumerate() if t.name == "outbox-worker"]


# --- staff notifications ---------------------------------------------------------------------------------

def test_the_notifications_page_shows_only_my_notifications_and_marks_them_read(client, login_as, world):
    other = factories.user("office", world.agency)
    me = login_as("unit")
    mine = notify_user(me.id, "PAKN PA-2026-000001 được giao cho đơn vị", "/admin/")
    absolute = notify_user(me.id, "Liên kết ngoài", "https://evil.example/steal")
    sneaky = notify_user(me.id, "Liên kết lạ", "//evil.example/x")
    theirs = notify_user(other.id, "Việc của người khác", "/admin/")
    db.session.commit()

    page = client.get("/thong-bao/").get_data(as_text=True)
    assert "PAKN PA-2026-000001 được giao cho đơn vị" in page and "Việc của người khác" not in page
    assert "<strong>Liên kết ngoài</strong>" in page  # unread in bold
    assert '<strong class="badge"' in page and ">3</strong>" in page  # the nav's unread count

    token = factories.csrf_token(client, "/thong-bao/")
    response = client.post(f"/thong-bao/{mine.id}/mo", data={"csrf_token": token})
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/")
    assert db.session.get(Notification, mine.id).read_at is not None
    for foreign_link in (absolute, sneaky):
        response = client.post(f"/thong-bao/{foreign_link.id}/mo", data={"csrf_token": token})
        assert response.headers["Location"] == "/thong-bao/"  # never to another site
    assert client.post(f"/thong-bao/{theirs.id}/mo", data={"csrf_token": token}).status_code == 404
    assert db.session.get(Notification, theirs.id).read_at is None
    assert client.post(f"/thong-bao/{absolute.id}/mo", data={}).status_code == 400  # CSRF

    notify_user(me.id, "Thêm một việc")
    db.session.commit()
    assert client.post("/thong-bao/doc-het", data={"csrf_token": token}).status_code == 303
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == me.id, Notification.read_at.is_(None))) == 0
    assert db.session.get(Notification, theirs.id).read_at is None
    assert '<strong class="badge"' not in client.get("/thong-bao/").get_data(as_text=True)


def test_notifications_need_a_login(client, world):
    response = client.get("/thong-bao/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the administrators' outbox page -------------------------------------------------------------------------

def test_the_outbox_page_is_for_administrators_and_masks_recipients(client, login_as, world):
    message = enqueue_email(CITIZEN, SUBJECT, "Nội dung riêng tư của người dân", kind="pakn_answer")
    message.status, message.attempts, message.last_error = "dead", 8, "SMTPDataError 451"
    db.session.commit()
    login_as("office")
    assert client.get("/admin/outbox").status_code == 403
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/admin/")})

    admin = login_as("admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "ng***@example.vn" in page and CITIZEN not in page
    assert "Nội dung riêng tư" not in page and "SMTPDataError 451" in page
    assert "/admin/outbox" in client.get("/admin/").get_data(as_text=True)

    token = factories.csrf_token(client, "/admin/outbox")
    assert client.post(f"/admin/outbox/{message.id}/retry", data={}).status_code == 400
    assert client.post(f"/admin/outbox/{message.id}/retry", data={"csrf_token": token}).status_code == 303
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 0)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "outbox.retry"))
    assert event.user_id == admin.id and event.entity_id == str(message.id)


def test_recipients_are_masked():
    assert mask_recipient("nguyenvananh@example.vn") == "ng***@example.vn"
    assert mask_recipient("a@example.vn") == "a***@example.vn"
    assert mask_recipient("0912345678") == "09******78"
    assert mask_recipient(None) == "—"
