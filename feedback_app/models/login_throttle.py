"""Failed logins counted per (account e-mail, address) and per address, under keyed hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class LoginThrottle(db.Model):
    """Recent failures for one key; in the database so that every app server sees the same counts."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC of "pair|e-mail|address" or "address|address" with the app's secret: never the address itself.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    next_allowed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
