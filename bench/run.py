"""Load benchmark of whole citizens: the full app against a bare app serving the same requests.

    .venv/bin/python bench/run.py [--worker-classes sync,gthread] [--journeys phone,kiosk] [--seconds 8]

A citizen on the phone opens the form, sends it and sees the thank-you page; a citizen at the kiosk gets
the page, its form token and sends the JSON. Each client thread plays one citizen after another (a fresh
cookie jar, a loopback address of its own), against the full app (wsgi:app, production settings) and
against bench/bare_app.py, which serves byte-for-byte snapshots of the same pages and inserts one row per
submit. Both run under the same gunicorn worker class and counts, on the same PostgreSQL database, in
interleaved rounds. The run then checks that every acknowledged response is stored exactly once and that
no gunicorn worker died. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402 - after the path set-up above
    Answers,
    Citizen,
    PhaseResult,
    SourceAddresses,
    kiosk_journey,
    percentile,
    phone_journey,
    run_phase,
)
from bench.servers import Server, free_port  # noqa: E402

JOURNEYS = {"phone": phone_journey, "kiosk": kiosk_journey}


def prepare_database(url: str, counter_code: str) -> Answers:
    """A fresh database: migrated, demo data loaded, analysed, bare table created."""
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
    from feedback_app.surveys.specs import UnknownCounter, counter_info, version_spec

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        summary = load_demo_data()
        db.session.commit()
        try:
            info = counter_info(counter_code)
        except UnknownCounter:
            raise SystemExit(f"no active counter {counter_code} in the demo data") from None
        version = version_spec(info.version_id, info.version_published_at)
        answers = Answers(version.id, [q.id for q in version.questions if q.is_scale],
                          [f.screening.id for f in version.factors if f.screening])
        db.session.remove()
        db.engine.dispose()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # fresh statistics after the bulk load, as in service
    engine.dispose()
    create_table(url)
    print(f"  database {target.database}: {summary}")
    return answers


def snapshot_pages(server: Server, counter: str, directory: Path) -> dict[str, int]:
    """The real app's pages as a citizen receives them, saved for the bare app to serve."""
    from bench.bare_app import KEY_MARK

    citizen = Citizen(server.port, None)
    sizes = {}
    for name, path in (("phone", f"/q/{counter}"), ("kiosk", f"/k/{counter}"), ("thanks", f"/q/{counter}/cam-on")):
        status, _headers, body = citizen.request("GET", path)
        if status != 200:
            raise SystemExit(f"snapshot of {path}: HTTP {status}")
        html = body.decode()
        if name == "phone":  # a fresh key for every page, as the real one
            html = re.sub(r'(name="key" value=")[0-9a-f]+', rf"\g<1>{KEY_MARK}", html)
        (directory / f"{name}.html").write_text(html, encoding="utf-8")
        sizes[name] = len(body)
    citizen.close()
    return sizes


