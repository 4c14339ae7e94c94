"""The invitation SMS of an agency: its template (or templates/sms/invitation.txt) with the placeholders filled.

Placeholders: {agency} the agency's name, {link} the one-time survey link, {reply} how to answer by SMS, {stop} how
to refuse further messages, {days} how many days the link works, {brand} the registered sender name. A template
without {brand} gets the sender name in front ("SXDKH: …"): Vietnamese brandname rules want it in every
registered template. With ASCII only, the whole text loses its diacritics (160 characters per segment, not 70).
Placeholders are replaced one by one (not str.format): a stray brace in an agency's text is only text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app

from .rules import Rules
from .segments import SegmentCount, count_segments, strip_diacritics

PLACEHOLDERS = ("agency", "link", "reply", "stop", "days", "brand")
REQUIRED = ("link",)
# The SMS itself is always Vietnamese (the citizen's phone, not a page with a language switch).
REPLY_TEXT = "Hoặc nhắn lại 1 số từ 1 đến 5 (5: rất hài lòng)."
STOP_TEXT = "Từ chối: nhắn TU CHOI."
TOKEN_LENGTH = 12  # secrets.token_urlsafe(9)
WARN_SEGMENTS = 3  # a longer invitation is allowed, with a warning about its cost
_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,30})\}")
_SPACES = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True)
class Rendered:
    text: str
    count: SegmentCount


def default_template() -> str:
    """templates/sms/invitation.txt, the template of an agency that has not written its own."""
    loader = current_app.jinja_env.loader
    assert loader is not None
    source, _filename, _uptodate = loader.get_source(current_app.jinja_env, "sms/invitation.txt")
    return source.strip()


def unknown_placeholders(template: str) -> list[str]:
    """Placeholders the template names that we cannot fill ({ten} instead of {agency}…)."""
    return sorted({name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})


def missing_placeholders(template: str) -> list[str]:
    """Placeholders every invitation needs ({link}) that the template lacks."""
    return [name for name in REQUIRED if "{" + name + "}" not in template]


def render(template: str | None, *, agency: str, link: str, rules: Rules) -> Rendered:
    """The SMS text for one invitation, and what it costs in segments."""
    text = template or default_template()
    values = {"agency": agency, "link": link, "reply": REPLY_TEXT, "stop": STOP_TEXT, "days": str(rules.link_days),
              "brand": rules.sender_name}
    has_brand = "{brand}" in text
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    if rules.sender_name and not has_brand:
        text = f"{rules.sender_name}: {text}"
    text = _SPACES.sub(" ", text.replace("\r\n", "\n")).strip()
    if rules.ascii_only:
        text = strip_diacritics(text)
    return Rendered(text, count_segments(text))


def sample_link(base_url: str) -> str:
    """A link as long as a real one, for the editor's count and the campaign cost."""
    return f"{base_url.rstrip('/')}/s/{'x' * TOKEN_LENGTH}"
