"""Worker durability: `flask worker` processes killed with SIGKILL at random moments while they send SMS to the
Twilio stub, restarted each time, until the outbox is empty. Every message reaches the stub, every row ends
'sent' with the id Twilio gave it, and a message goes out twice only when a worker died between Twilio's
acceptance and its own commit: at most one such message per kill (each worker sends one message at a time).

Runs on the real database of each backend (its own, freshly migrated), as part of `make test`. Importing the app
takes seconds on a busy machine, so a "zygote" process imports it once and forks each worker, which runs the
real `flask worker` command (its click command, signal handlers and loop) in a process of its own that holds its
own database connections and is killed with SIGKILL like any other.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import OutboxMessage
from feedback_app.outbox import enqueue_sms

from . import twilio_stub as stubs
from .conftest import migrated_app

twilio_stub = stubs.twilio_stub  # the stub's fixture, for this module

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 300
PUBLIC = "https://danhgia.khanhhoa.gov.vn"


@pytest.fixture(scope="module")
def durable_app(app, tmp_root):
    application = migrated_app(app.config["BACKEND"], tmp_root, "sms_durability")
    application.config["BACKEND"] = app.config["BACKEND"]
    yield application
    with application.app_context():
        db.engine.dispose()


def worker_env(application, stub: stubs.TwilioStub) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "SMS_", "OUTBOX_"))}
    env.update(stub.env(PUBLIC_BASE_URL=PUBLIC), APP_ENV="development", FLASK_APP="wsgi", FLASK_SKIP_DOTENV="1",
               DATABASE_URL=application.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="d" * 48,
               WORKER_IN_PROCESS="0", SMS_QUIET_HOURS="",  # no night: the guard runs its other rules
               OUTBOX_LOCK_SECONDS="2",  # a dead worker's claims are taken over after 2 s
               OUTBOX_BATCH_SIZE="4", WORKER_POLL_SECONDS="1", OUTBOX_BACKOFF_SECONDS="1")
    return env


# Reads "fork" lines on stdin; for each, forks a child that runs `flask worker` and prints the child's pid.
ZYGOTE = """
import os, signal, sys
from flask.cli import ScriptInfo
from wsgi import app
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(log, 1)
        os.dup2(log, 2)
        code = 0
        try:
            app.cli.main(args=["worker"], prog_name="flask", obj=ScriptInfo(create_app=lambda: app))
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        os._exit(code)
    print(pid, flush=True)
"""


class Workers:
    """`flask worker` processes forked from one process that imported the app."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE, str(log)], cwd=ROOT, env=env,  # noqa: S603
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pids: list[int] = []

    def start(self) -> int:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write("fork\n")
        self.zygote.stdin.flush()
        line = self.zygote.stdout.readline()
        assert line.strip().isdigit(), f"the zygote died: {self.tail()}"
        self.pids.append(int(line))
        return self.pids[-1]

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, pid: int, sig: int = signal.SIGKILL, timeout: float = 20) -> None:
        os.kill(pid, sig)
        end = time.monotonic() + timeout
        while self.alive(pid):
            assert time.monotonic() < end, f"worker {pid} did not stop: {self.tail()}"
            time.sleep(0.01)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def close(self) -> None:
        for pid in self.pids:
            if self.alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.zygote.kill()
        self.zygote.wait()


def statuses(application) -> Counter[str]:
    with application.app_context():
        found = Counter(dict(db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()))
        db.session.remove()
        return found


def test_workers_killed_at_random_moments_lose_no_sms_and_duplicate_at_most_one_per_kill(
        durable_app, twilio_stub, tmp_path):
    twilio_stub.reset()
    twilio_stub.delay_seconds = 0.01  # the answer comes 10 ms after the acceptance: kills land in that window too
    with durable_app.app_context():
        for n in range(MESSAGES):
            enqueue_sms(f"0905{n:06d}", f"Sở Xây dựng Khánh Hòa: tin nhắn thử số {n}", kind="survey_invitation")
        db.session.commit()
        ids = set(db.session.scalars(select(OutboxMessage.id)))
        db.session.remove()
    env, log = worker_env(durable_app, twilio_stub), tmp_path / "worker.log"
    seed = int(os.environ.get("DURABILITY_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    planned_kills = rng.randint(8, 12)
    kills = 0
    deadline = time.monotonic() + 90
    workers = Workers(env, log)
    try:
        while kills < planned_kills and time.monotonic() < deadline:
            pid = workers.start()
            goal = len(twilio_stub.messages) + rng.randint(1, 25)
            while len(twilio_stub.messages) < goal and workers.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.005)
            assert workers.alive(pid), workers.tail()
            time.sleep(rng.uniform(0, 0.03))  # anywhere: between claims, mid-request, before the commit
            workers.stop(pid)
            kills += 1
        pid = workers.start()  # the last one is left to finish
        while statuses(durable_app).get("sent", 0) < MESSAGES and time.monotonic() < deadline:
            assert workers.alive(pid), workers.tail()
            time.sleep(0.2)
        workers.stop(pid)  # everything is sent: nothing left to lose
    finally:
        workers.close()

    assert kills == planned_kills, f"seed {seed}: the messages were all sent before the kills"
    assert statuses(durable_app) == Counter({"sent": MESSAGES}), workers.tail()
    received = twilio_stub.references()
    assert set(received) == ids  # none lost, nothing foreign
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= kills, f"seed {seed}: {duplicates} duplicates after {kills} kills"
    sids = {message["sid"]: message["StatusCallback"] for message in twilio_stub.messages}
    with durable_app.app_context():
        for message_id, provider, provider_id in db.session.execute(
                select(OutboxMessage.id, OutboxMessage.provider, OutboxMessage.provider_id)):
            # The id kept is one Twilio gave for this very message (a duplicate's other id: reconciled by reports).
            assert provider == "twilio" and sids[provider_id].endswith(f"?m={message_id}")
        db.session.execute(sa.text("DELETE FROM outbox_messages"))
        db.session.commit()
        db.session.remove()
    print(f"seed {seed}: {kills} kills, {duplicates} duplicates, {received.total()} sends for {MESSAGES} messages")  # noqa: T201
