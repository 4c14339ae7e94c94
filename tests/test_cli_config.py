"""Commands and configuration."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from config import BASE_DIR, ProductionConfig
from feedback_app import create_app
from feedback_app.extensions import db
from feedback_app.models import Questionnaire, User

from . import factories
from .conftest import migrated_app


def test_production_refuses_default_or_short_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://danhgia.khanhhoa.gov.vn")
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


@pytest.mark.parametrize("public_url", [None, "", "danhgia.khanhhoa.gov.vn", "ftp://danhgia.khanhhoa.gov.vn",
                                        "https://", "https://danhgia.khanhhoa.gov.vn/?a=1", "/q"])
def test_production_refuses_to_start_without_an_absolute_public_address(monkeypatch, public_url):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    if public_url is None:
        monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("PUBLIC_BASE_URL", public_url)
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        create_app("production")


def test_production_prints_the_public_address_it_was_given(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://danhgia.khanhhoa.gov.vn/")
    assert create_app("production").config["PUBLIC_BASE_URL"] == "https://danhgia.khanhhoa.gov.vn"


def test_demo_data_is_refused_in_production(app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://danhgia.khanhhoa.gov.vn")
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


def test_no_literal_secret_in_the_settings():
    source = (BASE_DIR / "config.py").read_text()
    assert not re.search(r"SECRET\w*\s*=\s*[\"']", source), "a secret written in config.py is the same everywhere"
    assert "dev-only-secret" not in source and "test-secret" not in source


def _dev_app(key_file: Path, database_url: str, **overrides: object) -> Flask:
    # SECRET_KEY=None: as when the variable is not set.
    settings = {"SECRET_KEY": None, "SECRET_KEY_FILE": str(key_file), "SQLALCHEMY_DATABASE_URI": database_url}
    return create_app("development", **{**settings, **overrides})


def test_development_generates_a_private_secret_once_and_keeps_it(tmp_path, app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    key_file = tmp_path / "instance" / "secret_key"
    first, second = _dev_app(key_file, url), _dev_app(key_file, url)
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _dev_app(tmp_path / "elsewhere" / "secret_key", url).secret_key != first.secret_key


def test_testing_uses_a_random_secret(app):
    assert len(app.secret_key) >= 32
    assert app.secret_key not in ("test-secret", "dev-only-secret-change-me")


@pytest.mark.parametrize(("env", "old_secret"), [("development", "dev-only-secret-change-me"),
                                                 ("testing", "test-secret")])
def test_a_cookie_signed_with_a_former_default_secret_opens_nothing(app, tmp_root, tmp_path, env, old_secret):
    testing_app = migrated_app(app.config["BACKEND"], tmp_root, "secrets")
    with testing_app.app_context():
        admin = factories.user("admin", factories.unit("Sở", "so"))
        db.session.commit()
        user_id = admin.get_id()
        db.session.remove()
    # The development app as `make run` builds it (SECRET_KEY as the environment has it: normally unset).
    target = testing_app if env == "testing" else create_app(
        "development", SECRET_KEY_FILE=str(tmp_path / "secret_key"),
        SQLALCHEMY_DATABASE_URI=testing_app.config["SQLALCHEMY_DATABASE_URI"])
    forger = Flask("forger")
    forger.secret_key = old_secret
    forged = forger.session_interface.get_signing_serializer(forger).dumps(
        {"_user_id": user_id, "_fresh": True, "_permanent": True})
    browser = target.test_client()
    browser.set_cookie("session", forged)
    response = browser.get("/admin/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for application in (testing_app, target):
        with application.app_context():
            db.engine.dispose()
