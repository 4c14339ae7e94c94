"""Staff login and logout; the session is renewed at login."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..audit import record
from ..extensions import db, limiter
from ..redirects import safe_local_path
from .forms import EmptyForm, LoginForm
from .services import LoginRefused, authenticate
from .sessions import end_current_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    return safe_local_path(target, url_for("reports.results"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT"], methods=["POST"])
def login() -> Any:
    """Staff login."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr)
        except LoginRefused as refused:
            form.password.errors = [str(refused)]
            status = 400
        else:
            session.clear()  # a new session at login: nothing carried over from before
            session.permanent = True  # the cookie goes after PERMANENT_SESSION_LIFETIME, the row ends then too
            login_user(user, remember=False)  # starts the server-side session (auth/sessions.py)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Any:
    """Log out (POST with CSRF)."""
    form = EmptyForm()
    if form.validate_on_submit():
        record(current_user, "logout", current_user._get_current_object())
        end_current_session("logout")  # a copy of the cookie opens nothing from now on
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))
