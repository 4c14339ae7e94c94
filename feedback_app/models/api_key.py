"""API keys that other systems (Open311 clients, the one-stop system) present; only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

PREFIX_LENGTH = 8
# What a key opens: Open311 (filing PAKN from other systems) or the dossier feed of the one-stop system.
API_KEY_SCOPES = ("open311", "dossiers")


def hash_key(key: str) -> str:
    """SHA-256 of a key: keys are long random strings, so a fast hash is enough (no password stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(db.Model):
    """One system's key: shown once when issued, revocable, scoped to an agency when given one."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(PREFIX_LENGTH))  # the key's first characters, to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20), default="open311", server_default="open311")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agency = relationship("OrgUnit")

    @classmethod
    def issue(cls, name: str, agency_id: int | None = None, created_by_id: int | None = None,
              scope: str = "open311") -> tuple[ApiKey, str]:
        """A new key; the plain key is returned once and never stored."""
        if scope not in API_KEY_SCOPES:
            raise ValueError(f"unknown API key scope {scope}")
        plain = "fk_" + secrets.token_urlsafe(32)
        key = cls(name=name, prefix=plain[:PREFIX_LENGTH], key_hash=hash_key(plain), agency_id=agency_id,
                  created_by_id=created_by_id, scope=scope)
        return key, plain

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        """No request with this key is accepted any more."""
        if self.revoked_at is None:
            self.revoked_at = utcnow()
