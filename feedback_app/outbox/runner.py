"""The worker loop: drain due messages, run due periodic jobs, sleep a little; `flask worker` and `make run`."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from .periodic import run_due_jobs
from .senders import Senders
from .worker import DrainResult, drain, worker_name

log = logging.getLogger("feedback_app.outbox")


@dataclass
class PassResult:
    messages: DrainResult
    jobs: dict[str, int | None] = field(default_factory=dict)


def run_once(app: Flask, *, worker: str | None = None, senders: Senders | None = None,
             stop: threading.Event | None = None) -> PassResult:
    """One pass: every message due now, then every periodic job due now."""
    worker = worker or worker_name()
    with app.app_context():
        messages = drain(app.config, worker=worker, senders=senders, stop=stop)
        jobs = run_due_jobs(worker, app.config)
    return PassResult(messages, jobs)


def run_forever(app: Flask, stop: threading.Event, *, on_pass: Callable[[PassResult], None] | None = None) -> None:
    """Passes every WORKER_POLL_SECONDS until `stop` is set; an error in a pass is logged, the loop goes on."""
    worker, senders = worker_name(), Senders(app.config)
    interval = float(app.config["WORKER_POLL_SECONDS"])
    while not stop.is_set():
        try:
            result = run_once(app, worker=worker, senders=senders, stop=stop)
            if on_pass is not None:
                on_pass(result)
        except Exception:  # noqa: BLE001 - the database may be away for a moment: log, wait, try again
            log.exception("worker pass failed")
        stop.wait(interval)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (systemd, docker) and SIGINT (Ctrl-C) end the loop after the message being sent."""

    def handler(signum: int, _frame: Any) -> None:
        log.info("worker: signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


_thread_lock = threading.Lock()
_threads: dict[int, threading.Thread] = {}


def in_process_allowed(app: Flask) -> bool:
    """Whether `make run` may run the worker thread in this app: WORKER_IN_PROCESS is set (development only)
    and this is not a test."""
    return bool(app.config.get("WORKER_IN_PROCESS")) and not app.testing


def register_in_process_worker(app: Flask) -> None:
    """Development (`make run`): the worker as a daemon thread of the server process.

    It starts with the first request, so only a process that serves requests runs it: with `flask run`'s
    reloader only the child (WERKZEUG_RUN_MAIN=true; the watching parent serves nothing), and never in
    `flask db upgrade`, `flask seed` or any other command that builds the app, nor at import.
    """
    if not in_process_allowed(app):
        return

    @app.before_request
    def _start_worker_thread() -> None:
        if id(app) in _threads:
            return
        with _thread_lock:
            if id(app) in _threads:
                return
            thread = threading.Thread(target=run_forever, args=(app, threading.Event()), name="outbox-worker",
                                      daemon=True)
            _threads[id(app)] = thread
            thread.start()
            log.info("outbox worker thread started in the server process")
