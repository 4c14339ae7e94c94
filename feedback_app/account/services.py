"""Changing one's own password: the current one checked (and throttled like a login), other sessions ended."""

from __future__ import annotations

from flask_babel import gettext as _

from ..audit import record
from ..auth import throttle
from ..auth.services import wait_message
from ..models import User
from ..models.user import burn_password_check
from ..timeutil import utcnow


class PasswordChangeRefused(Exception):
    """The change did not happen; field names the form field the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def change_own_password(user: User, current: str, new: str, address: str | None, keep_session: int | None) -> None:
    """Set the new password after checking the current one; end the user's sessions except `keep_session`."""
    now = utcnow()
    # A stolen session must not become a way to guess the password: wrong guesses count as failed logins.
    keys = throttle.keys_for(user.email, address)
    wait = throttle.wait_seconds(keys, now)
    if wait:
        burn_password_check(current)
        raise PasswordChangeRefused("current_password", wait_message(wait))
    if not user.check_password(current):
        throttle.record_failure(keys, now)
        record(user, "account.password_refused", user, reason="bad_password")
        raise PasswordChangeRefused("current_password", _("Mật khẩu hiện tại không đúng."))
    if new == current:
        raise PasswordChangeRefused("new_password", _("Mật khẩu mới phải khác mật khẩu hiện tại."))
    user.set_password(new)
    user.end_sessions("password", keep=keep_session)
    record(user, "account.password", user)
