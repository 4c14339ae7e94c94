"""The citizen's side of PAKN: the public form, its one-time receipt, the sender's private page (with the one
satisfaction question once the outcome reached them) and the public list of published answers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from ..complaints.attachments import Upload, upload_limit
from ..complaints.errors import ComplaintInputError, StaleComplaint
from ..complaints.intake import Intake, Sender, find_by_code, submit
from ..complaints.notices import lookup_url
from ..complaints.satisfaction import AlreadyAnswered, may_answer, question_for, record_satisfaction
from ..complaints.secrets import hash_secret, opens
from ..extensions import csrf, db, limiter
from ..labels import COMPLAINT_KIND_LABELS, COMPLAINT_OUTCOME_LABELS, COMPLAINT_STATE_LABELS
from ..locale import select_locale
from ..models import Complaint, Counter, Officer, OrgUnit, Response, Service
from ..models.complaint import KINDS
from ..parsing import parse_id
from .forms import KINDS as KIND_CHOICES
from .forms import PaknForm, SatisfactionForm
from .services import (
    OFFER_KEY,
    PER_PAGE,
    active_counter,
    agencies_in_force,
    agency_for_counter,
    officers_at,
    public_item,
    published_query,
    services_of,
    survey_comment,
    survey_origin,
)

bp = Blueprint("pakn", __name__)

RECEIPT_KEY = "pakn_receipt"  # code and secret, between the POST and the receipt page only
PRIVATE_ENDPOINTS = ("pakn.new", "pakn.receipt", "pakn.lookup", "pakn.satisfaction")
# Where the intake's messages go on the page: the hidden fields' problems are the page's.
FIELD_OF = {"kind": "kind", "content": "content", "title": "title", "name": "name", "address": "address",
            "phone": "phone", "email": "email", "consent": "consent", "files": "files", "service": "service",
            "officer": "officer", "dossier_code": "dossier_code", "agency": "agency"}


def _lookup_limit() -> str:
    return current_app.config["PAKN_LOOKUP_LIMIT"]


# Guessing a private link is counted per address, over the page and its question alike.
lookup_limit = limiter.shared_limit(_lookup_limit, scope="pakn_lookup")


@bp.url_value_preprocessor
def _allow_attachments(endpoint: str | None, _values: Any) -> None:
    # Runs before every before_request hook (the input guard reads the form): the form's own body limit.
    if endpoint == "pakn.new" and request.method == "POST":
        request.max_content_length = upload_limit()


@bp.after_request
def _private_pages(response: Any) -> Any:
    # The private link's secret is in the address: nothing keeps the page, nothing sends the address on.
    if request.endpoint in PRIVATE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: Exception) -> Any:
    config = current_app.config
    message = _("Tệp đính kèm quá lớn nên phản ánh, kiến nghị CHƯA được gửi. Mỗi lần gửi được tối đa %(n)d tệp, "
                "mỗi tệp tối đa %(mb)d MB. Xin bấm nút Quay lại của trình duyệt (nội dung đã nhập thường vẫn còn), "
                "chọn tệp nhỏ hơn hoặc ít tệp hơn rồi gửi lại.",
                n=config["PAKN_MAX_FILES"], mb=config["PAKN_MAX_FILE_BYTES"] // (1024 * 1024))
    return render_template("errors/error.html", code=413, message=message), 413


# --- the form -----------------------------------------------------------------------------------------------

@dataclass
class Target:
    """Where a PAKN goes and what it may name: from the survey link (?quay, ?can_bo, ?tu_phieu) or the form."""

    counter: Counter | None = None
    origin: Response | None = None
    origin_missing: bool = False
    agency: OrgUnit | None = None
    agencies: list[OrgUnit] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    officers: list[Officer] = field(default_factory=list)


def _target(values: Any) -> Target:
    """Read the counter, the survey response and the agency from the link's arguments or the posted form."""
    target = Target()
    raw_origin = (values.get("tu_phieu") or "").strip()
    target.origin = survey_origin(raw_origin)
    target.origin_missing = bool(raw_origin) and target.origin is None
    if target.origin is not None and target.origin.counter_id is not None:
        target.counter = db.session.get(Counter, target.origin.counter_id)
    elif values.get("quay"):
        target.counter = active_counter(values.get("quay"))
        if target.counter is None:  # as the survey pages: an inactive or unknown counter has no page
            abort(404, description=_("Không tìm thấy quầy này. Vui lòng quét lại mã QR dán tại quầy."))
    if target.counter is not None:
        target.agency = agency_for_counter(target.counter)
        target.officers = officers_at(target.counter)
    else:
        target.agencies = agencies_in_force()
        chosen = parse_id(values.get("agency") or values.get("co_quan"))
        if len(target.agencies) == 1:
            target.agency = target.agencies[0]
        else:
            target.agency = next((a for a in target.agencies if a.id == chosen), None)
    if target.agency is None and not target.agencies:
        abort(503, description=_("Chưa có cơ quan nào nhận phản ánh, kiến nghị qua trang này. Xin liên hệ trực "
                                 "tiếp cơ quan hoặc đường dây nóng."))
    if target.agency is not None:
        target.services = services_of(target.agency.id)
    return target


