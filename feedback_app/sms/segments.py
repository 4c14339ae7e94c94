"""How many SMS segments a text costs, and the same text without Vietnamese diacritics.

A text written only in the GSM 03.38 alphabet (GSM-7) fits 160 characters in one segment and 153 in each
segment of a longer message; the characters of its extension table (^ { } [ ] ~ | € \\ and form feed) take two.
Anything else (Vietnamese letters with diacritics: ả, ơ, ư, đ…) sends the whole text as UCS-2: 70 UTF-16 units in
one segment, 67 in each part of a longer one (a character outside the BMP, an emoji, takes two units). Neither an
escape pair nor a surrogate pair is split across two segments. The same arithmetic is in
static/js/sms-template.js for the template editor's live count.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# Letters NFD does not take apart: đ/Đ (Vietnamese), and a few others a name may hold.
_NO_DECOMPOSITION = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss",
                                   "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                                   "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                                   "\u2014": "-", "\u2026": "...", "\u00a0": " "})


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 units (UCS-2)
    segments: int
    per_segment: int  # what one segment holds at this length (160/153 or 70/67)

    @property
    def unicode(self) -> bool:
        return self.encoding == "UCS-2"


def is_gsm7(text: str) -> bool:
    """Whether the whole text can be sent in the GSM-7 alphabet."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _sizes(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentCount:
    """Encoding, length in units and number of segments of an SMS text (0 segments for an empty text)."""
    gsm = is_gsm7(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    sizes = _sizes(text, gsm)
    units = sum(sizes)
    encoding = "GSM-7" if gsm else "UCS-2"
    if units == 0:
        return SegmentCount(encoding, 0, 0, single)
    if units <= single:
        return SegmentCount(encoding, units, 1, single)
    segments, used = 1, 0
    for size in sizes:  # a character never straddles two parts
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return SegmentCount(encoding, units, segments, part)


def strip_diacritics(text: str) -> str:
    """The text without Vietnamese diacritics ("Sở Tư pháp: đánh giá" -> "So Tu phap: danh gia"); other letters
    outside GSM-7 become their closest plain letter or "?" (never left to turn the whole SMS into UCS-2)."""
    plain = unicodedata.normalize("NFD", text.translate(_NO_DECOMPOSITION))
    out = []
    for ch in plain:
        if unicodedata.combining(ch):
            continue
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
        elif ch in "\t":
            out.append(" ")
        else:
            out.append("?")
    return unicodedata.normalize("NFC", "".join(out))
