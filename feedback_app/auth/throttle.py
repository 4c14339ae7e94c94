"""Growing delays after failed logins, per (account e-mail, address) and per address.

Nobody is locked out: failures from one address delay only that address, so the owner of an account
logs in from elsewhere whatever an attacker does. Counts live in the database (every app server agrees),
keyed by an HMAC of the e-mail and address, so the table holds no address nor e-mail.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import LoginThrottle
from ..netaddr import counted_address
from ..timeutil import as_utc


@dataclass(frozen=True)
class ThrottleKeys:
    """The two counters one login attempt touches."""

    pair: str  # this e-mail from this address
    address: str  # any e-mail from this address


def _digest(*parts: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, "|".join(("login-throttle", *parts)).encode(), hashlib.sha256).hexdigest()


def keys_for(email: str, ip: str | None) -> ThrottleKeys:
    """The keyed hashes of (e-mail, address) and of the address; the e-mail need not have an account."""
    address = counted_address(ip)
    return ThrottleKeys(pair=_digest("pair", email.strip().lower(), address), address=_digest("address", address))


def delay_after(failures: int, free: int) -> timedelta:
    """The wait after `failures` recent failures: none for the first `free`, then 1, 2, 4 … s up to the cap."""
    if failures < free:
        return timedelta(0)
    config = current_app.config
    doubled = config["LOGIN_DELAY_SECONDS"] * 2 ** min(failures - free, 30)
    return timedelta(seconds=min(config["LOGIN_MAX_DELAY_SECONDS"], doubled))


def wait_seconds(keys: ThrottleKeys, now: datetime) -> int:
    """How many seconds this attempt must still wait (0: it may try now)."""
    rows = db.session.scalars(select(LoginThrottle.next_allowed_at).where(
        LoginThrottle.key_hash.in_([keys.pair, keys.address]), LoginThrottle.next_allowed_at.is_not(None)))
    waits = [(as_utc(at) - now).total_seconds() for at in rows]
    return max(0, math.ceil(max(waits, default=0)))


def record_failure(keys: ThrottleKeys, now: datetime) -> None:
    """Count one failure on both keys and set their next allowed attempt; forget failures past the memory."""
    config = current_app.config
    forget_before = now - timedelta(hours=config["LOGIN_FAILURE_MEMORY_HOURS"])
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < forget_before))
    _count(keys.pair, now, config["LOGIN_FREE_FAILURES"])
    _count(keys.address, now, config["LOGIN_ADDRESS_FREE_FAILURES"])


def forget_pair(keys: ThrottleKeys) -> None:
    """A success from an address clears that address's failures for this account (not the address's own)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash == keys.pair))


def _count(key: str, now: datetime, free: int) -> None:
    table = LoginThrottle.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement adds the failure, so two app servers counting at once both count (no lost update).
    counted = insert(table).values(key_hash=key, failures=1, last_failure_at=now).on_conflict_do_update(
        index_elements=[table.c.key_hash],
        set_={"failures": table.c.failures + 1, "last_failure_at": now},
    ).returning(table.c.failures)
    failures = db.session.execute(counted).scalar_one()
    delay = delay_after(failures, free)
    db.session.execute(update(table).where(table.c.key_hash == key)
                       .values(next_allowed_at=now + delay if delay else None))
