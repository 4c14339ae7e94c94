"""Open311 GeoReport v2 (/open311/v2/…json|xml): thin views over open311.services.

Reading is public (no personal data ever leaves); filing needs an API key (form field ``api_key`` or the
``X-Api-Key`` header), so this blueprint is exempt from the session's CSRF token. Filing is rate-limited per
key (OPEN311_SUBMIT_LIMIT: one key may serve a whole province's citizens from one server), per address when no
active key is presented.
Errors use the spec's format, ``[{"code": 400, "description": "…"}]``, in the format asked for.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..complaints.errors import ComplaintInputError
from ..complaints.intake import Intake, Sender, submit
from ..errors import MESSAGES
from ..extensions import db, limiter
from ..models import ApiKey
from ..models.api_key import hash_key
from ..netaddr import request_address
from . import serialise, services
from .services import Open311Error

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json,xml):fmt>"


def _fmt() -> str:
    return (request.view_args or {}).get("fmt") or ("xml" if request.path.endswith(".xml") else "json")


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error) -> Any:
    return serialise.errors(_fmt(), error.status, error.descriptions)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    code = error.code or 500
    custom = error.description if error.description != type(error).description and code != 429 else None
    return serialise.errors(_fmt(), code, [str(custom or MESSAGES.get(code, error.name))])


def _presented_key() -> str | None:
    return request.form.get("api_key") or request.headers.get("X-Api-Key")


def submit_limit_key() -> str:
    """Whose budget a filing spends: the presented key's, when it is an active key (found by its hash, never
    kept in clear); otherwise the address's, so that made-up keys do not each get a fresh budget."""
    presented = (_presented_key() or "").strip()
    if presented:
        digest = hash_key(presented)
        found = db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None),
                                                   ApiKey.scope == "open311"))
        if found is not None:
            return f"open311-key:{digest}"
    return f"open311-address:{request_address()}"


@bp.get(f"/services.{FMT}")
def services_list(fmt: str) -> Any:
    """Every service: one per PAKN kind."""
    return serialise.answer(fmt, "services", "service", services.service_list())


@bp.get(f"/services/<service_code>.{FMT}")
def service_definition(service_code: str, fmt: str) -> Any:
    """A service's attributes (consent, dossier code)."""
    return serialise.answer_one(fmt, "service_definition", services.service_definition(service_code))


@bp.get(f"/requests.{FMT}")
def requests_list(fmt: str) -> Any:
    """Items by ids, kind, period (default: the last 90 days) and status; newest first, at most 1000."""
    found = services.find_requests(services.parse_query(request.args))
    return serialise.answer(fmt, "service_requests", "request", found)


@bp.get(f"/requests/<request_id>.{FMT}")
def request_one(request_id: str, fmt: str) -> Any:
    """One item by its code."""
    return serialise.answer(fmt, "service_requests", "request", services.find_request(request_id))


@bp.post(f"/requests.{FMT}")
@limiter.limit(lambda: current_app.config.get("OPEN311_SUBMIT_LIMIT", "120 per minute;20000 per day"),  # config.py's
               key_func=submit_limit_key)
def create_request(fmt: str) -> Any:
    """File a PAKN for the key's agency; a forged or revoked key is refused (403) before anything is read."""
    key = services.key_from(_presented_key())
    agency = services.agency_for(key)
    values = services.intake_values(request.form)
    intake = Intake(agency_id=agency.id, kind=values["kind"], content=values["content"], channel="open311",
                    sender=Sender(name=values["name"], address=values["address"], phone=values["phone"],
                                  email=values["email"]),
                    consent=values["consent"], dossier_code=values["dossier_code"])
    services.touch(key)
    try:
        complaint, _secret = submit(intake)  # the sender's secret link goes by e-mail only, when given
    except ComplaintInputError as error:
        raise services.input_errors(error.errors) from None
    return serialise.answer(fmt, "service_requests", "request", [{
        "service_request_id": complaint.code, "service_notice": services.service_notice(complaint),
        "account_id": None}])
