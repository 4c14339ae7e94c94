"""Commands and configuration."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from config import ProductionConfig
from feedback_app import create_app
from feedback_app.extensions import db
from feedback_app.models import Questionnaire, User


def test_production_refuses_default_or_short_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig.validate()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        ProductionConfig.validate()


def test_demo_data_is_refused_in_production(app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    prod = create_app("production")
    result = prod.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code != 0 and "never loaded in production" in result.output


def test_create_user_and_seed_are_idempotent(app, db_session, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Director@Example.gov.vn", "--role", "viewer",
                                 "--password", "mat-khau-rat-dai", "--unit", world.agency.code])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "director@example.gov.vn"))
    assert user.role == "viewer" and user.org_unit_id == world.agency.id and user.check_password("mat-khau-rat-dai")
    again = runner.invoke(args=["create-user", "director@example.gov.vn", "--role", "viewer", "--password",
                                "mat-khau-rat-dai"])
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(args=["create-user", "x@example.gov.vn", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0
    before = db.session.scalar(select(func.count(Questionnaire.id)))
    assert runner.invoke(args=["seed"]).exit_code == 0
    assert db.session.scalar(select(func.count(Questionnaire.id))) == before == 2
