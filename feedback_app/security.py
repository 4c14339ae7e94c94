"""Deny by default: public endpoints are an explicit allowlist; roles; security headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

# Every endpoint a visitor may open without logging in, by name. A test checks this list against the app.
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "public.home",
        "public.set_language",
        "public.feedback_channels",
        "kiosk.kiosk_page",
        "kiosk.kiosk_submit",
        "kiosk.kiosk_token",
        "kiosk.officer_photo",
        "phone.form",
        "phone.submit",
        "phone.switch_language",
        "phone.thanks",
        "pakn.new",
        "pakn.receipt",
        "pakn.lookup",
        "pakn.satisfaction",
        "pakn.published",
        "qrcodes.counter_svg",
        "qrcodes.counter_png",
        "api.counters",
        "api.openapi",
        "api.calendar_year",
        "api.calendar_deadline",
        # the one-stop system's dossier feed checks its API key itself (scope 'dossiers')
        "api.dossiers_import",
        # Open311: reading is public; filing checks the API key itself
        "open311.services_list",
        "open311.service_definition",
        "open311.requests_list",
        "open311.request_one",
        "open311.create_request",
        # SMS: the gateways' webhooks check their own signatures; the one-time survey links
        "sms.twilio_status",
        "sms.twilio_inbound",
        "sms.gateway_status",
        "sms.gateway_inbound",
        "survey_links.survey",
        "survey_links.save_draft",
        "survey_links.thanks",
        "auth.login",
        "health.health",
    }
)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let through only logged-in users with one of the named roles."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def logged_in() -> bool:
    """Whether a staff member is logged in; a visitor's session (a kiosk's form token) is never looked at by
    Flask-Login, whose strong session protection would otherwise rewrite it and clear cookies on each request."""
    return "_user_id" in session and current_user.is_authenticated


def require_login_unless_public() -> Any:
    """before_request: anything not on the allowlist needs a logged-in staff member."""
    if request.endpoint == "static":
        return None
    # Loading the user checks (and may end or touch) the server-side session: done here, before any view,
    # so that write is never mixed into a view's own transaction.
    authenticated = logged_in()
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS or authenticated:
        return None
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


def _private_answer() -> bool:
    """Whether this answer is for staff eyes: it must not stay in a browser's or a proxy's cache."""
    if request.endpoint == "static":
        return False
    if request.path.startswith("/api/") or request.endpoint == "auth.login":
        return True
    return request.endpoint not in PUBLIC_ENDPOINTS or logged_in()


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def add_security_headers(response: Any) -> Any:
    """after_request: CSP without inline script, no framing, HSTS behind HTTPS, no-store for staff."""
    headers = response.headers
    # One pass over what the view set (this runs on every response): a page's own value wins, e.g. the survey
    # pages' no-store, the QR images' public caching.
    present = {name.lower() for name, _value in headers.items()}
    wanted = list(SECURITY_HEADERS)
    if request.is_secure or current_app.config.get("PRODUCTION"):
        wanted.append(HSTS)
    if "cache-control" not in present and _private_answer():
        wanted.append(("Cache-Control", "no-store"))
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


def register_security(app: Flask) -> None:
    """Bind the login gate and the headers to the app."""
    app.before_request(require_login_unless_public)
    app.after_request(add_security_headers)
