"""Reading identifiers and small numbers that people and browsers send, without surprises."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also accepts "²", which int() refuses
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_id(raw: object) -> int | None:
    """A database id (or scale value) from text or a JSON number; None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw < 2**31 else None
    text = str(raw).strip() if raw is not None else ""
    return int(text) if _DIGITS.fullmatch(text) else None


def has_control_characters(text: str) -> bool:
    """NUL and other control characters: PostgreSQL refuses NUL in text, and none belongs in a comment."""
    return bool(_CONTROL.search(text))
