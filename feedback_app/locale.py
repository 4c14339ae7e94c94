"""Which language a request is answered in: Vietnamese first, English when chosen."""

from __future__ import annotations

from flask import has_request_context, request


def select_locale() -> str:
    """Vietnamese unless the visitor chose English (query string or cookie); Vietnamese outside requests."""
    if not has_request_context():
        return "vi"
    choice = request.args.get("lang") or request.cookies.get("lang")
    if choice in ("vi", "en"):
        return choice
    if request.path.startswith("/api/"):
        # Programs calling the API say their language in the header. Pages ignore it: citizens' phones
        # often announce English while their owners read Vietnamese.
        return request.accept_languages.best_match(["vi", "en"]) or "vi"
    return "vi"
