"""Reading identifiers, small numbers and free text that people and browsers send, without surprises."""

from __future__ import annotations

import re
import unicodedata

_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also accepts "²", which int() refuses
# Refused in free text: C0/C1 controls (NUL breaks PostgreSQL), bidirectional overrides and isolates (they
# make a staff page show text in another order than it was written), lone surrogates.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Dropped from free text: invisible characters that carry nothing a reader could see.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def parse_id(raw: object) -> int | None:
    """A database id (or scale value) from text or a JSON number; None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw < 2**31 else None
    text = str(raw).strip() if raw is not None else ""
    return int(text) if _DIGITS.fullmatch(text) else None


def clean_text(raw: str) -> tuple[str, bool]:
    """Free text as stored: NFC, invisible characters dropped, trimmed; and whether it holds characters
    that must be refused (controls, bidirectional overrides, lone surrogates)."""
    if _REFUSED.search(raw):
        return raw.strip(), True
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", raw)).strip(), False
