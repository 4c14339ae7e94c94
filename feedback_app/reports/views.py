"""The results page: satisfaction per factor and overall, with counts, against the target."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Counter, OrgUnit, Questionnaire
from ..scoping import visible_unit_ids
from ..surveys.index import GROUPS
from ..timeutil import format_date
from .services import (
    default_unit,
    figures_subject,
    parse_result_query,
    results_for,
    same_period_last_year,
    targets_for,
)

bp = Blueprint("reports", __name__)
COMPARISON_SIGNS = {"gt": ">", "gte": "≥"}

GROUP_LABELS = {"unit": _l("Đơn vị"), "counter": _l("Quầy"), "officer": _l("Công chức"), "service": _l("Thủ tục"),
                "channel": _l("Kênh"), "month": _l("Tháng")}


@bp.get("/results")
def results() -> Any:
    """Satisfaction per factor and overall for a period and a unit or counter."""
    query = parse_result_query(request.args, current_user)
    visible = visible_unit_ids(current_user)
    units_stmt = select(OrgUnit).order_by(OrgUnit.name)
    counters_stmt = select(Counter).order_by(Counter.code)
    if visible is not None:
        units_stmt = units_stmt.where(OrgUnit.id.in_(sorted(visible)))
        counters_stmt = counters_stmt.where(Counter.agency_id.in_(sorted(visible)))
    context: dict[str, Any] = {
        "query": query, "units": db.session.scalars(units_stmt).all(),
        "counters": db.session.scalars(counters_stmt).all(), "groups": GROUPS, "group_labels": GROUP_LABELS,
        "questionnaires": db.session.scalars(select(Questionnaire).order_by(Questionnaire.code)).all(),
        "args": request.args,
    }
    if query.filters is None:
        return render_template("reports/results.html", **context), 400
    total = results_for(query, current_user)[0]
    last_year = results_for(same_period_last_year(query), current_user)[0]
    grouped = results_for(query, current_user, query.group_by) if query.group_by else []
    unit = query.unit or (query.counter.agency if query.counter else default_unit(current_user))
    year = query.filters.date_to.year if query.filters.date_to else None
    target_owner, targets = targets_for(unit, year) if year else (None, {})
    context.update(
        total=total, grouped=grouped, last_year={f.code: f for f in last_year.factors}, last_year_total=last_year,
        targets=targets, target_unit=target_owner, subject=figures_subject(query, current_user),
        comparisons=COMPARISON_SIGNS,
        date_from=format_date(query.filters.date_from), date_to=format_date(query.filters.date_to),
    )
    return render_template("reports/results.html", **context)
