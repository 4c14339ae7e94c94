"""What a citizen's SMS asks for, from its words: opt out, opt back in, help, or a complaint (PAKN/góp ý).

Pure functions, no database, no app (property-tested in tests/test_sms_replies.py). A message is compared in
its folded form: Unicode NFKC (full-width letters), Vietnamese diacritics removed (Đ -> D), upper case, runs of
spaces as one. Opt-out, opt-in and help keywords are the whole message (trailing punctuation allowed), so a
complaint that merely starts with "Hủy" is not an opt-out; a complaint keyword starts the message and is
followed by a space, colon or dash and the text, which is kept as the citizen wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Compared with every space removed: "TU CHOI", "TUCHOI" and "TU   CHOI" are one keyword.
# Not "DUNG" (dừng): folded it is also "đúng" (right) and a given name.
OPT_OUT_WORDS = ("STOP", "HUY", "TU CHOI", "HUY DANG KY", "NGUNG", "UNSUBSCRIBE")
OPT_IN_WORDS = ("START", "DANG KY", "BAT LAI", "NHAN LAI")
HELP_WORDS = ("HELP", "HUONG DAN", "HD", "TRO GIUP", "?")
# Complaint keywords and the kind of item each files (complaints.models KINDS). Longest first: "PAKN" before
# "PA", "PHAN ANH" before "PA".
COMPLAINT_PREFIXES = (
    ("PHAN ANH", "phan_anh"),
    ("KIEN NGHI", "kien_nghi"),
    ("GOP Y", "gop_y"),
    ("PAKN", "phan_anh"),
    ("GY", "gop_y"),
    ("PA", "phan_anh"),
    ("KN", "kien_nghi"),
)

_TRIM = " \t\r\n.,;:!-–—_*\"'()[]{}"


def fold_char(char: str) -> str:
    """One character as keywords are compared: base letter, no diacritics, upper case (may be empty)."""
    if char in "đĐ":
        return "D"
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def fold(text: str) -> str:
    """Text without diacritics, upper case, spaces collapsed and trimmed: "  Từ  chối " -> "TU CHOI"."""
    folded = "".join(fold_char(c) for c in text or "")
    return " ".join(folded.split())


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics, case kept ("Hồ sơ" -> "Ho so"): 160 GSM characters a segment, not 70."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", text)
                                                if not unicodedata.combining(c)))


def _compact(text: str) -> str:
    return "".join(fold(text).strip(_TRIM).split())


_OPT_OUT = frozenset("".join(w.split()) for w in OPT_OUT_WORDS)
_OPT_IN = frozenset("".join(w.split()) for w in OPT_IN_WORDS)
_HELP = frozenset("".join(w.split()) for w in HELP_WORDS)


def is_opt_out(text: str) -> bool:
    """The whole message is an opt-out keyword (STOP, HUY, HỦY, TU CHOI, TỪ CHỐI, … any case or spacing)."""
    return _compact(text) in _OPT_OUT


def is_opt_in(text: str) -> bool:
    """The whole message is an opt-in keyword (START, DANG KY, ĐĂNG KÝ, BAT LAI, NHAN LAI)."""
    return _compact(text) in _OPT_IN


def is_help(text: str) -> bool:
    """The whole message asks for help (HELP, HUONG DAN, HD, TRO GIUP, ?)."""
    return _compact(text) in _HELP


@dataclass(frozen=True)
class ComplaintText:
    """A complaint by SMS: the keyword that opened it, the kind it files, and the citizen's own words."""

    keyword: str
    kind: str
    content: str


# The keyword (letters may be separated by spaces: "G O P Y", "GOPY"), then at least one separator, then text.
_PREFIX_RE = re.compile(
    r"\A\s*(?P<word>" + "|".join(r"\s*".join(re.escape(ch) for ch in word.replace(" ", ""))
                                   for word, _kind in COMPLAINT_PREFIXES)
    + r")(?:\s*[:\-–—.,]\s*|\s+)(?P<rest>\S.*)\Z",
    re.DOTALL,
)
_KINDS = {word.replace(" ", ""): kind for word, kind in COMPLAINT_PREFIXES}


def complaint_text(text: str) -> ComplaintText | None:
    """A message opening with a complaint keyword ("PAKN: …", "Góp ý …", "kn …") and its content as written;
    None for anything else (also for the keyword alone, without content)."""
    original = unicodedata.normalize("NFC", text or "")
    # Fold character by character, remembering where each folded character came from, so the match found in
    # the folded text gives back the citizen's own words (diacritics and case kept).
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(original):
        for piece in fold_char(char):
            folded.append(piece)
            origin.append(index)
    match = _PREFIX_RE.match("".join(folded))
    if match is None:
        return None
    word = "".join(match.group("word").split())
    content = original[origin[match.start("rest")]:].strip()
    if not content:
        return None
    return ComplaintText(keyword=word, kind=_KINDS[word], content=content)
