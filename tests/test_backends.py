"""Which databases the suite ran on, said in the summary, and that PostgreSQL really is one of them."""

import pytest
import sqlalchemy as sa

from feedback_app.extensions import db

from .conftest import _PG_PROBLEM


def test_the_postgresql_run_talks_to_a_postgresql_15_server(app):
    """Skipped, with the reason, when the suite ran on SQLite only (CI requires PostgreSQL)."""
    if app.config["BACKEND"] != "postgresql":
        pytest.skip(_PG_PROBLEM or "the SQLite run: its PostgreSQL twin checks the server")
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            assert int(conn.scalar(sa.text("SHOW server_version_num"))) >= 150000
            # The one-statement insert of responses relies on PostgreSQL's own unnest and ON CONFLICT.
            assert conn.scalar(sa.text("SELECT count(*) FROM unnest(ARRAY[1, 2, 3])")) == 3
        db.engine.dispose()
