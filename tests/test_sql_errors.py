"""What citizens and staff typed never reaches the log: SQL errors hide their parameters, the 500 log scrubs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from feedback_app import security
from feedback_app.extensions import db

from .conftest import make_test_app

TYPED = "Nguyen-Van-An-0912345678"


def test_an_integrity_error_does_not_carry_the_value_sent(db_session, world):
    with pytest.raises(IntegrityError) as caught, db_session.begin_nested():
        db_session.execute(text("INSERT INTO org_units (code, name) VALUES (:code, :name)"),
                           {"code": None, "name": TYPED})
    assert TYPED not in str(caught.value)
    assert "hidden" in str(caught.value)  # SQLAlchemy says the parameters were left out


@pytest.fixture
def failing_app(app):
    """The app with two views that fail the way real bugs do, and errors answered as in production."""
    application = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], PROPAGATE_TEST_ERRORS=False)

    @application.post("/boom/sql")
    def boom_sql():
        from flask import request

        db.session.execute(text("INSERT INTO org_units (code, name) VALUES (:code, :name)"),
                           {"code": None, "name": request.form["name"]})
        return "unreachable"

    @application.post("/boom/value")
    def boom_value():
        from flask import request

        return str(int(request.form["name"]))  # ValueError: invalid literal for int() ... '<the value>'

    application.config["WTF_CSRF_ENABLED"] = False
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("path", ["/boom/sql", "/boom/value"])
def test_a_500_logs_neither_form_values_nor_sql_parameters(failing_app, caplog, path, monkeypatch):
    # The two test views open to visitors, so no login is needed to reach them.
    monkeypatch.setattr(security, "PUBLIC_ENDPOINTS", security.PUBLIC_ENDPOINTS | {"boom_sql", "boom_value"})
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().post(path, data={"name": TYPED})
    assert response.status_code == 500
    assert caplog.records, "the error is still logged"
    assert path in caplog.text
    assert TYPED not in caplog.text
