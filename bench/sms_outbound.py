"""Outbound SMS throughput: `flask worker` processes draining the outbox into the Twilio stub, on PostgreSQL.

    .venv/bin/python bench/sms_outbound.py [--messages 5000] [--workers 1,2] [--batch-size 50] [--profile]

Prepares `feedback_bench_sms_out` (dropped and recreated, migrated; one agency with its SMS settings so the send
guard reads real rows), starts the Twilio stub of tests/twilio_stub.py (the real `twilio` client talks to it over
HTTP on loopback), and for each worker count: queues --messages invitations to distinct phones, runs VACUUM
ANALYZE, starts that many `flask worker` processes with production-like settings (Twilio configured, no quiet
hours), and times the drain from the first message the stub receives to the last row marked 'sent'. Then checks:
every row 'sent' with a Twilio id, every outbox id received by the stub exactly once (none lost, none twice).
Prints messages/s and writes bench/results/<UTC time>-sms-outbound.json. --profile runs one worker in this
process under cProfile instead (where the time goes). See bench/README.md, "Outbound SMS".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench_sms_out"
PUBLIC = "https://danhgia.khanhhoa.gov.vn"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.servers import cpu_seconds, machine_busy_seconds, postgres_pids  # noqa: E402 - after the path set-up
from tests.twilio_stub import TwilioStub  # noqa: E402


def prepare_database(url: str) -> None:
    """A fresh, migrated database (local, its name containing 'bench': it is dropped first)."""
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    if not target.drivername.startswith("postgresql") or target.host not in ("127.0.0.1", "localhost"):
        raise SystemExit("the benchmark only runs against a local PostgreSQL (127.0.0.1)")
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", target.database or ""):
        raise SystemExit("the benchmark drops and recreates its database: its name must contain 'bench'")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade()


def make_app(url: str, **overrides: Any) -> Any:
    from feedback_app import create_app

    return create_app("development", SQLALCHEMY_DATABASE_URI=url, SMS_QUIET_HOURS="", **overrides)


def queue_messages(url: str, count: int) -> int:
    """`count` survey invitations of one agency (with its sender name) in the outbox; returns the agency id."""
    import sqlalchemy as sa

    from feedback_app.extensions import db
    from feedback_app.models import AgencySmsSettings, OrgUnit, OutboxMessage
    from feedback_app.outbox import enqueue_sms

    app = make_app(url)
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        agency = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "BENCH-SMS"))
        if agency is None:
            agency = OrgUnit(name="Sở Xây dựng (bench)", code="BENCH-SMS", unit_type="so")
            db.session.add(agency)
            db.session.flush()
            db.session.add(AgencySmsSettings(agency_id=agency.id, sender_name="SXD KHHOA"))
        for n in range(count):
            enqueue_sms(f"09{n:08d}", f"So Xay dung Khanh Hoa moi ong/ba danh gia: {PUBLIC}/s/Ab3dE9xQ{n:06d}. "
                        "Tra loi 1-5 hoac HUY", kind="survey_invitation", agency_id=agency.id)
            if n % 1000 == 999:
                db.session.commit()
        db.session.commit()
        agency_id = agency.id
        db.session.remove()
        db.engine.dispose()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return agency_id


def sent_count(engine: Any) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT count(*) FROM outbox_messages WHERE status = 'sent'")))


def worker_env(url: str, stub: TwilioStub, batch_size: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "SMS_", "OUTBOX_"))}
    env.update(stub.env(PUBLIC_BASE_URL=PUBLIC), APP_ENV="development", FLASK_APP="wsgi", FLASK_SKIP_DOTENV="1",
               DATABASE_URL=url, SECRET_KEY="b" * 48, WORKER_IN_PROCESS="0", SMS_QUIET_HOURS="",
               OUTBOX_BATCH_SIZE=str(batch_size), WORKER_POLL_SECONDS="1",
               PYTHONFAULTHANDLER="1")  # a worker that will not stop is sent SIGABRT: its stacks go to its log
    return env


def run(url: str, stub: TwilioStub, messages: int, workers: int, batch_size: int, logs: Path) -> dict[str, Any]:
    import sqlalchemy as sa

    queue_messages(url, messages)
    stub.reset()
    engine = sa.create_engine(url)
    database = sa.engine.make_url(url).database
    procs = []
    cpu_before = {"postgres": cpu_seconds(postgres_pids(database)), "stub_and_bench": time.process_time(),
                  "machine": machine_busy_seconds()}
    started = time.monotonic()
    for n in range(workers):
        log = (logs / f"worker{workers}-{n}.log").open("wb")
        procs.append(subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT,
                                      env=worker_env(url, stub, batch_size), stdout=log, stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 600
        while sent_count(engine) < messages:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the workers stopped or took too long; see {logs}")
            time.sleep(0.05)
        finished = time.monotonic()
        # Before the workers exit (their CPU and their database backends' vanish with them).
        cpu = {"workers": cpu_seconds([p.pid for p in procs]),
               "postgres": cpu_seconds(postgres_pids(database)) - cpu_before["postgres"],
               "stub_and_bench": time.process_time() - cpu_before["stub_and_bench"],
               "machine": machine_busy_seconds() - cpu_before["machine"]}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"  worker {proc.pid} did not stop on SIGTERM within 15 s: its stacks are in {logs}")
                proc.send_signal(signal.SIGABRT)
                proc.wait(timeout=15)
    first = min(m["received_at"] for m in stub.messages)
    references = stub.references()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, provider, provider_id FROM outbox_messages")).all()
    engine.dispose()
    ids = {row.id for row in rows}
    problems = []
    if set(references) != ids:
        problems.append(f"{len(ids - set(references))} messages never reached the stub")
    if any(count > 1 for count in references.values()):
        problems.append(f"{sum(c - 1 for c in references.values())} messages sent twice")
    if any(row.status != "sent" or row.provider != "twilio" or not row.provider_id for row in rows):
        problems.append("rows not all 'sent' with a Twilio id")
    seconds = finished - first
    return {"workers": workers, "messages": messages, "batch_size": batch_size,
            "drain_seconds": round(seconds, 3), "messages_per_second": round(messages / seconds, 1),
            "wall_seconds_with_startup": round(finished - started, 3), "stub_requests": stub.requests,
            "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
            "cpu_ms_per_message": {k: round(v * 1000 / messages, 2) for k, v in cpu.items()},
            "machine_cores_busy": round(cpu["machine"] / (finished - started), 2), "problems": problems}


def profile(url: str, stub: TwilioStub, messages: int, batch_size: int) -> None:
    """One drain in this process under cProfile: where a worker's time goes."""
    import cProfile
    import pstats

    from feedback_app.outbox.runner import run_once

    queue_messages(url, messages)
    stub.reset()
    app = make_app(url, OUTBOX_BATCH_SIZE=batch_size, PUBLIC_BASE_URL=PUBLIC, **stub.app_config())
    profiler = cProfile.Profile()
    started = time.monotonic()
    profiler.enable()
    result = run_once(app)
    profiler.disable()
    seconds = time.monotonic() - started
    print(f"profile: {result.messages.sent} sent in {seconds:.2f} s ({result.messages.sent / seconds:.0f}/s)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", default="1,2", help="worker process counts, one run each")
    parser.add_argument("--batch-size", type=int, default=50, help="OUTBOX_BATCH_SIZE")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--profile", action="store_true", help="one worker in this process, under cProfile")
    args = parser.parse_args()

    prepare_database(args.database_url)
    stub = TwilioStub().start()
    try:
        if args.profile:
            profile(args.database_url, stub, args.messages, args.batch_size)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        logs = RESULTS / f"{stamp}-sms-outbound-logs"
        logs.mkdir(parents=True, exist_ok=True)
        runs = []
        for count in (int(n) for n in args.workers.split(",")):
            result = run(args.database_url, stub, args.messages, count, args.batch_size, logs)
            runs.append(result)
            per = result["cpu_ms_per_message"]
            print(f"{count} worker(s): {result['messages']} messages in {result['drain_seconds']:.2f} s = "
                  f"{result['messages_per_second']:.0f} messages/s (with start-up "
                  f"{result['wall_seconds_with_startup']:.1f} s); CPU ms per message: workers {per['workers']}, "
                  f"PostgreSQL {per['postgres']}, stub {per['stub_and_bench']}, whole machine {per['machine']} "
                  f"({result['machine_cores_busy']} cores busy); "
                  + ("PROBLEMS: " + "; ".join(result["problems"]) if result["problems"] else "none lost, none twice"))
        out = RESULTS / f"{stamp}-sms-outbound.json"
        machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()}
        out.write_text(json.dumps({"when": stamp, "machine": machine, "runs": runs}, indent=2))
        print(f"written {out.relative_to(ROOT)}")
        if any(r["problems"] for r in runs):
            raise SystemExit(1)
    finally:
        stub.stop()


if __name__ == "__main__":
    main()
