"""Vietnamese phone numbers: one written form (0xxxxxxxxx), the gateway's form (+84…), a mask and a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app

_SEPARATORS = re.compile(r"[\s.\-()]")
_LOCAL = re.compile(r"0\d{8,10}")


def normalise_phone(raw: str | None) -> str | None:
    """A Vietnamese phone number as 0xxxxxxxxx (from +84 / 84 / spaces / dots), or None when it is not one."""
    digits = _SEPARATORS.sub("", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits if _LOCAL.fullmatch(digits) else None


def to_e164(phone: str) -> str:
    """0901234567 -> +84901234567, the form gateways take; a number already international is kept."""
    local = normalise_phone(phone)
    if local is None:
        return phone if phone.startswith("+") else "+" + phone.lstrip("0")
    return "+84" + local[1:]


def mask_phone(phone: str | None) -> str:
    """0905***456: enough to tell two numbers apart, not enough to call them."""
    if not phone:
        return ""
    if len(phone) <= 6:
        return "***"
    return f"{phone[:4]}***{phone[-3:]}"


def phone_hash(phone: str) -> str:
    """A keyed hash of the number (its 0xxxxxxxxx form): opt-outs, one invitation per period and replies are
    matched on it, so those tables never hold the number itself."""
    local = normalise_phone(phone) or phone
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"phone|" + local.encode(), hashlib.sha256).hexdigest()
