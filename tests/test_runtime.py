"""The CPython 3.11 crash seen under gunicorn's threaded workers: its reproduction, and the guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPRO = Path(__file__).with_name("runtime_repro.py")


def _run(mode: str, rounds: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "0"}
    return subprocess.run([sys.executable, str(REPRO), mode, str(rounds)], env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=300)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="CPython 3.12+ does not collect inside that store")
def test_without_the_guard_cpython_311_crashes_when_a_session_closes():
    """The minimal reproduction of the workers' SIGSEGV: no gunicorn, no threads, no PostgreSQL needed."""
    result = _run("no-guard", 300)
    if result.returncode == 0:
        pytest.skip(f"this CPython {sys.version.split()[0]} build no longer crashes: the guard may be unnecessary")
    assert result.returncode == -signal.SIGSEGV, (result.returncode, result.stderr[-500:])


def test_with_the_guard_the_same_sessions_close_safely():
    result = _run("guard", 1000)
    assert result.returncode == 0, (result.returncode, result.stderr[-500:])
    assert result.stdout.startswith("survived")


def test_the_app_turns_the_guard_on_where_it_is_needed(app):
    from sqlalchemy.orm.state import InstanceState

    from feedback_app.models import OrgUnit

    state = OrgUnit(code="X", name="X", unit_type="so").__dict__["_sa_instance_state"]
    assert isinstance(state, InstanceState)
    # On 3.11 the state's dict exists from the start, holding what _cleanup writes.
    assert ("_strong_obj" in state.__dict__) == (sys.version_info < (3, 12))
