"""Where a "go back" may lead: only a plain path on this site, never another host."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit

# Browsers drop tabs and newlines from addresses and read "\" as "/", so "/\t/x", "/\x" and "//x" all
# lead to the host x. Any control character, backslash or doubled slash makes the target unsafe.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]|//")


def safe_local_path(target: str | None, fallback: str, *, drop_params: tuple[str, ...] = ("lang",)) -> str:
    """target when it is a path on this site (without the dropped query parameters), else fallback."""
    if not target or not target.startswith("/") or _UNSAFE.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    # A lang= left in the way back would outrank the language just chosen.
    # The other parameters are kept exactly as they were written.
    query = "&".join(p for p in parts.query.split("&") if p and unquote_plus(p.partition("=")[0]) not in drop_params)
    return f"{parts.path}?{query}" if query else parts.path
