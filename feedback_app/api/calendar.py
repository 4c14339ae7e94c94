"""Public, read-only calendar API: a year's days off and make-up working days; the deadline from an instant."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..calendar_service import current_calendar, year_view
from ..errors import problem
from ..extensions import db, limiter
from ..models import OrgUnit
from ..parsing import parse_id
from ..timeutil import format_datetime
from ..workcalendar import MAX_YEAR, MIN_YEAR, CalendarDay, OfficeHours

MAX_WORKING_DAYS = 1000  # about four years: no legal deadline is longer
MAX_WORKING_HOURS = 10000
_HOURS = re.compile(r"[0-9]{1,5}([.,][0-9]{1,4})?")
# An unencoded "+" in a query string arrives as a space: "…T18:00:00 07:00" was "…T18:00:00+07:00".
_LOST_PLUS = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$")

# One ceiling per address for both endpoints: other systems may ask for many deadlines, not for floods.
calendar_limit = limiter.shared_limit(lambda: current_app.config["CALENDAR_API_LIMIT"], scope="calendar_api")


def _language() -> str:
    return "en" if str(get_locale() or "vi") == "en" else "vi"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _unknown_parameters(allowed: set[str]) -> Any:
    unknown = set(request.args) - allowed - {"lang"}  # lang: the language of names and messages
    if unknown:
        message = _("Tham số không được hỗ trợ.")
        return problem(400, "Bad Request", message, {name: message for name in sorted(unknown)})
    return None


def _day_json(day: CalendarDay) -> dict[str, Any]:
    return {"date": day.day.isoformat(), "date_local": f"{day.day:%d/%m/%Y}", "weekday": day.day.isoweekday(),
            "name": day.name, "source": day.source}


def _hours_json(hours: OfficeHours) -> dict[str, list[str]]:
    return {"morning": [f"{hours.morning_start:%H:%M}", f"{hours.morning_end:%H:%M}"],
            "afternoon": [f"{hours.afternoon_start:%H:%M}", f"{hours.afternoon_end:%H:%M}"]}


@calendar_limit
def calendar_year(year: str) -> Any:
    """A year's days off (holidays, days off for swaps, administrators' entries) and make-up working days."""
    refused = _unknown_parameters(set())
    if refused is not None:
        return refused
    number = parse_id(year)
    if number is None or not MIN_YEAR <= number <= MAX_YEAR:
        message = _("Năm phải là một số từ %(first)d đến %(last)d.", first=MIN_YEAR, last=MAX_YEAR)
        return problem(400, "Bad Request", message, {"year": message})
    view = year_view(number, _language())
    return jsonify(
        year=number,
        working_days=view.working_days,
        weekend={"weekdays": [6, 7], "days_off": view.weekend_days_off},
        non_working_days=[_day_json(d) for d in view.days_off],
        make_up_working_days=[_day_json(d) for d in view.make_up_days],
    )


def _parse_start(raw: str | None) -> tuple[datetime | None, str | None]:
    if not raw:
        return None, _("Vui lòng cho biết thời điểm bắt đầu (ISO 8601, có múi giờ).")
    text = _LOST_PLUS.sub(r"\1+\2", raw.strip())
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        return None, _("Thời điểm không đúng dạng ISO 8601, ví dụ 2026-02-13T18:00:00+07:00.")
    if start.tzinfo is None:
        return None, _("Thời điểm phải có múi giờ, ví dụ 2026-02-13T18:00:00+07:00 hoặc 2026-02-13T11:00:00Z.")
    if not MIN_YEAR <= start.astimezone(UTC).year < MAX_YEAR - 5:
        return None, _("Thời điểm phải nằm trong các năm %(first)d–%(last)d.", first=MIN_YEAR, last=MAX_YEAR - 5)
    return start, None


def _parse_amount(errors: dict[str, str]) -> tuple[str, int | Decimal] | None:
    days, hours = request.args.get("working_days"), request.args.get("working_hours")
    if (days is None) == (hours is None):
        message = _("Cho biết đúng một trong hai tham số: working_days hoặc working_hours.")
        errors["working_days" if days is None else "working_hours"] = message
        return None
    if days is not None:
        n = parse_id(days)
        if n is None or n > MAX_WORKING_DAYS:
            errors["working_days"] = _("Số ngày làm việc là số nguyên từ 0 đến %(max)d.", max=MAX_WORKING_DAYS)
            return None
        return "working_days", n
    amount = None
    if _HOURS.fullmatch((hours or "").strip()):
        try:
            amount = Decimal(hours.strip().replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            amount = None
    if amount is None or amount > MAX_WORKING_HOURS:
        errors["working_hours"] = _("Số giờ làm việc là số từ 0 đến %(max)d (có thể có phần thập phân).",
                                    max=MAX_WORKING_HOURS)
        return None
    return "working_hours", amount


@calendar_limit
def calendar_deadline() -> Any:
    """The due instant: `working_days` (close of the n-th working day after the start's date) or
    `working_hours` (inside office sessions), on an agency's office hours when `unit` names one."""
    refused = _unknown_parameters({"start", "working_days", "working_hours", "unit"})
    if refused is not None:
        return refused
    errors: dict[str, str] = {}
    start, start_error = _parse_start(request.args.get("start"))
    if start_error:
        errors["start"] = start_error
    amount = _parse_amount(errors)
    unit = None
    code = request.args.get("unit")
    if code is not None:
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code.strip()))
        if unit is None:
            errors["unit"] = _("Không có đơn vị nào có mã này.")
    if errors or start is None or amount is None:
        return problem(400, "Bad Request", _("Tham số không hợp lệ."), errors)
    calendar = current_calendar(unit.id if unit else None)
    kind, value = amount
    if kind == "working_days":
        due = calendar.add_working_days(start, int(value))
    else:
        due = calendar.add_working_hours(start, timedelta(microseconds=int(value * 3_600_000_000)))
    return jsonify({
        "start": _iso(start),
        "start_local": format_datetime(start),
        kind: value if kind == "working_days" else float(value),
        "unit": unit.code if unit else None,
        "office_hours": _hours_json(calendar.hours),
        "due": _iso(due),
        "due_local": format_datetime(due),
    })


def register_calendar_api(bp: Blueprint) -> None:
    bp.add_url_rule("/calendar/<year>", "calendar_year", calendar_year)
    bp.add_url_rule("/calendar/deadline", "calendar_deadline", calendar_deadline)
