"""The account page: any logged-in staff member changes their own password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.sessions import current_session_id
from ..extensions import db, limiter
from .forms import PasswordChangeForm
from .services import PasswordChangeRefused, change_own_password

bp = Blueprint("account", __name__)


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT"], methods=["POST"])
def password() -> Any:
    """Change one's own password; the account's other sessions end, this one goes on."""
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            change_own_password(current_user._get_current_object(), form.current_password.data,
                                form.new_password.data, request.remote_addr, current_session_id())
        except PasswordChangeRefused as refused:
            db.session.commit()  # the failed attempt counts (throttle, audit)
            getattr(form, refused.field).errors = [str(refused)]
            status = 400
        else:
            db.session.commit()
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản này đã kết thúc."), "info")
            return redirect(url_for("account.password"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("account/password.html", form=form), status
