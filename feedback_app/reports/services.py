"""Turn request arguments into index filters within the user's scope; look up targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Counter, OrgUnit, Questionnaire, Response, Target, User
from ..parsing import parse_id
from ..scoping import can_read_unit, scope_condition, unit_with_descendants, visible_unit_ids
from ..surveys.index import GROUPS, IndexFilters, IndexResult, compute_index
from ..surveys.questionnaires import default_questionnaire
from ..timeutil import local_today, parse_date


@dataclass
class ResultQuery:
    """A validated request for results."""

    filters: IndexFilters | None
    group_by: str | None = None
    unit: OrgUnit | None = None
    counter: Counter | None = None
    errors: dict[str, str] = field(default_factory=dict)
    questionnaire: Questionnaire | None = None


def _by_code_or_id(model: type, raw: str):
    """A unit or counter by its code; by its id only when no code matches (codes can be all digits)."""
    found = db.session.scalar(select(model).where(model.code == raw))
    if found is None and parse_id(raw) is not None:
        found = db.session.get(model, parse_id(raw))
    return found


def _scoped_choice(args: dict[str, str], name: str, model: type, unit_of: Callable[[Any], int], user: User,
                   errors: dict[str, str], message: str) -> Any:
    """The unit or counter named by a parameter, if it lies in the user's scope; otherwise an error."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    found = _by_code_or_id(model, raw)
    if found is None or not can_read_unit(user, unit_of(found)):
        errors[name] = message
        return None
    return found


def parse_result_query(args: dict[str, str], user: User, default_days: int = 90) -> ResultQuery:
    """Validate from/to/unit/counter/group_by/questionnaire; every error names the field and what to fix."""
    errors: dict[str, str] = {}
    today = local_today()
    dates: dict[str, date | None] = {}
    for name, default in (("from", today - timedelta(days=default_days)), ("to", today)):
        raw = (args.get(name) or "").strip()
        if not raw:
            dates[name] = default
            continue
        try:
            dates[name] = parse_date(raw)
        except ValueError:
            errors[name] = _("Ngày không hợp lệ; nhập theo dạng dd/mm/yyyy (ví dụ 01/10/2026).")
            continue
        if not 2000 <= dates[name].year <= 2100:
            errors[name] = _("Năm phải từ 2000 đến 2100.")
    if not errors and dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        errors["to"] = _("Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.")
    group_by = (args.get("group_by") or "").strip() or None
    if group_by is not None and group_by not in GROUPS:
        errors["group_by"] = _("group_by phải là một trong: %(groups)s.", groups=", ".join(GROUPS))
    unit = _scoped_choice(args, "unit", OrgUnit, lambda u: u.id, user, errors,
                          _("Không tìm thấy đơn vị này trong phạm vi bạn được xem."))
    counter = _scoped_choice(args, "counter", Counter, lambda c: c.agency_id, user, errors,
                             _("Không tìm thấy quầy này trong phạm vi bạn được xem."))
    family = None
    raw_q = (args.get("questionnaire") or "").strip()
    if raw_q:
        family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == raw_q))
        if family is None:
            errors["questionnaire"] = _("Không có bộ câu hỏi với mã này.")
    if family is None and counter is not None and counter.questionnaire_id:
        family = db.session.get(Questionnaire, counter.questionnaire_id)  # the counter's own questionnaire
    family = family or default_questionnaire()
    if errors or family is None:
        return ResultQuery(None, group_by, unit, counter, errors or {"questionnaire": _("Chưa có bộ câu hỏi.")})
    filters = IndexFilters(
        questionnaire_id=family.id, date_from=dates["from"], date_to=dates["to"],
        unit_ids=unit_with_descendants([unit.id]) if unit else None,
        counter_id=counter.id if counter else None, include_demo=current_app.config["COUNT_DEMO_RESPONSES"],
    )
    return ResultQuery(filters, group_by, unit, counter, questionnaire=family)


def same_period_last_year(query: ResultQuery) -> ResultQuery:
    """The same filters one year earlier (29 February falls back to the 28th)."""
    assert query.filters is not None

    def shift(day: date | None) -> date | None:
        if day is None:
            return None
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return day.replace(year=day.year - 1, day=28)

    filters = replace(query.filters, date_from=shift(query.filters.date_from), date_to=shift(query.filters.date_to))
    return replace(query, filters=filters)


def results_for(query: ResultQuery, user: User, group_by: str | None = None) -> list[IndexResult]:
    """The index within the user's scope: the one query helper decides what they may read."""
    assert query.filters is not None
    scope = scope_condition(user, Response.unit_id, Response.officer_id)
    return compute_index(query.filters, scope=scope, group_by=group_by)


def targets_for(unit: OrgUnit | None, year: int) -> tuple[OrgUnit | None, dict[str | None, Target]]:
    """The targets that apply to a unit for a year: its own, or those of the nearest ancestor that has some.
    Returns the unit that owns them and the targets by factor code (None: the overall index)."""
    current, depth = unit, 0
    while current is not None and depth < 50:  # the tree is shallow; the bound only guards bad data
        depth += 1
        rows = db.session.scalars(select(Target).where(Target.org_unit_id == current.id, Target.year == year)).all()
        if rows:
            return current, {t.factor_code: t for t in rows}
        current = current.parent
    return None, {}


def figures_subject(query: ResultQuery, user: User) -> str:
    """Whose figures a results page shows, in words: an officer's own ratings, a counter, a unit, or all."""
    if user.role == "counter":
        name = user.officer.full_name if user.officer else user.full_name
        return _("các đánh giá về công chức %(name)s", name=name)
    if query.counter is not None:
        return query.counter.name
    if query.unit is not None:
        return query.unit.name
    if visible_unit_ids(user) is not None:
        return _("%(unit)s và các đơn vị trực thuộc", unit=user.org_unit.name)
    return _("tất cả các đơn vị")


def default_unit(user: User) -> OrgUnit | None:
    """The unit whose targets apply when none is chosen: the user's own, or the first agency for admins."""
    if visible_unit_ids(user) is not None:
        return user.org_unit
    return db.session.scalar(select(OrgUnit).where(OrgUnit.unit_type == "so", OrgUnit.valid_to.is_(None))
                             .order_by(OrgUnit.id))
