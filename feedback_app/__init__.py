"""Application factory: extensions, blueprints, CLI and error handlers, in small register_* steps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_babel import get_locale, lazy_gettext
from flask_login import current_user, user_logged_in
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import BASE_DIR, CONFIGS, ProductionConfig

from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .instance_secret import load_or_create_secret
from .locale import select_locale
from .sql_errors import register_terse_sql_errors

MAX_ID = 2**63 - 1  # the largest id any table holds (BIGINT); a longer number in a path is no id at all


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` that matches only what a database can compare with an id: a larger number is a plain 404, not an
    OverflowError (SQLite) or a DataError (PostgreSQL) in the view."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        super().__init__(map, *args, **kwargs)
        self.max = MAX_ID if self.max is None else min(self.max, MAX_ID)


def create_app(config: str | type | None = None, **overrides: Any) -> Flask:
    """Build the app; no migrations, prompts or network calls happen here."""
    from .runtime import guard_instance_states

    guard_instance_states()  # CPython 3.11: see feedback_app/runtime.py
    app = Flask(
        __name__,
        instance_path=str(BASE_DIR / "instance"),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.url_map.converters["int"] = BoundedIntegerConverter  # before any blueprint adds an <int:…> rule
    config_obj = CONFIGS[config or os.environ.get("APP_ENV", "development")] if not isinstance(config, type) else config
    app.config.from_object(config_obj)
    if issubclass(config_obj, ProductionConfig):
        app.config.update(ProductionConfig.validate())
    app.config.update(overrides)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": app.config["DB_POOL_SIZE"],
                                                   **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if not app.config.get("SECRET_KEY"):
        # Development without SECRET_KEY: a random secret made once in the instance folder, never a constant.
        app.config["SECRET_KEY"] = load_or_create_secret(Path(app.config["SECRET_KEY_FILE"]))
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    os.makedirs(app.instance_path, exist_ok=True)
    from .input_guard import register_input_guard
    from .security import register_security

    register_input_guard(app)  # first: no hook nor view reads text that no database can store
    register_security(app)  # then the login gate, before any other request hook
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_errors(app)
    register_cli(app)
    register_worker(app)
    register_complaint_jobs(app)
    register_sms_jobs()
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    limiter.init_app(app)  # before CSRF: a flood is refused before any other work
    if not app.config.get("RATELIMIT_DEFAULT") and not app.config.get("RATELIMIT_APPLICATION"):
        # Every limit here is a decorator on its view, which checks it itself; with no default or
        # application-wide limit, Flask-Limiter's per-request hook only spends time finding nothing to check.
        app.before_request_funcs[None].remove(limiter._check_request_limit)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(BASE_DIR / "translations"))
    # Templates get the lazy current_user proxy, not Flask-Login's eager one: rendering a citizen's page must not
    # load a user (and rewrite the visitor's session through session protection).
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Vui lòng đăng nhập để tiếp tục.")
    login_manager.session_protection = "strong"
    from . import models  # noqa: F401 - registers the models on the metadata
    from .auth.sessions import load_session_user, start_session

    # A login is a row in staff_sessions (see auth/sessions.py); there is no remember-me cookie.
    login_manager.user_loader(load_session_user)
    user_logged_in.connect(start_session, app)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        register_sqlite_fixes()
    register_terse_sql_errors()


_sqlite_fixed = False


def register_sqlite_fixes() -> None:
    """Foreign keys on, and real transactions: pysqlite's own BEGIN handling breaks SAVEPOINTs."""
    global _sqlite_fixed
    if _sqlite_fixed:
        return
    _sqlite_fixed = True
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        if conn.dialect.name == "sqlite":
            # IMMEDIATE: two requests that read and then write would otherwise fail at once with
            # "database is locked" instead of waiting their turn (busy_timeout).
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def register_blueprints(app: Flask) -> None:
    from .account.views import bp as account_bp
    from .admin.views import bp as admin_bp
    from .api.views import bp as api_bp
    from .auth.views import bp as auth_bp
    from .complaints.views import bp as complaints_bp
    from .dossiers.views import bp as dossiers_bp
    from .hotline.views import bp as hotline_bp
    from .kiosk.views import bp as kiosk_bp
    from .notifications.views import bp as notifications_bp
    from .open311.views import bp as open311_bp
    from .pakn.views import bp as pakn_bp
    from .phone.views import bp as phone_bp
    from .public.views import bp as public_bp
    from .public.views import health_bp
    from .qrcodes.views import bp as qrcodes_bp
    from .reports.views import bp as reports_bp
    from .sms import webhook_inbound, webhook_status  # noqa: F401 - their routes join the webhook blueprint
    from .sms.blueprint import bp as sms_bp
    from .staff_intake.views import bp as staff_intake_bp
    from .survey_links.views import bp as survey_links_bp

    for blueprint in (public_bp, health_bp, kiosk_bp, phone_bp, qrcodes_bp, auth_bp, account_bp, admin_bp, reports_bp,
                      api_bp, notifications_bp, complaints_bp):
        app.register_blueprint(blueprint)
    for blueprint in (hotline_bp, staff_intake_bp):  # PAKN intake by staff: the hotline log, letters, e-mails
        app.register_blueprint(blueprint)
    app.register_blueprint(pakn_bp)  # the citizen's PAKN pages: form, receipt, private page, published answers
    csrf.exempt(api_bp)  # the JSON API checks the X-CSRFToken header itself on its few POSTs (api/pakn.py)
    app.register_blueprint(open311_bp)
    csrf.exempt(open311_bp)  # Open311 clients authenticate by API key, not by a session
    app.register_blueprint(dossiers_bp)  # dossiers from the one-stop system, apology slips
    app.register_blueprint(survey_links_bp)  # the one-time survey links of SMS invitations
    app.register_blueprint(sms_bp)
    csrf.exempt(sms_bp)  # the gateways sign their webhooks (Twilio's signature, HMAC-SHA256)