def count_rows(url: str, per_response: int) -> dict[str, int]:
    """What the run stored: responses (not demo), those without all their answers, bare rows."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {
            "responses": conn.scalar(sa.text("SELECT count(*) FROM responses WHERE NOT is_demo")),
            "incomplete": conn.scalar(sa.text(
                "SELECT count(*) FROM (SELECT r.id FROM responses r LEFT JOIN answers a ON a.response_id = r.id "
                "WHERE NOT r.is_demo GROUP BY r.id HAVING count(a.id) <> :n) AS bad"), {"n": per_response}),
            "flagged": conn.scalar(sa.text(
                "SELECT count(*) FROM responses WHERE NOT is_demo AND review_status = 'pending'")),
            "bare_rows": conn.scalar(sa.text("SELECT count(*) FROM bench_bare_submissions")),
        }
    engine.dispose()
    return counts


def summarise(phases: list[PhaseResult]) -> dict[str, Any]:
    latencies = [v for p in phases for v in p.latencies_ms]
    done = sum(p.citizens - p.errors for p in phases)
    elapsed = sum(p.elapsed for p in phases)
    cpu = {k: sum(p.cpu.get(k, 0.0) for p in phases) for k in ("server", "postgres", "client", "machine")}
    background = max(0.0, cpu["machine"] - cpu["server"] - cpu["postgres"] - cpu["client"])
    return {
        "citizens": sum(p.citizens for p in phases),
        "acknowledged": sum(p.acknowledged for p in phases),
        "errors": sum(p.errors for p in phases),
        "elapsed_s": round(elapsed, 3),
        "citizens_per_s": round(done / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "cpu_ms_per_citizen": {k: round(1000 * cpu[k] / done, 3) if done else None
                               for k in ("server", "postgres", "client")},
        "background_cpu_pct": round(100 * background / (elapsed * (os.cpu_count() or 1)), 1) if elapsed else None,
        "rounds_per_s": [round((p.citizens - p.errors) / p.elapsed, 1) if p.elapsed else 0.0 for p in phases],
        "error_samples": [s for p in phases for s in p.error_samples][:10],
    }


def compare(bare: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """Full against bare: throughput ratio (overall and per round) and the same ratio from CPU time."""
    ratio = round(full["citizens_per_s"] / bare["citizens_per_s"], 3) if bare["citizens_per_s"] else 0.0
    rounds = [round(f / b, 3) if b else 0.0 for f, b in zip(full["rounds_per_s"], bare["rounds_per_s"], strict=True)]
    # On a saturated machine throughput is inversely proportional to the CPU one citizen costs (workers +
    # PostgreSQL + client): the same ratio from CPU time, far less sensitive to other load on the machine.
    cpu = {name: sum(v for v in row["cpu_ms_per_citizen"].values() if v) for name, row in
           (("bare", bare), ("full", full))}
    return {"ratio": ratio, "ratio_rounds": rounds, "cpu_ratio": round(cpu["bare"] / cpu["full"], 3)
            if cpu["full"] else 0.0, "target_met": ratio >= 0.5}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker-classes", default="sync,gthread", help="gunicorn worker classes, in turn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app (default 2: 2 cores)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (default 8)")
    parser.add_argument("--journeys", default="phone,kiosk", help="citizen journeys to measure")
    parser.add_argument("--concurrency", type=int, default=12, help="citizens at once (client threads)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved bare/full rounds (default 4)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measured round (s)")
    parser.add_argument("--warmup-seconds", type=float, default=3.0, help="unmeasured load per app first (s)")
    parser.add_argument("--single-address", action="store_true", help="every citizen from 127.0.0.1")
    parser.add_argument("--database-url", default=DEFAULT_DB, help="dropped and recreated on every run")
    parser.add_argument("--counter", default="SXD-Q20", help="demo counter whose pages are driven")
    parser.add_argument("--ratelimit-storage", default="redis://127.0.0.1:6379/14",
                        help="the full app's RATELIMIT_STORAGE_URI (memory:// keeps counters per worker)")
    return parser.parse_args()


def stop_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def measure(args: argparse.Namespace, worker_class: str, answers: Answers, stamp: str, pages_dir: Path,
            addresses: SourceAddresses) -> dict[str, Any]:
    """Both apps under one worker class: every journey, warmed up, then in interleaved rounds."""
    database = args.database_url.rsplit("/", 1)[1]
    base_env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "FLASK_DEBUG", "APP_ENV")}
    base_env["DATABASE_URL"] = args.database_url
    full_port, bare_port = free_port(), free_port()
    full_env = {
        **base_env, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{full_port}", "SESSION_COOKIE_SECURE": "0",  # plain HTTP here
        # The per-address ceilings must not refuse the load generator (they matter with --single-address).
        "SURVEY_SUBMIT_LIMIT": "100000 per minute", "KIOSK_TOKEN_LIMIT": "100000 per minute",
        # As deployed (README): the workers share their rate-limit counters through Redis.
        "RATELIMIT_STORAGE_URI": args.ratelimit_storage,
    }
    options = {"workers": args.workers, "worker_class": worker_class, "threads": args.threads}
    full = Server("full", "wsgi:app", full_port, full_env, log=RESULTS / f"{stamp}-{worker_class}-full.log",
                  **options)
    bare = Server("bare", "bench.bare_app:app", bare_port, {**base_env, "BARE_PAGES_DIR": str(pages_dir)},
                  log=RESULTS / f"{stamp}-{worker_class}-bare.log", **options)
    outcome: dict[str, Any] = {}
    try:
        full.start()
        full.wait_ready()
        if not (pages_dir / "phone.html").exists():
            outcome["page_bytes"] = snapshot_pages(full, args.counter, pages_dir)
        bare.start()
        bare.wait_ready()
        print(f"  {worker_class}: full :{full.port}, bare :{bare.port}")
        for journey_name in args.journeys.split(","):
            journeys = {name: JOURNEYS[journey_name](args.counter, answers, bare=name == "bare")
                        for name in ("bare", "full")}
            servers = {"bare": bare, "full": full}
            warm = {name: run_phase(name, servers[name], database, journeys[name], args.concurrency,
                                    args.warmup_seconds, addresses) for name in ("bare", "full")}
            phases: dict[str, list[PhaseResult]] = {"bare": [], "full": []}
            for round_no in range(args.rounds):
                for name in (("bare", "full") if round_no % 2 == 0 else ("full", "bare")):
                    phase = run_phase(name, servers[name], database, journeys[name], args.concurrency,
                                      args.seconds, addresses)
                    phases[name].append(phase)
                    print(f"    {journey_name} round {round_no + 1} {name}: "
                          f"{(phase.citizens - phase.errors) / phase.elapsed:.1f} citizens/s, {phase.errors} errors")
            rows = {name: summarise(phases[name]) for name in ("bare", "full")}
            outcome[journey_name] = {**rows, **compare(rows["bare"], rows["full"]),
                                     "acknowledged_incl_warmup": {name: warm[name].acknowledged
                                                                  + rows[name]["acknowledged"]
                                                                  for name in ("bare", "full")}}
    finally:
        full.stop()
        bare.stop()
    outcome["worker_deaths"] = {s.name: s.worker_deaths() for s in (full, bare)}
    return outcome


def print_report(results: dict[str, Any]) -> None:
    print()
    print(f"{'workers':8} {'journey':7} {'app':5} {'citizens/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
          f" {'bg cpu':>6}  CPU ms/citizen: workers / postgres / client")
    for worker_class, outcome in results["runs"].items():
        for journey in results["settings"]["journeys"].split(","):
            row = outcome[journey]
            for name in ("bare", "full"):
                r = row[name]
                cpu = r["cpu_ms_per_citizen"]
                print(f"{worker_class:8} {journey:7} {name:5} {r['citizens_per_s']:>10.1f} {r['p50_ms']:>7.1f}"
                      f" {r['p99_ms']:>7.1f} {r['errors']:>6} {r['background_cpu_pct'] or 0:>5.1f}%"
                      f"  {cpu['server'] or 0:.2f} / {cpu['postgres'] or 0:.2f} / {cpu['client'] or 0:.2f}")
            rounds = ", ".join(f"{v:.2f}" for v in row["ratio_rounds"])
            verdict = "met" if row["target_met"] else "NOT met"
            print(f"{'':17}ratio full/bare {row['ratio']:.3f} (rounds {rounds}); from CPU {row['cpu_ratio']:.3f};"
                  f" target >= 0.5: {verdict}")
            for name in ("bare", "full"):
                for sample in row[name]["error_samples"][:3]:
                    print(f"{'':17}{name} error: {sample}")
        for name, deaths in outcome["worker_deaths"].items():
            for line in deaths[:5]:
                print(f"  {worker_class} {name} WORKER DEATH: {line}")
    check = results["db_check"]
    print(f"\ndatabase: {check['stored']}; acknowledged: {check['acknowledged']}")
    print("database check: " + ("; ".join(check["problems"]) if check["problems"] else
                                "every acknowledged response stored exactly once, each with all its answers"))


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    print(f"preparing {args.database_url} ...")
    answers = prepare_database(args.database_url, args.counter)
    addresses = SourceAddresses(args.single_address)
    results: dict[str, Any] = {
        "date": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {k: getattr(args, k) for k in ("worker_classes", "workers", "threads", "journeys", "concurrency",
                                                   "rounds", "seconds", "warmup_seconds", "single_address",
                                                   "counter", "ratelimit_storage")},
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as pages:
        for worker_class in args.worker_classes.split(","):
            results["runs"][worker_class] = measure(args, worker_class, answers, stamp, Path(pages), addresses)
    acked = {"full": 0, "bare": 0}
    for outcome in results["runs"].values():
        for journey in args.journeys.split(","):
            for name in acked:
                acked[name] += outcome[journey]["acknowledged_incl_warmup"][name]
    stored = count_rows(args.database_url, answers.per_response)
    problems = []
    if stored["responses"] != acked["full"]:
        problems.append(f"full: {acked['full']} acknowledged, {stored['responses']} responses stored")
    if stored["incomplete"]:
        problems.append(f"full: {stored['incomplete']} responses without all their {answers.per_response} answers")
    if stored["bare_rows"] != acked["bare"]:
        problems.append(f"bare: {acked['bare']} acknowledged, {stored['bare_rows']} rows stored")
    deaths = [line for o in results["runs"].values() for lines in o["worker_deaths"].values() for line in lines]
    if deaths:
        problems.append(f"{len(deaths)} gunicorn worker deaths (see the logs in bench/results/)")
    results["db_check"] = {"acknowledged": acked, "stored": stored, "problems": problems}
    print_report(results)
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nresults: {out.relative_to(ROOT)}")
    errors = sum(o[j][n]["errors"] for o in results["runs"].values() for j in args.journeys.split(",")
                 for n in ("bare", "full"))
    return 1 if errors or problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted ({stop}); servers stopped", file=sys.stderr)
        sys.exit(130)
