"""Fixtures: the app on each available database, a session rolled back after every test, logins."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import Session

from feedback_app import create_app
from feedback_app.complaints.policies import seed_policies
from feedback_app.extensions import db
from feedback_app.surveys.questionnaires import seed_questionnaires

from . import factories

ARTIFACTS = Path(__file__).parent / "artifacts"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can (the database is created if missing)."""
    if not PG_URL:
        return "TEST_DATABASE_URL is not set: the suite ran on SQLite only (CI sets it and requires PostgreSQL)."
    try:
        ensure_database(PG_URL)
    except Exception as error:  # noqa: BLE001 - any failure means: not available here
        return f"PostgreSQL at TEST_DATABASE_URL is not reachable: {error}"
    return None


def ensure_database(url: str) -> None:
    """Create the test database on the server when it does not exist yet."""
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def reset_schema(url: str) -> None:
    """An empty database: PostgreSQL drops its public schema, SQLite files are new."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


_PG_PROBLEM = postgres_problem()
if REQUIRE_POSTGRES and _PG_PROBLEM:
    raise pytest.UsageError(f"PostgreSQL is required here (REQUIRE_POSTGRES=1): {_PG_PROBLEM}")
BACKENDS = ["sqlite"] + ([] if _PG_PROBLEM else ["postgresql"])


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"databases: {', '.join(BACKENDS)}"]
    if _PG_PROBLEM:
        lines.append(f"PostgreSQL tests skipped: {_PG_PROBLEM}")
    return lines


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="feedback-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class RequestIsolatedClient(FlaskClient):
    """Requests share the test's app context (and its database session); each still gets its own `g`,
    as in production, so nothing cached per request (CSRF token, logged-in user) leaks into the next."""

    def open(self, *args, **kwargs):  # type: ignore[override]
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


def make_test_app(url: str, **overrides: object) -> Flask:
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url, **overrides)
    application.test_client_class = RequestIsolatedClient
    return application


def database_url(backend: str, tmp_root: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_root / (name + '.sqlite3')}"
    url = sa.engine.make_url(PG_URL)
    target = url.set(database=f"{url.database}_{name}" if name != "main" else url.database)
    ensure_database(target.render_as_string(hide_password=False))
    return target.render_as_string(hide_password=False)


def migrated_app(backend: str, tmp_root: Path, name: str, **overrides: object) -> Flask:
    """An app on its own freshly migrated database: for tests that need real commits or migrations."""
    url = database_url(backend, tmp_root, name)
    reset_schema(url)
    application = make_test_app(url, **overrides)
    with application.app_context():
        upgrade()
    return application


@pytest.fixture(scope="session", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_root: Path) -> Iterator[Flask]:
    """The app on a migrated database holding the shipped questionnaires."""
    url = database_url(request.param, tmp_root, "main")
    reset_schema(url)
    application = make_test_app(url)
    with application.app_context():
        upgrade()
        seed_questionnaires()
        seed_policies()
        db.session.commit()
        db.session.remove()
    application.config["BACKEND"] = request.param
    yield application
    with application.app_context():
        db.engine.dispose()


class ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks its engine itself; in tests it must use the test's connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):  # type: ignore[override]
        return bind or self.bind or super().get_bind(mapper=mapper, clause=clause, **kwargs)


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """Each test runs inside a transaction that is rolled back; commits in views become savepoints."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionBoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(db_session: Session) -> factories.World:
    """An agency with units, two counters, officers, services and the default questionnaire."""
    built = factories.build_world()
    # Committed to the test's outer transaction, so a view's rollback cannot take it away.
    db_session.commit()
    return built


@pytest.fixture
def login_as(client: FlaskClient, world: factories.World):
    """Log the client in as a new user with the role, scoped to the agency (or the given unit)."""

    def _login(role: str, unit=None, officer=None, email: str | None = None):
        user = factories.user(role=role, unit=unit or world.agency, officer=officer, email=email)
        db.session.commit()
        token = factories.csrf_token(client, "/login")
        response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _login


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# The browser tests' fixtures, defined once for every module (last: they import from this module).
from .browser_fixtures import browser, browser_available, live, new_context, no_server_errors  # noqa: E402, F401
