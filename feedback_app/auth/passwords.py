"""The password rule, one function for every place a password is set (admin form, create-user, self-service)."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128  # argon2 takes any length; this only keeps the strength check quick
MIN_DISTINCT = 5
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable" against an online attack and a slow offline one
ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters are judged
KEYBOARD_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")
APP_WORDS = ("sipas", "danhgia", "danh gia", "hailong", "khaosat", "feedback", "admin")
# zxcvbn keeps its word lists in a module-level dict it changes on every call: one call at a time.
_zxcvbn_lock = threading.Lock()


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (auth/common_passwords.txt)."""
    text = (Path(__file__).parent / "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _fold(text: str) -> str:
    """Lowercase without Vietnamese marks: "Nguyễn Đức" -> "nguyen duc", as people type them in passwords."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _personal_words(email: str, full_name: str) -> list[str]:
    """What of the account must not appear in its password: the e-mail's name part, the person's name."""
    local = _fold(email.partition("@")[0])
    name = _fold(full_name).split()
    words = [local] + re.split(r"[^a-z0-9]+", local) + ["".join(name)] + name
    # Short pieces ("an", "vu") occur in too many unrelated passwords to refuse on them.
    return [w for w in dict.fromkeys(words) if len(w) >= 4]


def _mostly_sequences(password: str) -> bool:
    """Whether half or more of it is runs like 1234, abcd, qwerty, 4321 or aaaa (three characters or more)."""
    text = password.lower()
    covered = [False] * len(text)
    for i in range(len(text) - 2):
        a, b, c = (ord(x) for x in text[i:i + 3])
        window = text[i:i + 3]
        run = (b - a == c - b and abs(b - a) <= 1) or any(
            window in row or window in row[::-1] for row in KEYBOARD_ROWS)
        if run:
            covered[i:i + 3] = [True] * 3
    return sum(covered) * 2 >= len(text)


def password_problem(password: str, *, email: str = "", full_name: str = "") -> str | None:
    """What is wrong with this password for this account, in words the user can act on; None if it is fine."""
    if len(password) < MIN_LENGTH:
        return _("Mật khẩu cần ít nhất %(num)d ký tự.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Mật khẩu dài tối đa %(num)d ký tự.", num=MAX_LENGTH)
    if len(set(password)) < MIN_DISTINCT:
        return _("Mật khẩu cần ít nhất %(num)d ký tự khác nhau.", num=MIN_DISTINCT)
    folded = _fold(password)
    personal = _personal_words(email, full_name)
    if any(word in folded for word in personal):
        return _("Mật khẩu không được chứa tên hoặc địa chỉ email của bạn.")
    core = folded.strip("0123456789 !@#$%^&*()_+-=.,;:?/\\|~`'\"[]{}<>")
    if core in common_passwords() or re.sub(r"[^a-z]", "", folded) in common_passwords():
        return _("Mật khẩu này quá phổ biến: nó nằm trong danh sách những mật khẩu bị thử đầu tiên.")
    if _mostly_sequences(password):
        return _("Mật khẩu không được chủ yếu là dãy ký tự liên tiếp hoặc lặp lại như 1234, abcd, qwerty, aaaa.")
    hints = [*personal, *APP_WORDS, *sorted(common_passwords())]
    with _zxcvbn_lock:
        score = zxcvbn(password[:ZXCVBN_MAX], user_inputs=hints)["score"]
    if score < MIN_SCORE:
        return _("Mật khẩu quá dễ đoán. Hãy dùng một cụm gồm vài từ không liên quan đến nhau mà chỉ bạn biết, "
                 "có thể xen số hoặc dấu.")
    return None


class StrongPassword:
    """WTForms validator: password_problem() for the account of the form (its e-mail and name fields) or,
    on a form without them, the logged-in user's own account."""

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            return
        own = current_user if current_user.is_authenticated else None
        email = getattr(getattr(form, "email", None), "data", None) or getattr(own, "email", "")
        full_name = getattr(getattr(form, "full_name", None), "data", None) or getattr(own, "full_name", "")
        problem = password_problem(field.data, email=email or "", full_name=full_name or "")
        if problem:
            raise ValidationError(problem)
