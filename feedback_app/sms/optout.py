"""Opting out of survey SMS and back in: by keyword (STOP / DANG KY …) or by staff on the citizen's request.

A phone is opted out while its SmsOptOut row exists with `opted_in_at` empty; opting back in stamps
`opted_in_at` (the row and its first date stay, as the record of the request). Both writes are single upserts,
so two messages from one phone at the same moment cannot collide on the key. Only the keyed hash of the phone is
stored here.
"""

from __future__ import annotations

from sqlalchemy import DateTime, String, bindparam, select, text

from ..audit import record
from ..complaints.transaction import one_commit
from ..extensions import db
from ..models import User
from ..models.sms import SmsOptOut
from ..phones import mask_phone, normalise_phone, phone_hash
from ..timeutil import utcnow

STAFF_ROLES = ("admin", "office", "hotline")  # who records a citizen's request made by phone, letter or in person
SOURCES = ("sms", "staff")

_UPSERT_OUT = text(
    "INSERT INTO sms_opt_outs (phone_hash, opted_out_at, opted_in_at, source) VALUES (:h, :now, NULL, :source) "
    "ON CONFLICT (phone_hash) DO UPDATE SET opted_out_at = excluded.opted_out_at, opted_in_at = NULL, "
    "source = excluded.source"
).bindparams(bindparam("h", type_=String()), bindparam("now", type_=DateTime(timezone=True)),
             bindparam("source", type_=String()))
_OPT_IN = text(
    "UPDATE sms_opt_outs SET opted_in_at = :now, source = :source WHERE phone_hash = :h AND opted_in_at IS NULL"
).bindparams(bindparam("h", type_=String()), bindparam("now", type_=DateTime(timezone=True)),
             bindparam("source", type_=String()))


class OptOutRefused(PermissionError):
    """This user may not change a citizen's SMS consent."""


class NotAPhone(ValueError):
    """The number given is not a Vietnamese phone number."""


def is_opted_out(hashed: str) -> bool:
    """Whether the phone (by its keyed hash) said STOP and has not opted back in."""
    return db.session.scalar(select(SmsOptOut.phone_hash).where(SmsOptOut.phone_hash == hashed,
                                                                 SmsOptOut.opted_in_at.is_(None))) is not None


def apply_opt_out(hashed: str, source: str = "sms") -> None:
    """Opt the phone out (again): no invitation will be sent to it. In the caller's transaction, no commit."""
    db.session.execute(_UPSERT_OUT, {"h": hashed, "now": utcnow(), "source": source})


def apply_opt_in(hashed: str, source: str = "sms") -> bool:
    """Opt the phone back in; False when it was not opted out. In the caller's transaction, no commit."""
    return db.session.execute(_OPT_IN, {"h": hashed, "now": utcnow(), "source": source}).rowcount > 0


def _staff_phone(user: User, phone: str) -> tuple[str, str]:
    if user is None or user.role not in STAFF_ROLES:
        raise OptOutRefused(user.role if user else "anonymous")
    local = normalise_phone(phone)
    if local is None:
        raise NotAPhone(phone)
    return local, phone_hash(local)


def opt_out_on_request(user: User, phone: str) -> None:
    """Staff record a citizen's request (call, letter, counter) to receive no more survey SMS; audited."""
    local, hashed = _staff_phone(user, phone)
    with one_commit():
        apply_opt_out(hashed, "staff")
        record(user, "sms.opt_out", None, phone=mask_phone(local))


def opt_in_on_request(user: User, phone: str) -> bool:
    """Staff record a citizen's request to receive survey SMS again; audited. False if it was not opted out."""
    local, hashed = _staff_phone(user, phone)
    with one_commit():
        changed = apply_opt_in(hashed, "staff")
        record(user, "sms.opt_in", None, phone=mask_phone(local), changed=changed)
    return changed
