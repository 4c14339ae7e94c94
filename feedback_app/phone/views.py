"""The phone page at /q/<counter>: the form, its submission, the language switch and the thank-you page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.datastructures import MultiDict

from ..extensions import csrf, db, limiter
from ..locale import select_locale
from ..pakn.services import offered_response, remember_offer
from ..survey_pages import (
    CSRF_SLOT,
    KEY_SLOT,
    cached_fragment,
    counter_or_404,
    current_version_or_503,
    fill_slots,
    no_store,
    page_version,
    submit_limit,
    survey_minutes,
)
from ..surveys.specs import CounterInfo, UnknownVersion, VersionSpec, cached_version, last_known_counter
from ..surveys.submission import (
    KEY_RE,
    DuplicateSubmission,
    SubmissionContext,
    SurveyValidationError,
    new_idempotency_key,
    submit_response,
)

bp = Blueprint("phone", __name__)
NO_VALUES: MultiDict = MultiDict()


def _channel(values: Any) -> str:
    """The phone form counts as "web" when it was opened from a link rather than the counter's QR code."""
    return "web" if values.get("via") == "web" else "qr"


def _render(counter: CounterInfo, version: VersionSpec, *, key: str, via: str, values: MultiDict = NO_VALUES,
            errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The form page: for a citizen who has answered nothing yet, from the cache with this request's form
    token and response key put in; with answers or errors, rendered for them."""
    lang = select_locale()
    if not values and not errors:
        cache_key = ("phone-page", counter.code, counter.stamp, version.id, version.published_at, lang, via)
        page = cached_fragment(cache_key, lambda: _page(
            counter, version, sections=_sections(version, NO_VALUES, {}), key=KEY_SLOT, via=via,
            values=NO_VALUES, errors={}, csrf_token=lambda: CSRF_SLOT))
        return no_store(make_response(fill_slots(page, key), status))
    errors = errors or {}
    html = _page(counter, version, sections=_sections(version, values, errors), key=key, via=via, values=values,
                 errors=errors)
    return no_store(make_response(html, status))


def _sections(version: VersionSpec, values: MultiDict, errors: dict[str, Any]) -> Markup:
    html = render_template("phone/_sections.html", version=version, values=values, errors=errors)
    return Markup(html)  # noqa: S704 - our own autoescaped template


def _page(counter: CounterInfo, version: VersionSpec, **context: Any) -> str:
    total = version.scale_question_count
    screened = sum(len(f.questions) for f in version.factors if f.screening)
    return render_template("phone/form.html", counter=counter, version=version, total=total,
                           total_screened=total - screened, minutes=survey_minutes(version), **context)


@bp.get("/q/<code>")
def form(code: str) -> Any:
    """The questionnaire on one phone page, reached from the counter's QR code."""
    counter = counter_or_404(code)
    return _render(counter, current_version_or_503(counter), key=new_idempotency_key(), via=_channel(request.args))


def _again(counter: CounterInfo, version: VersionSpec, errors: dict[str, Any], status: int = 400,
           keep_answers: bool = True) -> Any:
    """The page once more, in the version the citizen answered, with their answers and what to fix."""
    key = request.form.get("key", "")
    return _render(counter, version, key=key if KEY_RE.match(key) else new_idempotency_key(),
                   via=_channel(request.form), values=request.form if keep_answers else NO_VALUES,
                   errors=errors, status=status)


@bp.post("/q/<code>")
@csrf.exempt  # checked inside, after the rate limit
@submit_limit
def submit(code: str) -> Any:
    """Store the phone form; on any error show it again with the citizen's answers kept."""
    try:
        return _submit(code)
    except (OperationalError, InterfaceError):
        return _database_down(code)


def _submit(code: str) -> Any:
    counter = counter_or_404(code)
    try:
        version = page_version(counter, request.form.get("version_id"))
    except UnknownVersion:
        # Not a version this counter asks (forged, or a draft): nothing of it can be kept.
        return _again(counter, current_version_or_503(counter), {"_form": _(
            "Phiếu khảo sát vừa được cập nhật; vui lòng trả lời lại rồi gửi.")}, status=409, keep_answers=False)
    try:
        csrf.protect()
    except CSRFError:
        # An expired or forged token: nothing is stored, the answers stay on the page with a fresh token.
        return _again(counter, version, {"_form": _(
            "Phiên làm việc đã hết hạn. Các câu trả lời của bạn vẫn còn; vui lòng bấm “Gửi đánh giá” lần nữa.")})
    ctx = SubmissionContext(channel=_channel(request.form), counter=counter, version=version,
                            language=select_locale(), client_ip=request.remote_addr)
    try:
        response_id = submit_response(ctx, request.form, request.form.get("key", ""))
    except SurveyValidationError as error:
        db.session.rollback()
        return _again(counter, version, error.errors)
    except DuplicateSubmission:
        db.session.rollback()
        return no_store(make_response(render_template("phone/duplicate.html", counter=counter), 409))
    db.session.commit()
    remember_offer(response_id)  # a low rating or a comment: the thank-you page offers to make it a PAKN
    return redirect(url_for("phone.thanks", code=counter.code), 303)


def _database_down(code: str) -> Any:
    """The database cannot be reached: nothing was stored, and the page says so with the answers kept."""
    db.session.rollback()
    current_app.logger.error("database unreachable while storing a phone response")
    message = _("Hệ thống đang tạm gián đoạn nên phiếu của Ông/Bà CHƯA được lưu. Các câu trả lời vẫn còn trên "
                "trang này; xin chờ ít phút rồi bấm “Gửi đánh giá” lần nữa.")
    counter = last_known_counter(code)
    version = cached_version(request.form.get("version_id"), counter)
    if counter is None or version is None:
        html = render_template("errors/error.html", code=503, message=_(
            "Hệ thống đang tạm gián đoạn nên phiếu của Ông/Bà CHƯA được lưu. Xin bấm nút Quay lại của trình "
            "duyệt (các câu trả lời thường vẫn còn ở đó) rồi gửi lại sau ít phút."))
        response = no_store(make_response(html, 503))
    else:
        response = _again(counter, version, {"_form": message}, status=503)
    response.headers["Retry-After"] = "60"
    return response


@bp.post("/q/<code>/ngon-ngu")
@csrf.exempt  # nothing is stored: the page comes back in the other language with what was posted
@limiter.limit("60 per minute")
def switch_language(code: str) -> Any:
    """The same page in the language asked for (?lang=), keeping the answers chosen so far."""
    counter = counter_or_404(code)
    try:
        version = page_version(counter, request.form.get("version_id"))
    except UnknownVersion:
        version, values = current_version_or_503(counter), NO_VALUES
    else:
        values = request.form
    # A new key: nothing is stored yet, and a key posted from elsewhere (this endpoint takes no form token)
    # must not become the one the citizen's real submission is later refused as a duplicate of.
    return _render(counter, version, key=new_idempotency_key(), via=_channel(request.form), values=values)


@bp.get("/q/<code>/cam-on")
def thanks(code: str) -> Any:
    """Thank-you page with the way to send a complaint or recommendation (the same for every citizen)."""
    counter = counter_or_404(code)
    offer = offered_response()
    if offer is not None:  # this citizen's own page: not cached, never kept by the browser
        return no_store(make_response(render_template(
            "phone/thanks.html", counter=counter, offer=offer, lang_next=url_for("phone.thanks", code=counter.code))))
    page = cached_fragment(("thanks", counter.code, counter.stamp, select_locale()), lambda: render_template(
        "phone/thanks.html", counter=counter, lang_next=url_for("phone.thanks", code=counter.code)))
    return make_response(page)
