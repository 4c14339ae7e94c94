"""Which databases the suite ran on, said in the summary."""

import pytest

from .conftest import _PG_PROBLEM, BACKENDS


def test_postgresql_backend_is_in_use() -> None:
    """Skipped, with the reason, when the suite ran on SQLite only (CI requires PostgreSQL)."""
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    assert BACKENDS == ["sqlite", "postgresql"]
