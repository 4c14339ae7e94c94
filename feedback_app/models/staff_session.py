"""Server-side staff sessions: the signed cookie carries a random secret, this row says whether it still counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import as_utc


class StaffSession(db.Model):
    """One login in one browser; logging out, expiry or a password change ends it for good."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 of the secret in the cookie: a copy of this table opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # logout, idle, expired, password, changed, renewed
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    def ending_reason(self, now: datetime, idle: timedelta) -> str | None:
        """Why this session is over at `now` ("expired", "idle"), or None while it is live."""
        if now >= as_utc(self.expires_at):
            return "expired"
        if now - as_utc(self.last_seen_at) >= idle:
            return "idle"
        return None
