"""Digits a citizen replies to a survey invitation, read without surprises (pure; property-tested).

    "4"            -> Reply(overall=4)                 one digit: the overall rating
    "4 5 3 4 5"    -> Reply(factors=(4, 5, 3, 4, 5))   one digit per factor, in the questionnaire's order
    "45345", "4,5,3,4,5", "４５３４５", " 4-5-3-4-5. "  -> the same
    anything else  -> None                             (the caller answers with the help text)

Separators are any spaces and punctuation (Vietnamese and full-width commas, dots, dashes, slashes …); digits
are ASCII after Unicode NFKC (so full-width digits count). Every digit must be a value of the scale, except
`SKIPPED` (0) at the position of a factor the citizen may say does not apply to them (a factor asked only after
a yes to its screening question, such as the handling of feedback in SIPAS).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

DEFAULT_SCALE = frozenset(range(1, 6))
SKIPPED = 0  # "does not apply to me" for a screened factor
MAX_TEXT = 200  # a longer message is not a reply of digits
# Spaces, punctuation, symbols (+ | ~ emoji …), controls and invisible format characters (line breaks, ZWSP).
_SEPARATOR_CATEGORIES = ("Z", "P", "S", "Cc", "Cf")


@dataclass(frozen=True)
class Reply:
    """What a reply says: an overall rating, or one value per factor (SKIPPED where it does not apply)."""

    overall: int | None = None
    factors: tuple[int, ...] = ()


def digits_of(text: str) -> tuple[int, ...] | None:
    """The digits of a message made only of digits and separators, in order; None when it holds anything else
    (a letter, a digit of another script) or no digit at all."""
    if not text or len(text) > MAX_TEXT:
        return None
    digits: list[int] = []
    for char in unicodedata.normalize("NFKC", text):
        if "0" <= char <= "9":
            digits.append(ord(char) - ord("0"))
        elif not unicodedata.category(char).startswith(_SEPARATOR_CATEGORIES):
            return None
    return tuple(digits) or None


def parse_reply(text: str, factor_count: int, scale: Collection[int] = DEFAULT_SCALE,
                skippable: Collection[int] = frozenset()) -> Reply | None:
    """The reply in `text` for a questionnaire of `factor_count` factors on `scale`; None if it is not one.

    `skippable`: positions (0-based) of factors that may be answered SKIPPED. One digit is always the overall
    rating; several must be exactly one per factor (a questionnaire of one factor takes only the one digit).
    """
    digits = digits_of(text)
    if digits is None:
        return None
    if len(digits) == 1:
        return Reply(overall=digits[0]) if digits[0] in scale else None
    if factor_count < 2 or len(digits) != factor_count:
        return None
    for position, value in enumerate(digits):
        if value not in scale and not (value == SKIPPED and position in skippable):
            return None
    return Reply(factors=digits)
