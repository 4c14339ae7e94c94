"""Check a login, throttling repeated failures per account."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..audit import record
from ..extensions import db
from ..models import User
from ..timeutil import as_utc, utcnow


class LoginRefused(Exception):
    """The login did not succeed; the message says why in words a user can act on."""


def authenticate(email: str, password: str) -> User:
    """The user for these credentials, or LoginRefused; locks the account after repeated failures."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    # One message for a wrong password, an unknown e-mail and a locked account: it tells nobody which
    # e-mails have accounts, and still tells a locked-out user to wait.
    generic = _l("Email hoặc mật khẩu không đúng. Sau nhiều lần nhập sai, tài khoản sẽ tạm khóa ít phút.")
    if user is None:
        raise LoginRefused(generic)
    now = utcnow()
    if user.locked_until and as_utc(user.locked_until) > now:
        raise LoginRefused(generic)
    if not user.check_password(password) or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            record(None, "login.locked", user)
        db.session.commit()
        raise LoginRefused(generic)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(user, "login", user)
    return user
