"""Periodic jobs: registered once (from create_app), run by the worker when due.

Each job has a row in `periodic_jobs`. A worker takes a due job with one conditional UPDATE (next_run_at has
come and no other worker holds a live lease on it): on PostgreSQL a second worker's UPDATE waits for the first
one's commit and then matches nothing, on SQLite transactions take the write lock in turn. So two workers never
run one job at the same moment, and nobody runs it again before `every_seconds` have passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models.messaging import PeriodicJobState
from ..timeutil import utcnow

log = logging.getLogger("feedback_app.outbox")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    fn: Callable[[], int]


_registry: dict[str, PeriodicJob] = {}


def register_periodic(name: str, every_seconds: int, fn: Callable[[], int]) -> None:
    """A job the worker runs every `every_seconds` inside an app context; `fn` returns how many things it did.

    `fn` runs in a fresh transaction that the worker commits when it returns and rolls back when it raises.
    Registering the same name again replaces the job (create_app may run more than once in a process).
    """
    if not name or len(name) > 80:
        raise ValueError("a job name has 1 to 80 characters")
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    _registry[name] = PeriodicJob(name, every_seconds, fn)


def unregister_periodic(name: str) -> None:
    _registry.pop(name, None)


def registered_jobs() -> list[PeriodicJob]:
    return list(_registry.values())


def _take(job: PeriodicJob, worker: str, lock_seconds: int) -> bool:
    now = utcnow()
    if db.session.get(PeriodicJobState, job.name) is None:
        try:
            with db.session.begin_nested():
                db.session.add(PeriodicJobState(name=job.name, next_run_at=now))
        except IntegrityError:
            pass  # another worker made it first
    taken = db.session.execute(
        update(PeriodicJobState)
        .where(PeriodicJobState.name == job.name, PeriodicJobState.next_run_at <= now,
               or_(PeriodicJobState.locked_until.is_(None), PeriodicJobState.locked_until < now))
        .values(next_run_at=now + timedelta(seconds=job.every_seconds), last_started_at=now, locked_by=worker,
                locked_until=now + timedelta(seconds=max(job.every_seconds, lock_seconds)))
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return taken


def _release(job: PeriodicJob, worker: str, count: int | None, error: str | None) -> None:
    db.session.execute(
        update(PeriodicJobState)
        .where(PeriodicJobState.name == job.name, PeriodicJobState.locked_by == worker)
        .values(locked_until=None, locked_by=None, last_finished_at=utcnow(), last_count=count, last_error=error)
        .execution_options(synchronize_session=False))
    db.session.commit()


def run_due_jobs(worker: str, config: Any) -> dict[str, int | None]:
    """Run each registered job that is due and not held by another worker: {name: count, or None on error}."""
    done: dict[str, int | None] = {}
    for job in registered_jobs():
        if not _take(job, worker, int(config["OUTBOX_LOCK_SECONDS"])):
            continue
        try:
            count: int | None = int(job.fn() or 0)
            db.session.commit()
            error = None
        except Exception as exc:  # noqa: BLE001 - one job's error is logged and must not stop the others
            db.session.rollback()
            log.exception("periodic job %s failed", job.name)
            count, error = None, type(exc).__name__
        _release(job, worker, count, error)
        done[job.name] = count
    db.session.remove()
    return done
