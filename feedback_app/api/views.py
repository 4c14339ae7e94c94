"""JSON API v1: public counter list and calendar, staff-only SIPAS figures; errors as problem+json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..errors import problem
from ..extensions import db
from ..models import Counter
from ..qrcodes.services import survey_url
from ..reports.services import parse_result_query, results_for
from ..surveys.index import IndexResult
from ..timeutil import format_date
from .calendar import register_calendar_api
from .dossiers import register_dossier_api
from .openapi import openapi_document
from .pakn import register_pakn_api

bp = Blueprint("api", __name__, url_prefix="/api/v1")
register_calendar_api(bp)
register_pakn_api(bp)
register_dossier_api(bp)


@bp.get("/counters")
def counters() -> Any:
    """Public list of active counters with their survey pages and QR images."""
    rows = db.session.scalars(
        select(Counter).where(Counter.active.is_(True)).order_by(Counter.code)
        .options(selectinload(Counter.agency), selectinload(Counter.service_centre))
    ).all()
    return jsonify(counters=[
        {
            "code": c.code,
            "name": c.name,
            "agency": {"code": c.agency.code, "name": c.agency.name},
            "service_centre": {"code": c.service_centre.code, "name": c.service_centre.name},
            "kiosk_url": url_for("kiosk.kiosk_page", code=c.code, _external=True),
            "qr_page_url": survey_url(c),
            "qr_svg_url": url_for("qrcodes.counter_svg", code=c.code, _external=True),
            "qr_png_url": url_for("qrcodes.counter_png", code=c.code, _external=True),
        }
        for c in rows
    ])


def _result_json(result: IndexResult) -> dict[str, Any]:
    return {
        "key": result.key,
        "label": result.label,
        "overall_pct": result.overall_pct,
        "responses": result.responses,
        "answers": result.answers,
        "factors": [
            {"code": f.code, "name": f.name, "satisfied_pct": f.satisfied_pct, "satisfied": f.satisfied,
             "answers": f.answers, "no_opinion": f.no_opinion, "denominator": f.denominator,
             "responses": f.responses}
            for f in result.factors
        ],
    }


@bp.get("/sipas")
def sipas() -> Any:
    """Staff only: % satisfied per factor with counts and the overall index, optionally grouped."""
    # lang: the language of the messages, read by select_locale (else the Accept-Language header)
    unknown = set(request.args) - {"from", "to", "unit", "counter", "group_by", "questionnaire", "lang"}
    if unknown:
        message = _("Tham số không được hỗ trợ.")
        return problem(400, "Bad Request", message, {name: message for name in sorted(unknown)})
    query = parse_result_query(request.args, current_user)
    if query.filters is None:
        return problem(400, "Bad Request", _("Tham số không hợp lệ."), query.errors)
    total = results_for(query, current_user)[0]
    body: dict[str, Any] = {
        "from": query.filters.date_from.isoformat() if query.filters.date_from else None,
        "to": query.filters.date_to.isoformat() if query.filters.date_to else None,
        "period_label": f"{format_date(query.filters.date_from)}–{format_date(query.filters.date_to)}",
        "unit": query.unit.code if query.unit else None,
        "counter": query.counter.code if query.counter else None,
        "group_by": query.group_by,
        **_result_json(total),
    }
    if query.group_by:
        body["groups"] = [_result_json(r) for r in results_for(query, current_user, query.group_by)]
    return jsonify(body)


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
