"""Load benchmark of the survey submission path: the full app against a bare one-row insert.

    .venv/bin/python bench/run.py [--requests 3000] [--concurrency 8] [--workers 4]

1. (Re)creates the database feedback_bench on the local PostgreSQL, migrates it, loads the demo
   data and creates the bare app's table.
2. Starts the full app (wsgi:app, production settings) and bench/bare_app.py under gunicorn with
   the same worker count, on 127.0.0.1.
3. Warms both up, then drives them in interleaved rounds with a small stdlib load generator
   (threads + http.client), bounded in requests and in time: the full app through the kiosk
   JSON submit (POST /k/<code>/submit with the session cookie and X-CSRFToken from
   GET /k/<code>/token), the bare app through POST /submit with the same body.
4. Checks the database holds exactly the acknowledged rows, prints a table, writes JSON to
   bench/results/, and stops both servers (also on errors or Ctrl-C).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import platform
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- database


@dataclass
class Fixture:
    """What the load generator needs to build a valid kiosk submission."""

    counter_code: str
    version_id: int
    scale_questions: list[int]
    scale_values: list[int]


def prepare_database(url: str, counter_code: str) -> Fixture:
    """A fresh database: migrated, demo data loaded, bare table created."""
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

    from bench.bare_app import create_table
    from feedback_app import create_app
    from feedback_app.demo import load_demo_data
    from feedback_app.extensions import db
    from feedback_app.kiosk.services import UnknownCounter, active_counter, questionnaire_for

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        summary = load_demo_data()
        db.session.commit()
        try:
            counter = active_counter(counter_code)
        except UnknownCounter:
            raise SystemExit(f"no active counter {counter_code} in the demo data") from None
        version = questionnaire_for(counter)
        if version is None:
            raise SystemExit(f"counter {counter_code} has no published questionnaire")
        fixture = Fixture(
            counter_code=counter.code,
            version_id=version.id,
            scale_questions=[q.id for q in version.questions if q.is_scale],
            scale_values=sorted(version.scale_values()),
        )
        db.session.remove()
        db.engine.dispose()
    # Fresh statistics after the bulk load, as a database in service would have.
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    create_table(url)
    print(f"  database {target.database}: {summary}")
    return fixture


def count_rows(url: str) -> dict[str, int]:
    """Rows the benchmark stored: kiosk responses (not demo), their answers, flagged ones, bare rows."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {
            "responses": conn.scalar(sa.text("SELECT count(*) FROM responses WHERE NOT is_demo")),
            "answers": conn.scalar(sa.text(
                "SELECT count(*) FROM answers a JOIN responses r ON r.id = a.response_id WHERE NOT r.is_demo")),
            "flagged": conn.scalar(sa.text(
                "SELECT count(*) FROM responses WHERE NOT is_demo AND review_status = 'pending'")),
            "bare_rows": conn.scalar(sa.text("SELECT count(*) FROM bench_bare_submissions")),
        }
    engine.dispose()
    return counts


def database_name(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).database or ""


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    app_spec: str
    port: int
    env: dict[str, str]
    workers: int
    log: Path
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
               "--chdir", str(ROOT), "--log-level", "warning", "--error-logfile", str(self.log), self.app_spec]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited; see {self.log}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: not ready after {timeout:.0f} s; see {self.log}:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        return [pid for pid, ppid, _comm in processes() if ppid == self.proc.pid]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown of master and workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session, started above
            self.proc.wait(timeout=5)
        if self.log.exists() and self.log.stat().st_size == 0:
            self.log.unlink()  # nothing went wrong: keep results/ readable

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------- CPU accounting


def processes() -> list[tuple[int, int, str]]:
    """(pid, ppid, comm) of every process we can see."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1: stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        found.append((int(entry.name), ppid, comm))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL's shared processes (WAL writer, checkpointer...) and the backends of our database only:
    other projects' sessions on the same server are background load, not ours."""
    pids = []
    for pid, _ppid, comm in processes():
        if not comm.startswith("postgres"):
            continue
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "(" not in title or f" {database} " in title:  # client backends show "user db host(port) state"
            pids.append(pid)
    return pids


