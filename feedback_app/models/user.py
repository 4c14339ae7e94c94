"""Staff accounts: a role scoped to an organisation unit."""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, false, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..labels import ROLE_LABELS, label_of
from ..timeutil import utcnow
from .org import Officer, OrgUnit
from .staff_session import StaffSession

ROLES = ("admin", "office", "unit", "counter", "viewer", "hotline")  # names: feedback_app/labels.py ROLE_LABELS
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))  # made once per process, with the current parameters


def burn_password_check(password: str) -> None:
    """One argon2 verification that cannot succeed: an unknown e-mail costs as long as a known one."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), password)


class User(UserMixin, db.Model):
    """A staff member; citizens never log in."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin','office','unit','counter','viewer','hotline')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # The head of their unit (trưởng phòng; for the office, Chánh Văn phòng): PAKN reminders escalate to heads.
    is_head: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()
    officer: Mapped[Officer | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def end_sessions(self, reason: str = "changed", keep: int | None = None) -> None:
        """Log this user out everywhere (new password, role, scope, deactivation), except session `keep`."""
        ending = update(StaffSession).where(StaffSession.user_id == self.id, StaffSession.ended_at.is_(None))
        if keep is not None:
            ending = ending.where(StaffSession.id != keep)
        db.session.execute(ending.values(ended_at=utcnow(), ended_reason=reason))

    def set_password(self, password: str) -> None:
        """Store an argon2 hash of the password."""
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        """Verify a password; rehash when argon2's parameters have changed."""
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.set_password(password)
        return True

    @property
    def role_label(self) -> str:
        return label_of(ROLE_LABELS, self.role)  # in the reader's language
