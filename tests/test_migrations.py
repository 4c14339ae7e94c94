"""Every migration upgrades and downgrades cleanly on each database."""

from __future__ import annotations

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


def test_models_and_migrations_agree(app, tmp_root):
    """No model change is left without a migration: autogenerate finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    application = migrated_app(app.config["BACKEND"], tmp_root, "migrations")
    with application.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []
