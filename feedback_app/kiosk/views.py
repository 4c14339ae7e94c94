"""Public survey pages: /k/<counter> for the kiosk, /q/<counter> for phones (no login)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, generate_csrf
from werkzeug.datastructures import MultiDict

from ..errors import problem
from ..extensions import csrf, db, limiter
from ..models import Counter, Officer, QuestionnaireVersion
from ..surveys.specs import CounterInfo, UnknownVersion, VersionSpec, counter_info, version_for_page
from ..surveys.submission import (
    KEY_RE,
    DuplicateSubmission,
    SubmissionContext,
    SurveyValidationError,
    new_idempotency_key,
    parse_id,
    submit_response,
)
from .services import (
    DEVICE_COOKIE,
    UnknownCounter,
    active_counter,
    device_for,
    hash_device_token,
    questionnaire_for,
    services_for,
)

bp = Blueprint("kiosk", __name__)


def _submit_limit() -> str:
    return current_app.config["SURVEY_SUBMIT_LIMIT"]


def _submitter() -> str:
    """Whom the ceiling counts: a registered kiosk by its device (a centre's kiosks share one address),
    anyone else by address."""
    token = request.cookies.get(DEVICE_COOKIE)
    return f"device:{hash_device_token(token)}" if token else get_remote_address()


# One ceiling per submitter across every way of submitting a survey.
submit_limit = limiter.shared_limit(_submit_limit, scope="survey_submit", key_func=_submitter)


def _counter_or_404(code: str) -> Counter:
    try:
        return active_counter(code)
    except UnknownCounter:
        abort(404, description=_("Không tìm thấy quầy này. Vui lòng quét lại mã QR dán tại quầy."))


def _version_or_503(counter: Counter) -> QuestionnaireVersion:
    version = questionnaire_for(counter)
    if version is None:
        abort(503, description=_("Quầy này chưa có phiếu khảo sát đang áp dụng."))
    return version


def _counter_info_or_404(code: str) -> CounterInfo:
    try:
        return counter_info(code)
    except UnknownCounter:
        abort(404, description=_("Không tìm thấy quầy này. Vui lòng quét lại mã QR dán tại quầy."))


def _page_version(counter: CounterInfo, raw_version_id: object) -> VersionSpec:
    """The version the submitted page showed (UnknownVersion when it names none that citizens answer)."""
    if counter.version_id is None:
        abort(503, description=_("Quầy này chưa có phiếu khảo sát đang áp dụng."))
    if raw_version_id in (None, ""):
        return version_for_page(counter, None)
    version_id = parse_id(raw_version_id)
    if version_id is None:
        raise UnknownVersion(raw_version_id)
    return version_for_page(counter, version_id)


def _no_store(response: Any) -> Any:
    # A kiosk must never show the previous citizen's page from the browser cache or history.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page_context(counter: Counter, version: QuestionnaireVersion, **extra: Any) -> dict[str, Any]:
    return {
        "counter": counter,
        "version": version,
        "officers": [o for o in counter.officers if o.active],
        "services": services_for(counter),
        "values": extra.pop("values", MultiDict()),
        "via": extra.pop("via", None) or _channel(request.values),
        "errors": extra.pop("errors", {}),
        **extra,
    }


@bp.get("/k/<code>")
def kiosk_page(code: str) -> Any:
    """The kiosk at the counter: one factor at a time, big faces, resets itself."""
    counter = _counter_or_404(code)
    version = _version_or_503(counter)
    device = device_for(counter.id, request.cookies.get(DEVICE_COOKIE))
    html = render_template(
        "kiosk/kiosk.html",
        **_page_context(counter, version, device=device,
                        min_gap=current_app.config["KIOSK_MIN_GAP_SECONDS"],
                        idle_reset=current_app.config["KIOSK_IDLE_RESET_SECONDS"]),
    )
    return _no_store(make_response(html))


@bp.get("/k/<code>/token")
def kiosk_token(code: str) -> Any:
    """A fresh form token, so a kiosk left open all day still submits."""
    _counter_or_404(code)
    return _no_store(jsonify(csrf_token=generate_csrf()))


@bp.post("/k/<code>/submit")
@csrf.exempt  # checked inside, after the rate limit
@submit_limit
def kiosk_submit(code: str) -> Any:
    """Store one kiosk response sent as JSON; a resend of the same key is acknowledged, not counted."""
    csrf.protect()
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("answers"), dict):
        return problem(400, "Bad Request", _("Dữ liệu gửi lên không đúng định dạng."))
    counter = _counter_info_or_404(code)
    try:
        version = _page_version(counter, payload.get("version_id"))
    except UnknownVersion:
        return problem(409, "Conflict", _("Phiếu khảo sát đã được cập nhật. Vui lòng tải lại trang."))
    form = MultiDict()
    for name, value in payload["answers"].items():
        for item in value if isinstance(value, list) else [value]:
            form.add(str(name), str(item))
    for name in ("officer", "service", "dossier_code"):
        if payload.get(name):
            form.add(name, str(payload[name]))
    ctx = SubmissionContext(
        channel="kiosk", counter=counter, version=version,
        language=payload.get("lang") if payload.get("lang") in ("vi", "en") else "vi",
        device=device_for(counter.id, request.cookies.get(DEVICE_COOKIE)),
        client_ip=request.remote_addr, completed_at=_parse_client_time(payload.get("completed_at")),
    )
    try:
        submit_response(ctx, form, str(payload.get("key") or ""))
    except SurveyValidationError as error:
        db.session.rollback()
        return problem(400, "Bad Request", _("Vui lòng trả lời đầy đủ các câu bắt buộc."), error.errors)
    except DuplicateSubmission:
        db.session.rollback()
        return jsonify(status="duplicate"), 200
    db.session.commit()
    return jsonify(status="stored"), 201


def _parse_client_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value.astimezone(UTC)  # a device clock at year 1 or 9999 cannot be placed in UTC
    except (ValueError, OverflowError):
        return None
    return value if value.tzinfo else None


@bp.get("/q/<code>")
def qr_page(code: str) -> Any:
    """The same questionnaire on one phone page, reached from the counter's QR code."""
    counter = _counter_or_404(code)
    version = _version_or_503(counter)
    html = render_template("kiosk/qr.html", **_page_context(counter, version, key=new_idempotency_key(),
                                                            via=_channel(request.args)))
    return _no_store(make_response(html))


@bp.post("/q/<code>")
@csrf.exempt  # checked inside, after the rate limit
@submit_limit
def qr_submit(code: str) -> Any:
    """Store the phone form; on an error show it again with the citizen's answers kept."""
    try:
        csrf.protect()
    except CSRFError:
        # An expired or forged token: nothing is stored, the answers stay on the page with a fresh token.
        return _qr_again(code, {"_form": _(
            "Phiên làm việc đã hết hạn. Các câu trả lời của bạn vẫn còn; vui lòng bấm “Gửi đánh giá” lần nữa.")})
    info = _counter_info_or_404(code)
    try:
        version = _page_version(info, request.form.get("version_id"))
    except UnknownVersion:
        return _qr_again(code, {"_form": _("Phiếu khảo sát vừa được cập nhật; vui lòng trả lời lại rồi gửi.")},
                         status=409, keep_answers=False)
    ctx = SubmissionContext(channel=_channel(request.form), counter=info, version=version,
                            language="en" if request.cookies.get("lang") == "en" else "vi",
                            client_ip=request.remote_addr)
    try:
        submit_response(ctx, request.form, request.form.get("key", ""))
    except SurveyValidationError as error:
        db.session.rollback()
        return _qr_again(code, error.errors)
    except DuplicateSubmission:
        db.session.rollback()
        html = render_template("kiosk/duplicate.html", counter=_counter_or_404(code))
        return _no_store(make_response(html, 409))
    db.session.commit()
    return redirect(url_for("kiosk.thanks", code=info.code), 303)


def _qr_again(code: str, errors: dict[str, Any], status: int = 400, keep_answers: bool = True) -> Any:
    """The phone page once more, with what the citizen chose and what to fix."""
    counter = _counter_or_404(code)
    key = request.form.get("key", "")
    html = render_template("kiosk/qr.html", **_page_context(
        counter, _version_or_503(counter), key=key if KEY_RE.match(key) else new_idempotency_key(),
        values=request.form if keep_answers else MultiDict(), errors=errors))
    return _no_store(make_response(html, status))


def _channel(values: Any) -> str:
    """The phone form counts as "web" when it was opened from a link rather than the counter's QR code."""
    return "web" if values.get("via") == "web" else "qr"


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


@bp.get("/q/<code>/cam-on")
def thanks(code: str) -> Any:
    """Thank-you page with the way to send a complaint or recommendation."""
    counter = _counter_or_404(code)
    return render_template("kiosk/thanks.html", counter=counter)
