"""The kiosk at /k/<counter>: its page, its form token (the device's heartbeat), its JSON submit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from ..errors import problem
from ..extensions import csrf, db, limiter
from ..locale import select_locale
from ..models import Officer
from ..parsing import parse_id
from ..qrcodes.services import pakn_form_url, qr_svg_markup
from ..survey_pages import (
    CSRF_SLOT,
    cached_fragment,
    counter_or_404,
    current_version_or_503,
    fill_slots,
    no_store,
    page_version,
    submit_limit,
    submitter,
    survey_minutes,
)
from ..surveys.refusals import keep_refused
from ..surveys.specs import UnknownVersion
from ..surveys.submission import DuplicateSubmission, SubmissionContext, SurveyValidationError, submit_response
from .devices import DEVICE_COOKIE, DeviceInfo, device_for, record_heartbeat

bp = Blueprint("kiosk", __name__)


@bp.get("/k/<code>")
def kiosk_page(code: str) -> Any:
    """The kiosk at the counter: one factor at a time, big faces, resets itself."""
    counter = counter_or_404(code)
    version = current_version_or_503(counter)
    device = device_for(counter.id, request.cookies.get(DEVICE_COOKIE))
    lang = select_locale()
    config = current_app.config
    key = ("kiosk", counter.code, counter.stamp, version.id, version.published_at, lang,
           device.name if device else None, config["KIOSK_MIN_GAP_SECONDS"], config["KIOSK_IDLE_RESET_SECONDS"])
    page = cached_fragment(key, lambda: render_template(
        "kiosk/kiosk.html", counter=counter, version=version, device=device, minutes=survey_minutes(version),
        step_count=_step_count(counter, version), min_gap=config["KIOSK_MIN_GAP_SECONDS"],
        idle_reset=config["KIOSK_IDLE_RESET_SECONDS"], csrf_token=lambda: CSRF_SLOT,
        lang_next=url_for("kiosk.kiosk_page", code=counter.code), pakn_url=pakn_form_url(counter),
        pakn_qr=qr_svg_markup(pakn_form_url(counter))))
    return no_store(make_response(fill_slots(page)))


def _step_count(counter: Any, version: Any) -> int:
    """Start, the optional officer/procedure step, one per factor, the closing questions."""
    return 1 + (1 if counter.officers or counter.services else 0) + len(version.factors) + (1 if version.closing else 0)


@bp.get("/k/<code>/token")
# Only a request carrying a device cookie can make the server write (a heartbeat) or look a device up;
# a plain token costs no more than a page, so it is not counted (counting costs a Redis round trip).
@limiter.limit(lambda: current_app.config["KIOSK_TOKEN_LIMIT"], key_func=submitter,
               exempt_when=lambda: DEVICE_COOKIE not in request.cookies)
def kiosk_token(code: str) -> Any:
    """A fresh form token, so a kiosk left open all day still submits; a registered kiosk's heartbeat
    (?pending=<responses still queued on the device>)."""
    counter = counter_or_404(code)
    device = device_for(counter.id, request.cookies.get(DEVICE_COOKIE))
    if device is not None and record_heartbeat(device, parse_id(request.args.get("pending"))):
        db.session.commit()
    return no_store(jsonify(csrf_token=generate_csrf()))


def _values(payload: dict[str, Any]) -> dict[str, list[str]]:
    """The kiosk's JSON answers as values by name (a list for each, as a form would send them)."""
    values = {str(name): [str(item) for item in (value if isinstance(value, list) else [value])]
              for name, value in payload["answers"].items()}
    for name in ("officer", "service", "dossier_code"):
        if payload.get(name):
            values[name] = [str(payload[name])]
    return values


@bp.post("/k/<code>/submit")
@csrf.exempt  # checked inside, after the rate limit
@submit_limit
def kiosk_submit(code: str) -> Any:
    """Store one kiosk response sent as JSON; a resend of the same key is acknowledged, not counted. A
    response the server cannot take is kept for staff (never lost) and the kiosk is told so."""
    csrf.protect()
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("answers"), dict):
        return problem(400, "Bad Request", _("Dữ liệu gửi lên không đúng định dạng."))
    counter = counter_or_404(code)
    device = device_for(counter.id, request.cookies.get(DEVICE_COOKIE))
    try:
        version = page_version(counter, payload.get("version_id"))
    except UnknownVersion:
        return _refused(device, payload, "unknown_version", {}, 409, "Conflict",
                        _("Phiếu khảo sát đã được cập nhật. Vui lòng tải lại trang."))
    ctx = SubmissionContext(
        channel="kiosk", counter=counter, version=version,
        language=payload.get("lang") if payload.get("lang") in ("vi", "en") else "vi",
        device_id=device.id if device else None, client_ip=request.remote_addr,
        completed_at=_parse_client_time(payload.get("completed_at")),
    )
    try:
        submit_response(ctx, _values(payload), str(payload.get("key") or ""))
    except SurveyValidationError as error:
        db.session.rollback()
        return _refused(device, payload, "invalid", error.errors, 400, "Bad Request",
                        _("Vui lòng trả lời đầy đủ các câu bắt buộc."))
    except DuplicateSubmission:
        db.session.rollback()
        return jsonify(status="duplicate"), 200
    db.session.commit()
    return jsonify(status="stored"), 201


def _refused(device: DeviceInfo | None, payload: dict[str, Any], reason: str, errors: dict[str, str], status: int,
             title: str, detail: str) -> Any:
    """The server cannot take this response as sent. A registered kiosk's is kept for staff (its offline queue
    is the only one that may hold responses the server never saw), once per response key; the kiosk is told
    it may drop its copy. Anyone else's is only refused: a public page must not fill a staff queue."""
    kept = False
    if device is not None:
        kept = keep_refused(device.counter_id, device.id, payload, reason, errors)
        db.session.commit()
    return problem(status, title, detail, errors or None, extra={"kept": kept})


def _parse_client_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value.astimezone(UTC)  # a device clock at year 1 or 9999 cannot be placed in UTC
    except (ValueError, OverflowError):
        return None
    return value if value.tzinfo else None


@bp.get("/officers/<int:officer_id>/photo.jpg")
def officer_photo(officer_id: int) -> Any:
    """The portrait shown on the kiosk, for active officers assigned to an active counter only."""
    officer = db.session.get(Officer, officer_id)
    if officer is None or not officer.active or not officer.photo or not any(c.active for c in officer.counters):
        abort(404)
    response = make_response(officer.photo)
    response.mimetype = officer.photo_mime or "image/jpeg"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