def machine_busy_seconds() -> float:
    """CPU time used by everything on the machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def cpu_snapshot(server: Server, database: str) -> dict[str, float]:
    return {
        "server": cpu_seconds(server.worker_pids()),
        "postgres": cpu_seconds(postgres_pids(database)),  # a backend lives as long as its pooled connection
        "client": time.process_time(),
        "machine": machine_busy_seconds(),
    }


# --------------------------------------------------------------------------- load generator


@dataclass
class Target:
    """One app under load: how each client thread starts and what each request is."""

    name: str
    server: Server
    database: str
    path: str
    body_for: Callable[[str], bytes]
    session_setup: Callable[[http.client.HTTPConnection], dict[str, str]] = lambda _conn: {}


class SourceAddresses:
    """Each new connection comes from its own loopback address (127.100.a.b), as submissions from many
    kiosks and phones do; with `single` every one comes from 127.0.0.1 (one address, one client key)."""

    def __init__(self, single: bool) -> None:
        self.single = single
        self.numbers = itertools.count()

    def next(self) -> tuple[str, int] | None:
        if self.single:
            return None
        n = next(self.numbers) % (250 * 250)
        return (f"127.100.{n // 250 + 1}.{n % 250 + 1}", 0)


@dataclass
class PhaseResult:
    target: str
    requests: int = 0
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)


def run_phase(target: Target, requests: int, concurrency: int, max_seconds: float,
              addresses: SourceAddresses) -> PhaseResult:
    """Send `requests` submissions from `concurrency` threads, stopping early after `max_seconds`."""
    result = PhaseResult(target.name)
    lock = threading.Lock()
    ticket = itertools.count()
    ready = threading.Barrier(concurrency + 1)  # every client has its session
    start_gate = threading.Barrier(concurrency + 1)  # the CPU counters are read: go
    deadline = [math.inf]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", target.server.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json", **target.session_setup(conn)}
        except Exception as error:  # a client that cannot start counts its requests as errors below
            headers = None
            setup_error = f"session setup: {error!r}"
        ready.wait()
        start_gate.wait()
        latencies, errors, samples, ok = [], 0, [], 0
        while time.perf_counter() < deadline[0] and next(ticket) < requests:
            if headers is None:
                errors += 1
                if len(samples) < 5:
                    samples.append(setup_error)
                continue
            body = target.body_for(uuid.uuid4().hex)
            if conn.sock is None:  # gunicorn's sync workers close every connection: a new one each time
                conn.source_address = addresses.next()
            began = time.perf_counter()
            try:
                conn.request("POST", target.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                status, data = None, repr(error).encode()
            latencies.append((time.perf_counter() - began) * 1000)
            if status == 201:
                ok += 1
            else:
                errors += 1
                if len(samples) < 5:
                    samples.append(f"{status}: {data[:300].decode(errors='replace')}")
        conn.close()
        with lock:
            result.ok += ok
            result.errors += errors
            result.latencies_ms.extend(latencies)
            result.error_samples.extend(samples[: max(0, 10 - len(result.error_samples))])

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=120)
    before = cpu_snapshot(target.server, target.database)
    start_gate.wait(timeout=120)
    began = time.perf_counter()
    deadline[0] = began + max_seconds
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - began
    after = cpu_snapshot(target.server, target.database)
    result.cpu = {k: after[k] - before[k] for k in before}
    result.requests = result.ok + result.errors
    return result


def kiosk_target(server: Server, database: str, fixture: Fixture) -> Target:
    """The realistic path: the kiosk page's JSON submit, one session and form token per client."""
    rng = random.Random(2640)
    answers = [{f"q{q}": str(rng.choice(fixture.scale_values[-2:])) for q in fixture.scale_questions}
               for _ in range(64)]

    def body_for(key: str) -> bytes:
        return json.dumps({"key": key, "version_id": fixture.version_id, "answers": random.choice(answers),
                           "lang": "vi"}).encode()

    def session_setup(conn: http.client.HTTPConnection) -> dict[str, str]:
        conn.request("GET", f"/k/{fixture.counter_code}/token")
        response = conn.getresponse()
        payload = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"token: HTTP {response.status}")
        cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
        return {"X-CSRFToken": payload["csrf_token"], "Cookie": "; ".join(cookies)}

    return Target("full", server, database, f"/k/{fixture.counter_code}/submit", body_for, session_setup)


