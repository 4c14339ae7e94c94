"""The ceiling: a bare Flask endpoint that stores one row, on the app's own stack.

Same Flask, Flask-SQLAlchemy, SQLAlchemy, psycopg 3, engine options and PostgreSQL database as the
full app, served by the same gunicorn; it only parses the JSON body, inserts one row into a table of
its own and commits. Nothing else: no rate limit, CSRF, session, validation or lookups.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench \
        gunicorn -w 4 -b 127.0.0.1:8001 bench.bare_app:app
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from config import Config

TABLE = "bench_bare_submissions"


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


def create_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ["DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(Config.SQLALCHEMY_ENGINE_OPTIONS)  # same pool as the app
    db.init_app(app)

    @app.post("/submit")
    def submit() -> Any:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("key"), str):
            return jsonify(status="bad request"), 400
        db.session.add(BareSubmission(key=payload["key"], payload=payload))
        db.session.commit()
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
