"""/s/<token>: the questionnaire tied to a returned dossier's counter, officer and service, answered once.

GET shows it (the first opening is noted; a saved draft comes back), POST stores it and spends the link,
POST /s/<token>/luu keeps a half-answered one (the page's script on every change; without script the
"save and continue later" button), /s/<token>/cam-on thanks. A used link shows "already answered" (200), an
expired one says so (410), an unknown one is a Vietnamese 404 page. Every answer is no-store and no-referrer
(the token is in the address), and limited per address (SURVEY_LINK_LIMIT).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from ..extensions import csrf, db, limiter
from ..locale import select_locale
from ..models import SurveyInvitation
from ..sms.invitations import InvitationClosed
from ..survey_pages import survey_minutes
from ..surveys.submission import DuplicateSubmission, SurveyValidationError
from . import services

bp = Blueprint("survey_links", __name__, url_prefix="/s")
NO_VALUES: MultiDict = MultiDict()


def _link_limit() -> str:
    return current_app.config["SURVEY_LINK_LIMIT"]


link_limit = limiter.shared_limit(_link_limit, scope="survey_link")


def _private(response: Any) -> Any:
    """Never cached, and the token never leaves in a Referer header."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _invitation_or_404(token: str) -> SurveyInvitation:
    invitation = services.find(token)
    if invitation is None:
        abort(404, description=_("Không tìm thấy đường dẫn khảo sát này. Xin kiểm tra lại đường dẫn trong tin nhắn "
                                 "(đủ 12 ký tự sau /s/)."))
    return invitation


def _closed(invitation: SurveyInvitation, how: str, status: int | None = None) -> Any:
    """The page of a link that can no longer be answered: answered (200) or expired (410)."""
    agency = invitation.agency.name
    if how == "answered":
        html = render_template("survey_links/answered.html", agency=agency)
        return _private(make_response(html, status or 200))
    html = render_template("survey_links/expired.html", agency=agency, expires_at=invitation.expires_at)
    return _private(make_response(html, status or 410))


def _render(page: services.LinkPage, token: str, *, values: MultiDict = NO_VALUES,
            errors: dict[str, Any] | None = None, saved: bool = False, status: int = 200) -> Any:
    errors = errors or {}
    version = page.version
    sections = Markup(render_template("phone/_sections.html", version=version, values=values,  # noqa: S704
                                      errors=errors))
    total = version.scale_question_count
    screened = sum(len(f.questions) for f in version.factors if f.screening)
    html = render_template("survey_links/form.html", page=page, token=token, version=version, sections=sections,
                           values=values, errors=errors, saved=saved, total=total, total_screened=total - screened,
                           minutes=survey_minutes(version))
    return _private(make_response(html, status))


@bp.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # POST checks the form token inside: a stale one shows the page again with the answers kept
@link_limit
def survey(token: str) -> Any:
    """GET: the questionnaire of an invitation (a saved draft comes back); POST: store it and spend the link."""
    if request.method == "POST":
        return _submit(token)
    invitation = _invitation_or_404(token)
    how = services.state(invitation)
    if how != "open":
        return _closed(invitation, how)
    services.mark_opened(invitation)
    page = services.page_for(invitation, services.draft_version_id(invitation))
    values = services.draft_values(invitation, page.version)
    return _render(page, token, values=values, saved=request.args.get("da_luu") == "1")


def _posted_page(invitation: SurveyInvitation) -> services.LinkPage:
    from ..parsing import parse_id

    return services.page_for(invitation, parse_id(request.form.get("version_id") or ""))


def _submit(token: str) -> Any:
    """Store the finished questionnaire and spend the link; errors show the page again with the answers kept."""
    invitation = _invitation_or_404(token)
    how = services.state(invitation)
    if how != "open":
        return _closed(invitation, how, 409 if how == "answered" else None)
    page = _posted_page(invitation)
    values = services.answer_fields(page.version, request.form)
    try:
        csrf.protect()
    except CSRFError:
        return _render(page, token, values=values, status=400, errors={"_form": _(
            "Phiên làm việc đã hết hạn. Các câu trả lời của bạn vẫn còn; vui lòng bấm “Gửi đánh giá” lần nữa.")})
    try:
        services.submit(page, request.form, select_locale())
    except SurveyValidationError as error:
        db.session.rollback()
        return _render(page, token, values=values, errors=error.errors, status=400)
    except (DuplicateSubmission, InvitationClosed):
        db.session.rollback()
        return _closed(invitation, "answered", 409)
    return _private(redirect(url_for("survey_links.thanks", token=token), 303))


@bp.post("/<token>/luu")
@csrf.exempt  # checked inside, to answer the page's script in JSON
@link_limit
def save_draft(token: str) -> Any:
    """Keep the answers given so far; from the script a JSON answer, from the button the page again."""
    wants_json = request.accept_mimetypes.best == "application/json"
    invitation = _invitation_or_404(token)
    try:
        csrf.protect()
    except CSRFError:
        if wants_json:
            return _private(make_response(jsonify(error=_("Phiên làm việc đã hết hạn; vui lòng tải lại trang.")),
                                          400))
        page = _posted_page(invitation)
        return _render(page, token, values=services.answer_fields(page.version, request.form), status=400,
                       errors={"_form": _("Phiên làm việc đã hết hạn. Các câu trả lời của bạn vẫn còn; vui lòng "
                                          "bấm “Lưu và tiếp tục sau” lần nữa.")})
    try:
        services.save_draft(invitation, _posted_page(invitation).version, request.form)
    except InvitationClosed as closed:
        db.session.rollback()
        if wants_json:
            return _private(make_response(jsonify(error=closed.reason), 409))
        return _closed(invitation, closed.reason, 409 if closed.reason == "answered" else None)
    if wants_json:
        return _private(make_response(jsonify(saved=True), 200))
    lang = request.args.get("lang")
    response = redirect(url_for("survey_links.survey", token=token, da_luu=None if lang else "1"), 303)
    if lang in ("vi", "en"):  # the language button saves the answers, then shows the page in the other language
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax")
    return _private(response)


@bp.get("/<token>/cam-on")
@link_limit
def thanks(token: str) -> Any:
    """The thank-you page of an answered link (an open one goes back to its questionnaire)."""
    invitation = _invitation_or_404(token)
    if invitation.status != "answered":
        return _private(redirect(url_for("survey_links.survey", token=token), 303))
    return _private(make_response(render_template("survey_links/thanks.html", agency=invitation.agency.name,
                                                  token=token)))