def bare_target(server: Server, database: str, fixture: Fixture) -> Target:
    """The ceiling: the same body, one row inserted."""
    full = kiosk_target(server, database, fixture)
    return Target("bare", server, database, "/submit", full.body_for)


# --------------------------------------------------------------------------- report


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summarise(phases: list[PhaseResult]) -> dict[str, Any]:
    latencies = [v for p in phases for v in p.latencies_ms]
    ok = sum(p.ok for p in phases)
    elapsed = sum(p.elapsed for p in phases)
    cpu = {k: sum(p.cpu.get(k, 0.0) for p in phases) for k in ("server", "postgres", "client", "machine")}
    background = max(0.0, cpu["machine"] - cpu["server"] - cpu["postgres"] - cpu["client"])
    return {
        "requests": sum(p.requests for p in phases),
        "ok": ok,
        "errors": sum(p.errors for p in phases),
        "elapsed_s": round(elapsed, 3),
        "submissions_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies, default=math.nan), 2),
        "cpu_ms_per_submission": {k: round(1000 * cpu[k] / ok, 3) if ok else None
                                  for k in ("server", "postgres", "client")},
        # Everything else the machine ran meanwhile (other jobs, the kernel's share not billed to us).
        "background_cpu_pct": round(100 * background / (elapsed * (os.cpu_count() or 1)), 1) if elapsed else None,
        "rounds_per_s": [round(p.ok / p.elapsed, 1) if p.elapsed else 0.0 for p in phases],
        "error_samples": [s for p in phases for s in p.error_samples][:10],
    }


def print_table(results: dict[str, Any]) -> None:
    print()
    print(f"{'':5} {'requests':>8} {'errors':>6} {'subm/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
          f" {'bg cpu':>6}  CPU ms/submission: workers / postgres / client")
    for name in ("bare", "full"):
        row = results[name]
        cpu = row["cpu_ms_per_submission"]
        print(f"{name:5} {row['requests']:>8} {row['errors']:>6} {row['submissions_per_s']:>7.1f}"
              f" {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {row['background_cpu_pct']:>5.1f}%"
              f"  {cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['client']:.2f}")
    verdict = "met" if results["target_met"] else "NOT met"
    rounds = ", ".join(f"{r:.2f}" for r in results["ratio_rounds"])
    print(f"\nratio full/bare throughput: {results['ratio']:.3f} (rounds: {rounds});"
          f" target full >= 0.5 x bare: {verdict}")
    print(f"ratio from CPU per submission (bare / full): {results['cpu_ratio']:.3f}")
    background = max(results[name]["background_cpu_pct"] or 0.0 for name in ("bare", "full"))
    if background > 10:
        print(f"  note: other processes used up to {background:.0f}% of the machine meanwhile;"
              " throughput figures are disturbed, the CPU ratio much less")
    for name in ("bare", "full"):
        for sample in results[name]["error_samples"][:3]:
            print(f"  {name} error: {sample}")
    if results["db_check"]["problems"]:
        print("  database check: " + "; ".join(results["db_check"]["problems"]))
    if results["logs"]:
        print(f"  gunicorn logs: {', '.join(results['logs'].values())}")


