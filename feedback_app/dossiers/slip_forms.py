"""Reading the slip forms (CSRF is global): plain values in, named errors out; the services check the rest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from flask_babel import gettext as _

from ..parsing import parse_id
from ..timeutil import LOCAL_TZ, DateOutOfRange, parse_date
from .slips import SlipInputError

_CLOCK = re.compile(r"([01]?\d|2[0-3])[:hH.]([0-5]\d)")


@dataclass
class SlipForm:
    reason: str
    extra_days: int | None
    signer_name: str
    signer_title: str


def slip_form(form: Mapping[str, str]) -> SlipForm:
    """The create form; a number that is not one becomes None (the service says what to type)."""
    return SlipForm(reason=form.get("reason", ""), extra_days=parse_id(form.get("extra_working_days")),
                    signer_name=form.get("signer_name", ""), signer_title=form.get("signer_title", ""))


def delivery_instant(form: Mapping[str, str]) -> datetime | None:
    """The local date (dd/mm/yyyy) and time (HH:MM) the slip was handed over; None when both are empty (now).
    SlipInputError names what to fix."""
    day_text, clock_text = (form.get("day") or "").strip(), (form.get("time") or "").strip()
    if not day_text and not clock_text:
        return None
    try:
        day = parse_date(day_text, bounded=True)
    except DateOutOfRange:
        raise SlipInputError({"delivered_at": _("Năm không hợp lệ. Hãy nhập ngày dạng dd/mm/yyyy.")}) from None
    except ValueError:
        raise SlipInputError({"delivered_at": _("Hãy nhập ngày giao phiếu dạng dd/mm/yyyy, ví dụ 05/02/2026.")}) \
            from None
    if not clock_text:  # the date is what counts (late or not): today means now, another day its noon
        now = datetime.now(LOCAL_TZ)
        return now if day == now.date() else datetime.combine(day, time(12), LOCAL_TZ)
    match = _CLOCK.fullmatch(clock_text)
    if match is None:
        raise SlipInputError({"delivered_at": _("Hãy nhập giờ giao phiếu dạng HH:MM, ví dụ 09:30.")})
    return datetime.combine(day, time(int(match.group(1)), int(match.group(2))), LOCAL_TZ)


def channels(form: Mapping[str, str]) -> tuple[bool, bool]:
    """Which ways to send the slip: (SMS, e-mail)."""
    return form.get("sms") == "1", form.get("email") == "1"
