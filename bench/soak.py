"""Soak test of the threaded workers: the full app under gunicorn gthread, citizens on the phone form and
the kiosk and staff reading their pages without pause, then: did any worker die, and is every acknowledged
response stored exactly once?

    .venv/bin/python bench/soak.py [--seconds 240] [--clients 12] [--worker-class gthread] [--no-guard]

Exit status 0 only when no worker died, no citizen got a connection error and the database holds exactly
the acknowledged responses, each with all its answers. `--no-guard` starts the app without the CPython 3.11
guard of feedback_app/runtime.py, to see the crash it prevents.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import secrets
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402 - after the path set-up above
    Citizen,
    JourneyError,
    SourceAddresses,
    kiosk_journey,
    phone_journey,
    run_phase,
)
from bench.run import DEFAULT_DB, count_rows, prepare_database  # noqa: E402
from bench.servers import Server, free_port  # noqa: E402
from feedback_app.demo import DEMO_PASSWORD, DEMO_USERS  # noqa: E402

RESULTS = ROOT / "bench" / "results"


STAFF_PAGES = ("/results?group_by=counter", "/admin/counters", "/admin/officers", "/admin/review")


def staff_journey(port: int, addresses: SourceAddresses) -> Any:
    """An administrator reading staff pages, which load many ORM objects tied in relationship cycles (the
    pattern CPython 3.11 crashes on, see feedback_app/runtime.py); one login per client thread."""
    local = threading.local()
    pages = itertools.cycle(STAFF_PAGES)

    def journey(_citizen: Citizen) -> None:
        staff = getattr(local, "staff", None)
        if staff is None:
            staff = local.staff = Citizen(port, addresses.next())
            _status, _headers, html = staff.request("GET", "/login")
            token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()
            body = urlencode({"csrf_token": token, "email": DEMO_USERS[0][0], "password": DEMO_PASSWORD}).encode()
            status, _headers, _html = staff.request("POST", "/login", body,
                                                    {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 302:
                local.staff = None
                raise JourneyError(f"staff login: HTTP {status}")
        status, _headers, _html = staff.request("GET", next(pages))
        if status != 200:
            raise JourneyError(f"staff page: HTTP {status}")

    return journey


def mixed_journey(counter: str, answers: Any, port: int, addresses: SourceAddresses) -> Any:
    """At a busy counter: for every three citizens on the phone, one at the kiosk and a staff page read."""
    journeys = [phone_journey(counter, answers, bare=False)] * 3 + [kiosk_journey(counter, answers, bare=False),
                                                                     staff_journey(port, addresses)]
    turn = itertools.count()
    lock = threading.Lock()

    def journey(citizen: Citizen) -> None:
        with lock:
            n = next(turn)
        journeys[n % len(journeys)](citizen)

    return journey


def soak(database_url: str, seconds: float, clients: int, worker_class: str = "gthread", workers: int = 2,
         threads: int = 8, guard: bool = True, counter: str = "SXD-Q20", log_dir: Path = RESULTS) -> dict[str, Any]:
    """Run the soak; a report with the problems found (an empty list when all is well)."""
    answers = prepare_database(database_url, counter)
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "FLASK_DEBUG", "APP_ENV")}
    env.update({
        "APP_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "SESSION_COOKIE_SECURE": "0",
        "SURVEY_SUBMIT_LIMIT": "100000 per minute", "KIOSK_TOKEN_LIMIT": "100000 per minute",
        "PYTHONFAULTHANDLER": "1",  # a dying worker writes where it was into the log
        "RATELIMIT_STORAGE_URI": os.environ.get("SOAK_RATELIMIT_STORAGE", "redis://127.0.0.1:6379/14"),
    })
    extra = [] if guard else ["--config", str(ROOT / "bench" / "no_guard.conf.py")]
    server = Server("full", "wsgi:app", port, env, workers, log_dir / f"{stamp}-soak-{worker_class}.log",
                    worker_class=worker_class, threads=threads, extra_args=extra)
    database = database_url.rsplit("/", 1)[1]
    try:
        server.start()
        server.wait_ready()
        addresses = SourceAddresses()
        phase = run_phase("soak", server, database, mixed_journey(counter, answers, port, addresses), clients,
                          seconds, addresses)
    finally:
        server.stop()
    stored = count_rows(database_url, answers.per_response)
    deaths = server.worker_deaths()
    problems = []
    if deaths:
        problems.append(f"{len(deaths)} worker deaths: {deaths[:3]}")
    if phase.errors:
        problems.append(f"{phase.errors} citizens got an error: {phase.error_samples[:3]}")
    if stored["responses"] != phase.acknowledged:
        problems.append(f"{phase.acknowledged} responses acknowledged, {stored['responses']} stored")
    if stored["incomplete"]:
        problems.append(f"{stored['incomplete']} responses stored without all their answers")
    return {"seconds": round(phase.elapsed, 1), "citizens": phase.citizens, "acknowledged": phase.acknowledged,
            "stored": stored["responses"], "worker_class": worker_class, "workers": workers, "threads": threads,
            "guard": guard, "python": sys.version.split()[0], "log": str(server.log), "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-guard", action="store_true", help="without feedback_app/runtime.py's guard")
    parser.add_argument("--database-url", default=DEFAULT_DB.replace("feedback_bench", "feedback_soak_bench"))
    args = parser.parse_args()
    report = soak(args.database_url, args.seconds, args.clients, args.worker_class, args.workers, args.threads,
                  guard=not args.no_guard)
    for key, value in report.items():
        print(f"{key:>13}: {value}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
