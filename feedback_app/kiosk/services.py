"""What the survey pages need: the counter, its questionnaire, its kiosk device."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Counter, KioskDevice, QuestionnaireVersion, Service
from ..surveys.specs import UnknownCounter, counter_info

__all__ = ["DEVICE_COOKIE", "UnknownCounter", "active_counter", "device_for", "questionnaire_for", "services_for"]

DEVICE_COOKIE = "kiosk_device"


def active_counter(code: str) -> Counter:
    """The active counter with this code (officers loaded, for the page), or UnknownCounter."""
    counter = db.session.scalar(
        select(Counter).where(Counter.code == code, Counter.active.is_(True)).options(selectinload(Counter.officers))
    )
    if counter is None:
        raise UnknownCounter(code)
    return counter


def questionnaire_for(counter: Counter) -> QuestionnaireVersion | None:
    """The version citizens answer at this counter: the one its submissions are checked against."""
    version_id = counter_info(counter.code).version_id
    return db.session.get(QuestionnaireVersion, version_id) if version_id is not None else None


def services_for(counter: Counter) -> list[Service]:
    """The agency's active procedures, for the optional choice of service."""
    return list(
        db.session.scalars(
            select(Service)
            .where(Service.agency_id == counter.agency_id, Service.active.is_(True))
            .order_by(Service.name)
        )
    )


def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_device_token() -> tuple[str, str]:
    """A fresh device secret and the hash stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_device_token(token)


def device_for(counter_id: int, token: str | None) -> KioskDevice | None:
    """The registered kiosk this browser is, if it is registered for this counter."""
    if not token:
        return None
    device = db.session.scalar(select(KioskDevice).where(KioskDevice.token_hash == hash_device_token(token)))
    if device is None or not device.active or device.counter_id != counter_id:
        return None
    return device
