"""The Văn phòng Sở's PAKN queue: the list, one item, and its actions. Thin: parse, call a service, show."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from ..extensions import db
from ..labels import (
    COMPLAINT_ACTION_LABELS,
    COMPLAINT_CHANNEL_LABELS,
    COMPLAINT_KIND_LABELS,
    COMPLAINT_NATURE_LABELS,
    COMPLAINT_OUTCOME_LABELS,
    COMPLAINT_STATE_LABELS,
    DUE_STATUS_LABELS,
)
from ..models import AnswerTemplate, Attachment, Complaint, User
from ..models.survey import IllegalTransition
from ..parsing import parse_id
from ..security import roles_required
from ..timeutil import in_range, local_today, utcnow
from . import access, actions, deadlines
from .errors import ComplaintInputError, NotAllowed, StaleComplaint
from .export import queue_workbook
from .forms import parse_day, queue_filter, version_of
from .notices import lookup_url_for
from .queries import COUNT_LIMIT, PAGE_SIZE, due_counts, queue_page, state_counts
from .summary import period_summary

bp = Blueprint("complaints", __name__, url_prefix="/xu-ly/pakn")

# action name in the URL -> the service call with the form's values
ACTIONS: dict[str, Any] = {
    "classify": lambda u, c, v, f: actions.classify(u, c, v, f.get("decision", ""), f.get("reason", ""),
                                                   f.get("forwarded_to", "")),
    "draft": lambda u, c, v, f: actions.draft(u, c, v, f.get("answer_text", "")),
    "approve": lambda u, c, v, f: actions.approve(u, c, v),
    "return": lambda u, c, v, f: actions.return_draft(u, c, v, f.get("reason", "")),
    "notify": lambda u, c, v, f: actions.notify_sender(u, c, v),
    "publish": lambda u, c, v, f: actions.publish(u, c, v, f.get("published_text", ""),
                                                 f.get("published_answer", "")),
    "close": lambda u, c, v, f: actions.close(u, c, v),
    "extend": lambda u, c, v, f: actions.extend(u, c, v, parse_day(f.get("new_date")), f.get("reason", "")),
    "duplicate": lambda u, c, v, f: actions.mark_duplicate(u, c, v, f.get("main_code", "")),
    "withdraw": lambda u, c, v, f: actions.withdraw(u, c, v, f.get("reason", "")),
    "share": lambda u, c, v, f: actions.share_identity(u, c, v, f.get("share") == "1"),
    "note": lambda u, c, v, f: actions.add_note(u, c, f.get("note", "")),
    "erase": lambda u, c, v, f: actions.erase_personal(u, c, v, f.get("reason", "")),
}
LABELS = {
    "kinds": COMPLAINT_KIND_LABELS, "natures": COMPLAINT_NATURE_LABELS, "channels": COMPLAINT_CHANNEL_LABELS,
    "states": COMPLAINT_STATE_LABELS, "outcomes": COMPLAINT_OUTCOME_LABELS, "due_labels": DUE_STATUS_LABELS,
    "actions": COMPLAINT_ACTION_LABELS,
}


def _readable(complaint_id: int) -> Complaint:
    """The item, or 404 when it does not exist or lies outside the user's scope (never say which)."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or not access.can_read(current_user, complaint):
        abort(404)
    return complaint


@bp.get("/")
@roles_required(*access.QUEUE_ROLES)
def queue() -> str:
    """The queue: filters, counts, the most urgent first; several items can be assigned at once."""
    f = queue_filter(request.args)
    now = utcnow()
    items, total = queue_page(current_user, f, now)
    soon = deadlines.due_soon_limit(current_user.org_unit_id, now)
    return render_template(
        "complaints/queue.html", items=items, total=total, f=f, page_size=PAGE_SIZE, count_limit=COUNT_LIMIT,
        counts=state_counts(current_user), due_totals=due_counts(current_user, now),
        due={c.id: deadlines.due_info(c, now, soon) for c in items},
        units=access.units_for_assignment(current_user), can_assign=current_user.role in access.OFFICE_ROLES,
        page_url=lambda n: url_for(".queue", **{**request.args.to_dict(), "page": n}), **LABELS)


@bp.get("/tong-hop")
@roles_required(*access.QUEUE_ROLES)
def summary() -> str:
    """The period's figures: each outcome counted apart, answers on time and late, extensions."""
    today = local_today()
    start = _day_arg("from") or date(today.year, 1, 1)
    end = _day_arg("to") or today
    if end < start:
        start, end = end, start
    return render_template("complaints/summary.html", s=period_summary(current_user, start, end, utcnow()),
                           **LABELS)


def _day_arg(name: str) -> date | None:
    day = parse_day(request.args.get(name))
    return day if day is not None and in_range(day) else None


@bp.get("/xuat.xlsx")
@roles_required(*access.QUEUE_ROLES)
def export() -> Any:
    """The filtered queue as XLSX (no personal data), in the user's scope."""
    data = queue_workbook(current_user, queue_filter(request.args))
    return send_file(io.BytesIO(data), as_attachment=True, download_name="pakn.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/giao")
