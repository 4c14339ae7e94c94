"""Check a login: one refusal for every reason, each costing one argon2 verification, with growing delays."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from ..audit import record
from ..extensions import db
from ..models import User
from ..models.user import burn_password_check
from ..timeutil import utcnow
from . import throttle


class LoginRefused(Exception):
    """The login did not succeed; the message says why in words a user can act on."""


def wait_message(seconds: int) -> str:
    """The sentence telling how long to wait, in seconds or (past 90 s) minutes."""
    if seconds <= 90:
        return ngettext("Đã nhập sai nhiều lần; vui lòng thử lại sau %(num)d giây.",
                        "Đã nhập sai nhiều lần; vui lòng thử lại sau %(num)d giây.", seconds)
    minutes = -(-seconds // 60)
    return ngettext("Đã nhập sai nhiều lần; vui lòng thử lại sau %(num)d phút.",
                    "Đã nhập sai nhiều lần; vui lòng thử lại sau %(num)d phút.", minutes)


def _refuse(user: User | None, reason: str, wait: int = 0) -> LoginRefused:
    """Audit the refusal, commit it (the request ends in an error page) and build the one message."""
    record(None, "login.failed", user, reason=reason)
    db.session.commit()
    # Unknown e-mail, wrong password and inactive account read the same; the wait is computed for
    # unknown e-mails too, so saying it tells nobody which e-mails have accounts.
    message = _("Email hoặc mật khẩu không đúng.")
    return LoginRefused(f"{message} {wait_message(wait)}" if wait else message)


def authenticate(email: str, password: str, address: str | None) -> User:
    """The user for these credentials, or LoginRefused; a throttled attempt is refused unchecked."""
    now = utcnow()
    keys = throttle.keys_for(email, address)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    wait = throttle.wait_seconds(keys, now)
    if wait:
        burn_password_check(password)  # the password is not checked, but the refusal costs the same
        raise _refuse(user, "throttled", wait)
    if user is None or not user.active:
        burn_password_check(password)
        reason = "unknown_email" if user is None else "inactive"
    elif user.check_password(password):
        throttle.forget_pair(keys)
        user.last_login_at = now
        record(user, "login", user)
        return user
    else:
        reason = "bad_password"
    throttle.record_failure(keys, now)
    raise _refuse(user, reason)
