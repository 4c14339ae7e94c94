"""The ceiling: a bare Flask app serving the same citizen journeys, on the app's own stack.

Same Flask, Flask-SQLAlchemy, SQLAlchemy, psycopg 3, engine options and PostgreSQL database as the full
app, served by the same gunicorn with the same worker class. Its pages are byte-for-byte snapshots of the
real app's pages (read once from BARE_PAGES_DIR, with a fresh key put in per request); its submits parse
the body and insert one row. Nothing else: no rate limit, CSRF, session, validation or lookups.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench BARE_PAGES_DIR=... \\
        gunicorn -w 2 -b 127.0.0.1:8001 bench.bare_app:app
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, redirect, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from config import Config

TABLE = "bench_bare_submissions"
PAGES = ("phone", "kiosk", "thanks")
KEY_MARK = "__BARE_KEY__"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class BareSubmission(db.Model):
    """One stored request: its idempotency key (unique, as in responses) and the body as sent."""

    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _pages(directory: str | None) -> dict[str, str]:
    if not directory:
        return {name: "<!doctype html><title>bare</title>" for name in PAGES}
    return {name: (Path(directory) / f"{name}.html").read_text(encoding="utf-8") for name in PAGES}


def create_app(database_url: str | None = None, pages_dir: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ["DATABASE_URL"]
    # The same pool as the app's (feedback_app/__init__.py)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": Config.DB_POOL_SIZE, **Config.SQLALCHEMY_ENGINE_OPTIONS}
    db.init_app(app)
    pages = _pages(pages_dir or os.environ.get("BARE_PAGES_DIR"))

    def page(name: str) -> Response:
        return Response(pages[name].replace(KEY_MARK, uuid.uuid4().hex), mimetype="text/html")

    def store(key: object, payload: dict[str, Any]) -> None:
        db.session.add(BareSubmission(key=str(key), payload=payload))
        db.session.commit()

    @app.get("/bare/q/page")
    def phone_page() -> Response:
        return page("phone")

    @app.post("/bare/q/submit")
    def phone_submit() -> Any:
        form = request.form.to_dict()
        if not form.get("key"):
            return "bad request", 400
        store(form["key"], form)
        return redirect("/bare/q/thanks", 303)

    @app.get("/bare/q/thanks")
    def thanks() -> Response:
        return page("thanks")

    @app.get("/bare/k/page")
    def kiosk_page() -> Response:
        return page("kiosk")

    @app.get("/bare/k/token")
    def kiosk_token() -> Any:
        return jsonify(csrf_token=uuid.uuid4().hex)

    @app.post("/bare/k/submit")
    def kiosk_submit() -> Any:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("key"), str):
            return jsonify(status="bad request"), 400
        store(payload["key"], payload)
        return jsonify(status="stored"), 201

    @app.get("/healthz")
    def health() -> Any:
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok")

    return app


def create_table(database_url: str) -> None:
    """Create the bare table (run once, before gunicorn starts its workers)."""
    app = create_app(database_url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()


app = create_app() if os.environ.get("DATABASE_URL") else None