@roles_required(*access.OFFICE_ROLES)
def assign_many() -> Any:
    """Assign the ticked items to one unit (all or none)."""
    ids = [i for i in (parse_id(x) for x in request.form.getlist("ids")) if i is not None][:200]
    unit_id = parse_id(request.form.get("unit")) or 0
    items = [_readable(i) for i in ids]
    if not items:
        flash(_("Hãy đánh dấu ít nhất một mục để giao."), "error")
        return redirect(request.referrer or url_for(".queue"), 303)
    try:
        actions.assign(current_user, items, unit_id)
    except ComplaintInputError as exc:
        flash(" ".join(exc.errors.values()), "error")
    except StaleComplaint:
        flash(_("Một mục vừa được người khác thay đổi. Hãy xem lại danh sách rồi giao lại."), "error")
    except NotAllowed:
        abort(403)
    else:
        flash(_("Đã giao %(n)d mục.", n=len(items)), "success")
    return redirect(url_for(".queue", **request.args), 303)


@bp.get("/<int:complaint_id>")
@roles_required(*access.QUEUE_ROLES)
def detail(complaint_id: int) -> str:
    """One item: content, sender (to those who may see it), attachments, deadlines, history, actions."""
    return _detail(_readable(complaint_id))


def _detail(complaint: Complaint, errors: dict[str, str] | None = None, form: Any = None, status: int = 200,
            message: str | None = None) -> Any:
    templates = db.session.scalars(
        select(AnswerTemplate).where(AnswerTemplate.active.is_(True),
                                     or_(AnswerTemplate.agency_id.is_(None),
                                         AnswerTemplate.agency_id == complaint.agency_id),
                                     or_(AnswerTemplate.kind.is_(None), AnswerTemplate.kind == complaint.kind))
        .order_by(AnswerTemplate.title)).all()
    users = {u.id: u.full_name for u in db.session.scalars(
        select(User).where(User.id.in_({e.user_id for e in complaint.events if e.user_id})))}
    page = render_template(
        "complaints/detail.html", c=complaint, errors=errors or {}, form=form or {}, message=message,
        can=lambda action: access.can(current_user, action, complaint),
        sees_sender=access.sees_sender(current_user, complaint), deadlines=deadlines, user_names=users,
        # For senders without e-mail (hotline, letters): the office writes or reads them their private link.
        sender_link=lookup_url_for(complaint) if current_user.role in access.OFFICE_ROLES else None,
        units=access.units_for_assignment(current_user), templates=templates, **LABELS)
    return (page, status) if status != 200 else page


@bp.post("/<int:complaint_id>/<action>")
@roles_required(*access.QUEUE_ROLES)
def act(complaint_id: int, action: str) -> Any:
    """One action on one item; a refusal shows the item again with the reason and the typed text kept."""
    service = ACTIONS.get(action)
    if service is None:
        abort(404)
    complaint = _readable(complaint_id)
    try:
        service(current_user, complaint, version_of(request.form), request.form)
    except NotAllowed:
        abort(403)
    except ComplaintInputError as exc:
        return _detail(complaint, exc.errors, request.form, 400)
    except StaleComplaint:
        db.session.expire_all()
        return _detail(_readable(complaint_id), form=request.form, status=409, message=_(
            "Mục này vừa được người khác thay đổi. Trang đã hiện trạng thái mới nhất; nội dung bạn nhập vẫn được "
            "giữ bên dưới, hãy xem lại rồi thực hiện lại."))
    except IllegalTransition:
        db.session.rollback()
        return _detail(_readable(complaint_id), form=request.form, status=409, message=_(
            "Không thực hiện được thao tác này ở trạng thái hiện tại của mục (%(state)s).",
            state=COMPLAINT_STATE_LABELS.get(complaint.state, complaint.state)))
    flash(_("Đã lưu."), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id), 303)


@bp.post("/<int:complaint_id>/assign")
@roles_required(*access.OFFICE_ROLES)
def assign_one(complaint_id: int) -> Any:
    """Assign (or reassign) one item to a unit."""
    complaint = _readable(complaint_id)
    unit_id = parse_id(request.form.get("unit")) or 0
    version = version_of(request.form)
    if version is not None and version != complaint.version:
        return _detail(complaint, form=request.form, status=409, message=_(
            "Mục này vừa được người khác thay đổi. Hãy xem lại rồi giao lại."))
    try:
        actions.assign(current_user, [complaint], unit_id)
    except ComplaintInputError as exc:
        return _detail(complaint, {"unit": " ".join(exc.errors.values())}, request.form, 400)
    except StaleComplaint:
        db.session.expire_all()
        return _detail(_readable(complaint_id), form=request.form, status=409, message=_(
            "Mục này vừa được người khác thay đổi. Hãy xem lại rồi giao lại."))
    flash(_("Đã giao đơn vị xử lý."), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id), 303)


@bp.get("/<int:complaint_id>/tep/<int:attachment_id>")
@roles_required(*access.QUEUE_ROLES)
def attachment(complaint_id: int, attachment_id: int) -> Any:
    """Download one attachment of an item the user may read."""
    complaint = _readable(complaint_id)
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.complaint_id != complaint.id:
        abort(404)
    return send_file(io.BytesIO(item.data), mimetype=item.mime, as_attachment=True, download_name=item.filename)
