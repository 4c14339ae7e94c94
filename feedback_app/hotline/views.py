"""Pages of the hotline log (/duong-day-nong): the list with its month summary, logging a call, one call,
turning it into a PAKN, the XLSX export. Thin: the rules live in services.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError
from wtforms import Form

from ..complaints.errors import ComplaintInputError
from ..extensions import db
from ..labels import COMPLAINT_NATURE_LABELS, HOTLINE_OUTCOME_LABELS
from ..models import Complaint, User
from ..parsing import parse_id
from ..security import roles_required
from ..timeutil import DateOutOfRange, format_date, format_datetime, local_today, parse_date
from . import services
from .forms import CallForm, ConvertForm

bp = Blueprint("hotline", __name__, url_prefix="/duong-day-nong")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_filters(args: Any) -> tuple[services.LogFilter, dict[str, str]]:
    """The list's filters from the query string; a filter that is not understood is left out, and said so."""
    filters, errors = services.LogFilter(), {}
    for name in ("date_from", "date_to"):
        raw = (args.get(name) or "").strip()
        if raw:
            try:
                setattr(filters, name, parse_date(raw, bounded=True))
            except DateOutOfRange as error:
                errors[name] = _("Ngày “%(value)s” phải nằm trong các năm %(first)d–%(last)d: bộ lọc này chưa được "
                                 "áp dụng.", value=raw[:20], first=error.first, last=error.last)
            except ValueError:
                errors[name] = _("Ngày “%(value)s” chưa đúng dạng dd/mm/yyyy: bộ lọc này chưa được áp dụng.",
                                 value=raw[:20])
    outcome = args.get("outcome") or ""
    filters.outcome = outcome if outcome in HOTLINE_OUTCOME_LABELS else ""
    filters.q = (args.get("q") or "").strip()[:100]
    return filters, errors


def _show_errors(form: Form, errors: dict[str, str]) -> None:
    """Put each service message next to its field; the others above the form."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def _call_or_404(user: User, call_id: int) -> Any:
    try:
        return services.get_call(user, call_id)
    except services.CallNotFound:
        abort(404)


def complaint_link(complaint_id: int | None) -> str | None:
    """The queue's page of an item, when the queue is there."""
    if complaint_id is None:
        return None
    try:
        return url_for("complaints.detail", complaint_id=complaint_id)
    except BuildError:
        return None


@bp.get("")
@roles_required(*services.READ_ROLES)
def calls() -> Any:
    """The log of the user's agency (or scope), newest first, with this month's summary."""
    filters, errors = read_filters(request.args)
    page = parse_id(request.args.get("page")) or 1
    rows, total = services.log_page(current_user, filters, page)
    codes = dict(db.session.execute(select(Complaint.id, Complaint.code).where(
        Complaint.id.in_([c.complaint_id for c in rows if c.complaint_id]))).tuples().all())
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "hotline/list.html", rows=rows, total=total, page=page, pages=max(1, -(-total // services.PAGE_SIZE)),
        filters=filters, errors=errors, args=args, summary=services.month_summary(current_user), codes=codes,
        outcomes=HOTLINE_OUTCOME_LABELS, mask=services.mask_phone, duration=services.format_duration,
        with_name=services.sees_caller(current_user), can_log=current_user.role in services.OPERATOR_ROLES,
        format_date=format_date,
    ), 400 if errors else 200


@bp.route("/ghi", methods=["GET", "POST"])
@roles_required(*services.OPERATOR_ROLES)
def log_call() -> Any:
    """"Ghi cuộc gọi": on an error the form comes back with everything typed and a message next to each field."""
    form = CallForm()
    if request.method == "GET":
        form.started_at.data = services.now_local_text()
        return render_template("hotline/log.html", form=form)
    if not form.validate_on_submit():
        return render_template("hotline/log.html", form=form), 400
    entry = services.CallEntry(**{name: form[name].data or "" for name in (
        "started_at", "caller_name", "caller_phone", "duration", "topic", "notes", "outcome")})
    try:
        call = services.log_call(current_user, entry)
    except ComplaintInputError as error:
        _show_errors(form, error.errors)
        return render_template("hotline/log.html", form=form), 400
    flash(_("Đã ghi cuộc gọi lúc %(time)s.", time=format_datetime(call.started_at)), "success")
    if request.form.get("then") == "convert":
        return redirect(url_for("hotline.convert", call_id=call.id), 303)
    return redirect(url_for("hotline.calls"), 303)


@bp.get("/<int:call_id>")
@roles_required(*services.READ_ROLES)
def call(call_id: int) -> Any:
    """One call as it was written down; the caller's identity only for the operator, the office and admins."""
    item = _call_or_404(current_user, call_id)
    code = db.session.scalar(select(Complaint.code).where(Complaint.id == item.complaint_id)) \
        if item.complaint_id else None
    return render_template("hotline/call.html", call=item, code=code, link=complaint_link(item.complaint_id),
                           sees_caller=services.sees_caller(current_user), mask=services.mask_phone,
                           duration=services.format_duration, outcomes=HOTLINE_OUTCOME_LABELS,
                           can_convert=current_user.role in services.OPERATOR_ROLES)


@bp.route("/<int:call_id>/chuyen-pakn", methods=["GET", "POST"])
@roles_required(*services.OPERATOR_ROLES)
def convert(call_id: int) -> Any:
    """Turn the call into a PAKN (or a khiếu nại / tố cáo to be referred) carrying what the caller said."""
    item = _call_or_404(current_user, call_id)
    form = ConvertForm()
    context = {"call": item, "form": form, "duration": services.format_duration}
    if item.complaint_id is not None and request.method == "GET":
        flash(_("Cuộc gọi này đã được chuyển thành PAKN."), "error")
        return redirect(url_for("hotline.call", call_id=item.id), 303)
    if request.method == "GET":
        return render_template("hotline/convert.html", **context)
    if not form.validate_on_submit():
        return render_template("hotline/convert.html", **context), 400
    try:
        complaint = services.call_to_complaint(current_user, call_id, kind=form.kind.data, nature=form.nature.data,
                                               address=form.address.data or "", consent=form.consent.data)
    except services.CallNotFound:
        abort(404)
    except services.CallAlreadyConverted as error:
        _show_errors(form, error.errors)
        return render_template("hotline/convert.html", **context), 409
    except ComplaintInputError as error:
        _show_errors(form, error.errors)
        return render_template("hotline/convert.html", **context), 400
    if complaint.nature == "pakn":
        flash(_("Đã chuyển cuộc gọi thành PAKN %(code)s.", code=complaint.code), "success")
    else:
        flash(_("Đã ghi nhận %(nature)s %(code)s; Văn phòng sẽ chuyển xử lý theo luật riêng.",
                nature=COMPLAINT_NATURE_LABELS[complaint.nature], code=complaint.code), "success")
    return redirect(url_for("hotline.call", call_id=call_id), 303)


@bp.get("/xuat.xlsx")
@roles_required(*services.READ_ROLES)
def export() -> Any:
    """The log (with the list's filters) as an XLSX file; a filter that is not understood gives the list back
    with its message (400), never a file of more than was asked for."""
    filters, errors = read_filters(request.args)
    if errors:
        return calls()
    data = services.export_log(current_user, filters)
    name = f"duong-day-nong-{local_today():%Y%m%d}.xlsx"
    return data, 200, {"Content-Type": XLSX, "Content-Disposition": f'attachment; filename="{name}"'}
