"""Every migration upgrades and downgrades cleanly on each database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from feedback_app.extensions import db

from .conftest import migrated_app


def test_upgrade_downgrade_upgrade(app, tmp_root):
    application = migrated_app(app.config["BACKEND"], tmp_root, "migrations")
    with application.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"responses", "answers", "org_units", "questionnaire_versions", "audit_events"} <= tables
        assert set(db.metadata.tables) <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(db.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_and_migrations_agree(app, tmp_root):
    """No model change is left without a migration: autogenerate finds nothing to do (indexes on expressions are
    the migrations' alone, as in migrations/env.py)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from feedback_app.models.complaint import EXPRESSION_INDEXES

    def include(obj, name, type_, reflected, compare_to):
        return not (type_ == "index" and name in EXPRESSION_INDEXES)

    application = migrated_app(app.config["BACKEND"], tmp_root, "migrations")
    with application.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def _row(conn, table: str, **values) -> int:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    return conn.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING id"),  # noqa: S608
                        values).scalar()


def test_the_survey_review_migration_keeps_existing_responses(app, tmp_root):
    """0007 rebuilds the questions table on SQLite: the answers that point at it must all survive, and the
    shipped version 1 is marked as revision 1 of the seed."""
    application = migrated_app(app.config["BACKEND"], tmp_root, "migration_data")
    with application.app_context():
        downgrade(revision="0006_login_throttles")
        with db.engine.begin() as conn:
            family = _row(conn, "questionnaires", code="SIPAS-2640", title="SIPAS", is_default=True)
            version = _row(conn, "questionnaire_versions", questionnaire_id=family, number=1, status="published",
                           title="SIPAS", no_opinion_enabled=True, no_opinion_label="Không có ý kiến",
                           no_opinion_in_denominator=False, created_at="2026-01-01 00:00:00")
            question = _row(conn, "questions", version_id=version, code="TCDV1", kind="criterion", text="Chỗ ngồi",
                            position=1, required=True, counts_in_index=True)
            unit = _row(conn, "org_units", code="SXD", name="Sở Xây dựng", unit_type="so",
                        valid_from="2000-01-01", is_demo=False)
            response = _row(conn, "responses", public_id="p1", idempotency_key="k" * 32, version_id=version,
                            channel="qr", unit_id=unit, language="vi", submitted_at="2026-10-01 02:00:00",
                            local_date="2026-10-01", verified=False, review_status="none", is_demo=False)
            _row(conn, "answers", response_id=response, question_id=question, value=5, no_opinion=False)
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT question_id, value FROM answers")).all() == [(question, 5)]
            assert conn.scalar(sa.text("SELECT source FROM questionnaire_versions")) == "seed:SIPAS-2640:1"
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on after the migration
        db.session.remove()
        db.engine.dispose()
