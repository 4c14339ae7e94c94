"""POST /api/v1/dossiers: the one-stop system's feed, authenticated by a per-system API key (scope 'dossiers').

The key comes as ``Authorization: Bearer <key>`` or ``X-API-Key``; never a staff session (a logged-in browser
cannot post here, so no CSRF token is involved). Each item is answered apart (created, updated, unchanged or
error with its fields' messages); a bad item never blocks the others. Errors of the whole request are
problem+json.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..dossiers.importing import COLUMNS, parse_items
from ..dossiers.services import ImportRun, import_rows, only_agency
from ..errors import problem
from ..extensions import db, limiter
from ..models import ApiKey
from ..models.api_key import hash_key
from ..netaddr import request_address
from ..open311.services import touch

SCOPE = "dossiers"
MAX_BATCH = 1000


def _presented() -> str:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return (request.headers.get("X-API-Key") or "").strip()


def _key() -> ApiKey | None:
    presented = _presented()
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented))) if presented else None


def limit_key() -> str:
    """A valid dossier key spends its own budget; anything else the address's (made-up keys get no fresh one)."""
    presented = _presented()
    if presented:
        digest = hash_key(presented)
        found = db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None),
                                                          ApiKey.scope == SCOPE))
        if found is not None:
            return f"dossier-key:{digest}"
    return f"dossier-address:{request_address()}"


def _unauthorised(message: str) -> Any:
    response = problem(401, "Unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="dossiers"'
    return response


def _item(outcome: Any, issues: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"index": outcome.number, "code": outcome.code, "result": outcome.result}
    if outcome.dossier_id:
        body["id"] = outcome.dossier_id
    errors = [{"field": i.column, "message": i.message} for i in issues if i.level == "error"]
    warnings = [{"field": i.column, "message": i.message} for i in issues if i.level != "error"]
    if errors:
        body["errors"] = errors
    if warnings:
        body["warnings"] = warnings
    return body


@limiter.limit(lambda: current_app.config.get("DOSSIER_API_LIMIT", "120 per minute"), key_func=limit_key)
def dossiers_import() -> Any:
    """Create or update up to MAX_BATCH dossiers by code; the answer lists each item's result."""
    key = _key()
    if key is None or not key.active:
        return _unauthorised(_("Thiếu khóa API hoặc khóa không hợp lệ, đã bị thu hồi. Gửi khóa trong tiêu đề "
                               "Authorization: Bearer <khóa>."))
    if key.scope != SCOPE:
        return problem(403, "Forbidden", _("Khóa API này không dùng để gửi hồ sơ (phạm vi của khóa: %(scope)s).",
                                           scope=key.scope))
    agency_id = key.agency_id or getattr(only_agency(), "id", None)
    if agency_id is None:
        return problem(403, "Forbidden", _("Khóa API này chưa gắn với cơ quan. Hãy đề nghị quản trị viên cấp khóa "
                                           "gắn với cơ quan của hệ thống một cửa."))
    body = request.get_json(silent=True)
    items = body.get("dossiers") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return problem(400, "Bad Request", _("Nội dung phải là JSON dạng {\"dossiers\": [ {...}, ... ]} với ít nhất "
                                             "một hồ sơ."), {"dossiers": _("Phải là một danh sách hồ sơ.")})
    limit = current_app.config.get("DOSSIER_API_MAX_BATCH", MAX_BATCH)
    if len(items) > limit:
        return problem(413, "Payload Too Large", _("Mỗi lần gửi tối đa %(n)d hồ sơ; hãy chia thành nhiều lần.",
                                                   n=limit))
    touch(key)  # committed with the first batch
    rows = parse_items(items)
    run = ImportRun(user=None, agency_id=agency_id, source="api", details={"api_key_id": key.id})
    result = import_rows(run, rows, {name: name for name in COLUMNS})
    issues_by_row: dict[int, list[Any]] = {}
    for issue in result.issues:
        issues_by_row.setdefault(issue.row, []).append(issue)
    return jsonify({**result.counts(),
                    "results": [_item(o, issues_by_row.get(o.number, [])) for o in result.outcomes]})


def register_dossier_api(bp: Blueprint) -> None:
    """Attach the dossier feed to the API blueprint."""
    bp.add_url_rule("/dossiers", "dossiers_import", dossiers_import, methods=["POST"])


def dossier_paths() -> dict[str, Any]:
    """The OpenAPI entry of the feed (its security scheme: `dossierKey`, an HTTP bearer key)."""
    text = {"type": ["string", "null"]}
    date_text = {"type": "string", "description": "dd/mm/yyyy or yyyy-mm-dd"}
    item = {"type": "object", "required": ["code", "received_date", "appointment_date"], "properties": {
        "code": {"type": "string", "maxLength": 60, "description": "dossier code, the key of every import"},
        "procedure_code": text, "procedure_name": {"type": "string", "description": "required unless "
                                                   "procedure_code names a service of the agency"},
        "field_name": text, "citizen_name": text,
        "phone": {"type": ["string", "null"], "description": "Vietnamese number; an invalid one is dropped with a "
                                                             "warning (no survey invitation)"},
        "email": text, "counter": {"type": ["string", "null"], "description": "counter name or code"},
        "officer": {"type": ["string", "null"], "description": "receiving officer's full name"},
        "received_date": date_text, "appointment_date": date_text,
        "returned_date": {**date_text, "type": ["string", "null"]},
        "supplement_count": {"type": ["integer", "string"], "minimum": 0},
        "channel": {"type": "string", "description": "in_person | online | postal (or Trực tiếp, Trực tuyến, "
                                                     "Bưu chính công ích)"},
        "status": {"type": "string", "description": "received | processing | supplement | returned | cancelled, "
                                                    "or the one-stop system's own words (kept as status_text)"},
    }}
    issue = {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "message": {"type": "string"}}}}
    answer = {"type": "object", "properties": {
        **{n: {"type": "integer"} for n in ("rows", "created", "updated", "unchanged", "errors", "warnings")},
        "results": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "code": text, "id": {"type": "integer"},
            "result": {"type": "string", "enum": ["created", "updated", "unchanged", "error"]},
            "errors": issue, "warnings": issue}}}}}
    problem_ref = {"$ref": "#/components/responses/Problem"}
    return {"/api/v1/dossiers": {"post": {
        "summary": "Create or update dossiers of the one-stop system by code (idempotent), up to 1000 a request",
        "description": "Authenticated by an API key of scope 'dossiers' (Authorization: Bearer <key> or "
                       "X-API-Key), never by a session; the dossiers go to the key's agency. Each item is "
                       "answered apart; a bad item never blocks the others.",
        "security": [{"dossierKey": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["dossiers"], "properties": {
                "dossiers": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": item}}}}}},
        "responses": {"200": {"description": "One result per item", "content": {"application/json": {
            "schema": answer}}},
            "400": problem_ref, "401": problem_ref, "403": problem_ref, "413": problem_ref, "429": problem_ref},
    }}}
