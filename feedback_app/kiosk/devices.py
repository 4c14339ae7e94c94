"""Registered kiosk tablets: their secret cookie, and what the server knows of each one."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import KioskDevice
from ..timeutil import utcnow

DEVICE_COOKIE = "kiosk_device"


@dataclass(frozen=True)
class DeviceInfo:
    """A registered, active kiosk as the survey pages see it."""

    id: int
    name: str
    counter_id: int
    token_hash: str


def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_device_token() -> tuple[str, str]:
    """A fresh device secret and the hash stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_device_token(token)


def _cache() -> dict[str, tuple[float, DeviceInfo | None]]:
    return current_app.extensions.setdefault("kiosk_devices", {})


def registered_device(token: str | None) -> DeviceInfo | None:
    """The active registered device this secret belongs to (kept COUNTER_CACHE_SECONDS), or None."""
    if not token or len(token) > 200:
        return None
    token_hash = hash_device_token(token)
    cache = _cache()
    now = time.monotonic()
    hit = cache.get(token_hash)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = db.session.execute(
        select(KioskDevice.id, KioskDevice.name, KioskDevice.counter_id)
        .where(KioskDevice.token_hash == token_hash, KioskDevice.active.is_(True))
    ).first()
    info = DeviceInfo(row.id, row.name, row.counter_id, token_hash) if row else None
    ttl = current_app.config.get("COUNTER_CACHE_SECONDS", 0)
    if ttl > 0:
        if len(cache) > 10_000:  # random cookies must not grow the cache without bound
            cache.clear()
        cache[token_hash] = (now + ttl, info)
    return info


def device_for(counter_id: int, token: str | None) -> DeviceInfo | None:
    """The registered kiosk this browser is, if it is registered for this counter."""
    device = registered_device(token)
    return device if device is not None and device.counter_id == counter_id else None


HEARTBEAT_WRITE_SECONDS = 10  # finer than the gap between two citizens, coarse enough to cost nothing


def record_heartbeat(device: DeviceInfo, pending: int | None) -> bool:
    """The device called in. With an empty queue (pending == 0) nothing it completed earlier is still
    waiting to be sent, which bounds the completion times its later responses may claim. Written at most
    every HEARTBEAT_WRITE_SECONDS per device and process; True when written."""
    recent = current_app.extensions.setdefault("kiosk_heartbeats", {})
    key = (device.token_hash, pending == 0)  # the secret, not the id: a re-activated tablet starts afresh
    now_mono = time.monotonic()
    if recent.get(key, -HEARTBEAT_WRITE_SECONDS) > now_mono - HEARTBEAT_WRITE_SECONDS:
        return False
    recent[key] = now_mono
    now = utcnow()
    values: dict[str, datetime] = {"last_seen_at": now}
    if pending == 0:
        values["queue_empty_at"] = now
    db.session.execute(update(KioskDevice).where(KioskDevice.id == device.id).values(**values))
    return True