def check_database(url: str, fixture: Fixture, acked: dict[str, int]) -> dict[str, Any]:
    """Every 201 must be exactly one stored row (warm-up included), each response with all its answers."""
    stored = count_rows(url)
    problems = []
    if stored["responses"] != acked["full"]:
        problems.append(f"full: {acked['full']} acknowledged but {stored['responses']} responses stored")
    if stored["answers"] != acked["full"] * len(fixture.scale_questions):
        problems.append(f"full: {stored['answers']} answers stored for {acked['full']} responses")
    if stored["bare_rows"] != acked["bare"]:
        problems.append(f"bare: {acked['bare']} acknowledged but {stored['bare_rows']} rows stored")
    return {"acknowledged": acked, "stored": stored, "problems": problems}


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured submissions per app (default 3000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers per app (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved bare/full rounds (default 4)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured submissions per app first (default 200)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time cap of each measured round (s)")
    parser.add_argument("--single-address", action="store_true",
                        help="send everything from 127.0.0.1 (one client key) instead of one address per connection")
    parser.add_argument("--database-url", default=DEFAULT_DB, help="dropped and recreated on every run")
    parser.add_argument("--counter", default="SXD-Q20", help="demo counter whose kiosk is driven")
    return parser.parse_args()


def stop_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    # Ctrl-C or a TERM (also when started in the background) unwinds through the `finally` stopping gunicorn.
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    print(f"preparing {args.database_url} ...")
    fixture = prepare_database(args.database_url, args.counter)
    database = database_name(args.database_url)

    base_env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "FLASK_DEBUG", "APP_ENV")}
    base_env["DATABASE_URL"] = args.database_url
    full_env = {
        **base_env,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on 127.0.0.1
        # The per-address ceiling must not refuse the load generator (it matters with --single-address).
        "SURVEY_SUBMIT_LIMIT": "100000 per minute",
        # BURST_MAX_PER_IP / KIOSK_MIN_GAP_SECONDS keep their defaults: they only flag, never refuse.
    }
    full = Server("full", "wsgi:app", free_port(), full_env, args.workers, RESULTS / f"{stamp}-full.log")
    bare = Server("bare", "bench.bare_app:app", free_port(), base_env, args.workers, RESULTS / f"{stamp}-bare.log")
    servers = [bare, full]
    addresses = SourceAddresses(args.single_address)
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        targets = {"bare": bare_target(bare, database, fixture), "full": kiosk_target(full, database, fixture)}
        print(f"servers up: bare :{bare.port}, full :{full.port} ({args.workers} workers each); warming up ...")
        warmups = {name: run_phase(target, args.warmup, args.concurrency, args.max_seconds, addresses)
                   for name, target in targets.items()}
        phases: dict[str, list[PhaseResult]] = {"bare": [], "full": []}
        per_round = max(1, args.requests // args.rounds)
        for round_no in range(args.rounds):
            order = ["bare", "full"] if round_no % 2 == 0 else ["full", "bare"]
            for name in order:
                phase = run_phase(targets[name], per_round, args.concurrency, args.max_seconds, addresses)
                phases[name].append(phase)
                print(f"  round {round_no + 1} {name}: {phase.ok} ok, {phase.errors} errors, "
                      f"{phase.ok / phase.elapsed:.1f}/s")
    finally:
        for server in servers:
            server.stop()

    results: dict[str, Any] = {
        "date": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {k: getattr(args, k) for k in ("requests", "concurrency", "workers", "rounds", "warmup",
                                                   "max_seconds", "single_address", "counter")},
        "submission": {"counter": fixture.counter_code, "version_id": fixture.version_id,
                       "answers": len(fixture.scale_questions)},
        "bare": summarise(phases["bare"]),
        "full": summarise(phases["full"]),
    }
    bare_rps, full_rps = results["bare"]["submissions_per_s"], results["full"]["submissions_per_s"]
    results["ratio"] = round(full_rps / bare_rps, 3) if bare_rps else 0.0
    results["ratio_rounds"] = [round(f / b, 3) if b else 0.0 for f, b in
                               zip(results["full"]["rounds_per_s"], results["bare"]["rounds_per_s"], strict=True)]
    results["target_met"] = results["ratio"] >= 0.5
    # On a saturated machine throughput is inversely proportional to the CPU one submission costs
    # (workers + PostgreSQL + client): the same ratio from CPU time, far less sensitive to other load.
    cpu_total = {name: sum(results[name]["cpu_ms_per_submission"].values()) for name in ("bare", "full")}
    results["cpu_ratio"] = round(cpu_total["bare"] / cpu_total["full"], 3) if cpu_total["full"] else 0.0
    acked = {name: warmups[name].ok + results[name]["ok"] for name in ("bare", "full")}
    results["db_check"] = check_database(args.database_url, fixture, acked)
    results["logs"] = {server.name: str(server.log.relative_to(ROOT)) for server in servers if server.log.exists()}
    print_table(results)
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nresults: {out.relative_to(ROOT)}")
    failures = results["bare"]["errors"] + results["full"]["errors"] + len(results["db_check"]["problems"])
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted ({stop}); both servers stopped", file=sys.stderr)
        sys.exit(130)