def _choices(form: PaknForm, target: Target) -> None:
    none = [SelectChoice("", _("— Không chọn —"))]
    form.agency.choices = [SelectChoice("", _("— Chọn cơ quan —"))] + [SelectChoice(str(a.id), a.name)
                                                                       for a in target.agencies]
    form.service.choices = none + [SelectChoice(str(s.id), s.name) for s in target.services]
    form.officer.choices = none + [SelectChoice(str(o.id), o.full_name) for o in target.officers]


def _page(form: PaknForm, target: Target, errors: dict[str, str] | None = None, status: int = 200,
          files_lost: bool = False) -> Any:
    config = current_app.config
    html = render_template(
        "pakn/new.html", form=form, target=target, errors=errors or {}, kinds=KIND_CHOICES, files_lost=files_lost,
        max_files=config["PAKN_MAX_FILES"], max_mb=config["PAKN_MAX_FILE_BYTES"] // (1024 * 1024),
        lang_next=request.full_path if request.method == "GET" else url_for("pakn.new"))
    return make_response(html, status)


@bp.route("/pakn/new", methods=["GET", "POST"])
@csrf.exempt  # the form checks its token itself, after the rate limit, keeping what was typed
@limiter.limit(lambda: current_app.config["PAKN_SUBMIT_LIMIT"], methods=["POST"])
def new() -> Any:
    """The public form; on errors it comes back with every value kept (files must be chosen again)."""
    if request.method == "GET":
        target = _target(request.args)
        officer = parse_id(request.args.get("can_bo"))
        form = PaknForm(formdata=None, data={
            "quay": target.counter.code if target.counter else "",
            "tu_phieu": target.origin.public_id if target.origin else "",
            "officer": str(officer) if officer in {o.id for o in target.officers} else "",
            "agency": str(target.agency.id) if target.agency and target.agencies else "",
            "content": survey_comment(target.origin) if target.origin else "",
            "kind": "gop_y" if target.origin else None,
        })
        _choices(form, target)
        return _page(form, target)
    return _submit()