def register_template_helpers(app: Flask) -> None:
    from .timeutil import format_date, format_datetime

    # Citizens' pages go to slow phones: no blank lines left by template tags.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["pct"] = lambda v: "—" if v is None else f"{v:.2f}".replace(".", ",") + "%"

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        lang = str(get_locale() or "vi")

        def tr(obj: Any, attr: str) -> str:
            """An object's English text when the visitor reads English and it exists."""
            if lang == "en":
                english = getattr(obj, f"{attr}_en", None)
                if english:
                    return english
            return getattr(obj, attr)

        return {"lang": lang, "tr": tr, "demo_data_present": demo_data_present}

    @app.before_request
    def remember_language() -> None:
        g.lang_from_query = request.args.get("lang") if request.args.get("lang") in ("vi", "en") else None

    @app.after_request
    def persist_language(response: Any) -> Any:
        if getattr(g, "lang_from_query", None):
            response.set_cookie("lang", g.lang_from_query, max_age=365 * 86400, samesite="Lax")
        return response


def demo_data_present() -> bool:
    """Whether this installation holds the demo agency (staff pages say so)."""
    from sqlalchemy import select

    from .models import OrgUnit

    return db.session.scalar(select(OrgUnit.id).where(OrgUnit.is_demo.is_(True)).limit(1)) is not None


def register_errors(app: Flask) -> None:
    from .errors import register_error_handlers

    register_error_handlers(app)


def register_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)


def register_complaint_jobs(app: Flask) -> None:
    """PAKN: reminders run by the worker; deadlines follow every change of the working-time calendar."""
    from .calendar_service import calendar_changed
    from .complaints import reminders, retention
    from .complaints.deadlines import on_calendar_changed
    from .outbox import register_periodic

    register_periodic("pakn-reminders", reminders.EVERY_SECONDS, reminders.reminders_job)
    register_periodic("pakn-retention", retention.EVERY_SECONDS, retention.retention_job)
    calendar_changed.connect(on_calendar_changed, app)


def register_sms_jobs() -> None:
    """SMS: delivery reconciliation and invitation jobs run by the worker; dossiers' personal data retention."""
    from .dossiers import retention
    from .outbox import register_periodic
    from .sms import invitations, status
    from .sms import retention as sms_retention

    status.register_jobs()
    invitations.register_jobs()
    register_periodic("dossier-retention", retention.EVERY_SECONDS, retention.retention_job)
    register_periodic("sms-inbound-retention", sms_retention.EVERY_SECONDS, sms_retention.retention_job)


def register_worker(app: Flask) -> None:
    """`make run` only (WORKER_IN_PROCESS): the outbox worker as a thread of the server, from its first request."""
    from .outbox.runner import register_in_process_worker

    register_in_process_worker(app)