def _submit() -> Any:
    form = PaknForm()
    target = _target(request.form)
    _choices(form, target)
    uploads = [Upload(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
    if not form.validate():  # only the form token can fail here: the intake checks the values
        return _page(form, target, {"_form": _(
            "Phiên làm việc đã hết hạn nên ý kiến CHƯA được gửi. Nội dung Ông/Bà nhập vẫn còn; vui lòng bấm "
            "“Gửi phản ánh, kiến nghị” lần nữa.")}, 400, files_lost=bool(uploads))
    if target.agency is None:
        return _page(form, target, {"agency": _("Hãy chọn cơ quan nhận ý kiến.")}, 400, files_lost=bool(uploads))
    errors: dict[str, str] = {}
    service_id = _chosen_id(form.service.data, {s.id for s in target.services}, "service", errors)
    officer_id = _chosen_id(form.officer.data, {o.id for o in target.officers}, "officer", errors)
    if errors:
        return _page(form, target, errors, 400, files_lost=bool(uploads))
    intake = Intake(
        agency_id=target.agency.id, kind=form.kind.data or "", content=form.content.data or "",
        channel="survey" if target.origin else "web", title=form.title.data or "",
        sender=Sender(name=form.name.data or "", address=form.address.data or "", phone=form.phone.data or "",
                      email=form.email.data or ""),
        consent=bool(form.consent.data), service_id=service_id,
        counter_id=target.counter.id if target.counter else None, officer_id=officer_id,
        dossier_code=form.dossier_code.data or "", response_id=target.origin.id if target.origin else None,
        uploads=uploads,
    )
    try:
        complaint, secret = submit(intake)
    except ComplaintInputError as error:
        errors = {FIELD_OF.get(name, "_form"): str(message) for name, message in error.errors.items()}
        return _page(form, target, errors, 400, files_lost=bool(uploads))
    session[RECEIPT_KEY] = {"code": complaint.code, "secret": secret}
    session.pop(OFFER_KEY, None)
    return redirect(url_for("pakn.receipt"), 303)


def _chosen_id(raw: object, allowed: set[int], name: str, errors: dict[str, str]) -> int | None:
    if raw in (None, ""):
        return None
    value = parse_id(raw)
    if value is None or value not in allowed:
        errors[name] = _("Lựa chọn không thuộc cơ quan này. Hãy chọn lại.")
        return None
    return value


@bp.get("/pakn/da-gui")
def receipt() -> Any:
    """The receipt, shown once right after sending: the code and the private link to keep."""
    data = session.pop(RECEIPT_KEY, None)
    complaint = find_by_code(str(data.get("code", ""))) if isinstance(data, dict) else None
    secret = str(data.get("secret", "")) if isinstance(data, dict) else ""
    if complaint is None or not opens(complaint, secret):
        abort(404, description=_("Biên nhận chỉ hiện một lần, ngay sau khi gửi. Xin mở đường dẫn riêng Ông/Bà đã "
                                 "lưu (hoặc trong thư điện tử) để xem tình trạng xử lý."))
    # The language link must not come back here (shown once): it opens the form in the other language.
    return render_template("pakn/receipt.html", complaint=complaint, link=lookup_url(complaint, secret),
                           kind_labels=COMPLAINT_KIND_LABELS, lang_next=url_for("pakn.new"))


# --- the sender's private page ------------------------------------------------------------------------------

def _not_found() -> None:
    abort(404, description=_("Không tìm thấy phản ánh, kiến nghị theo đường dẫn này. Xin kiểm tra lại đường dẫn "
                             "trong biên nhận hoặc trong thư điện tử."))


def _opened(code: str, secret: str) -> Complaint:
    """The item whose private link this is; the same 404 for an unknown code and a wrong key."""
    complaint = find_by_code(code) if len(code) <= 20 and len(secret) <= 200 else None
    if complaint is None:
        hmac.compare_digest(hash_secret(secret[:200]), "0" * 64)  # the same work as a wrong key
        _not_found()
    if not opens(complaint, secret):
        _not_found()
    return complaint


def _lookup_page(complaint: Complaint, secret: str, errors: dict[str, str] | None = None, message: str | None = None,
                 status: int = 200) -> Any:
    asked = question_for(complaint) if may_answer(complaint) else None
    html = render_template(
        "pakn/lookup.html", complaint=complaint, secret=secret, asked=asked, form=SatisfactionForm(formdata=None),
        errors=errors or {}, message=message, kind_labels=COMPLAINT_KIND_LABELS, state_labels=COMPLAINT_STATE_LABELS,
        outcome_labels=COMPLAINT_OUTCOME_LABELS, attachments=len(complaint.attachments),
        lang_next=url_for("pakn.lookup", code=complaint.code, secret=secret))
    return make_response(html, status)


@bp.get("/pakn/<code>/<secret>")
@lookup_limit
def lookup(code: str, secret: str) -> Any:
    """The sender's private page: status, dates, deadline, the outcome, and the satisfaction question."""
    return _lookup_page(_opened(code, secret), secret)


@bp.post("/pakn/<code>/<secret>/hai-long")
@lookup_limit
def satisfaction(code: str, secret: str) -> Any:
    """The sender's one answer on the survey's scale; a second one is refused."""
    complaint = _opened(code, secret)
    form = SatisfactionForm()
    try:
        record_satisfaction(complaint, form.satisfaction.data or "", select_locale())
    except ComplaintInputError as error:
        return _lookup_page(complaint, secret, errors=error.errors, status=400)
    except AlreadyAnswered:
        return _lookup_page(complaint, secret, status=409, message=_(
            "Ông/Bà đã trả lời câu hỏi này. Mỗi phản ánh, kiến nghị chỉ được đánh giá một lần."))
    except StaleComplaint:
        return _lookup_page(complaint, secret, status=409, message=_(
            "Hồ sơ vừa được cơ quan cập nhật nên câu trả lời CHƯA được lưu. Vui lòng chọn lại và gửi lần nữa."))
    return redirect(url_for("pakn.lookup", code=complaint.code, secret=secret, _anchor="hai-long"), 303)


# --- the public list ----------------------------------------------------------------------------------------

@bp.get("/cong-khai/pakn")
def published() -> Any:
    """Published answers, newest first, 20 a page, optionally of one kind: never anything personal."""
    kind = request.args.get("loai") if request.args.get("loai") in KINDS else None
    stmt = published_query(kind)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(parse_id(request.args.get("trang")) or 1, 1), pages)
    rows = db.session.execute(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("pakn/published.html", items=[public_item(r) for r in rows], kind=kind, page=page,
                           pages=pages, total=total, kinds=KIND_CHOICES, kind_labels=COMPLAINT_KIND_LABELS)
