"""Apology slips of late dossiers: create, print (HTML), download (DOCX), record delivery, send, the list of what
is due. Thin: parse, call a service in slips.py, show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from ..extensions import db
from ..models import ApologySlip, Dossier
from ..models.survey import IllegalTransition
from ..parsing import parse_id
from ..phones import mask_phone
from ..security import roles_required
from ..timeutil import local_today
from . import slips
from .slip_docx import build_docx, slip_content
from .slip_forms import channels, delivery_instant, slip_form

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WITHIN_DAYS_DEFAULT, WITHIN_DAYS_MAX = 3, 30


@dataclass
class SlipSection:
    """What the dossier page's slip section shows to this user."""

    slips: list[ApologySlip]
    refusal: str | None
    can_create: bool
    can_deliver: bool
    can_send: bool
    ground: str


def slip_section(dossier: Dossier) -> SlipSection | None:
    """The slip section of a dossier for the current user; None when they may not see slips."""
    if not current_user.is_authenticated or not slips.can_read(current_user, dossier):
        return None
    today = local_today()
    return SlipSection(
        slips=list(dossier.slips), refusal=slips.refusal(dossier),
        can_create=slips.can(current_user, "create", dossier), can_deliver=slips.can(current_user, "deliver", dossier),
        can_send=slips.can(current_user, "send", dossier),
        ground=str(slips.GROUND_LABELS[slips.ground(dossier, today)]) if dossier.is_late or not dossier.returned_date
        else "")


def dossier_url(dossier: Dossier) -> str | None:
    """The dossier's own page, when the dossiers pages provide one."""
    try:
        return url_for("dossiers.detail", dossier_id=dossier.id)
    except BuildError:
        return None


def _dossier(dossier_id: int) -> Dossier:
    """The dossier, or 404 when it does not exist or lies outside the user's scope (never say which)."""
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None or not slips.can_read(current_user, dossier):
        abort(404)
    return dossier


def _slip(slip_id: int) -> ApologySlip:
    slip = db.session.get(ApologySlip, slip_id)
    if slip is None or not slips.can_read(current_user, slip.dossier):
        abort(404)
    return slip


def _labels() -> dict[str, Any]:
    return {"methods": slips.DELIVERY_METHOD_LABELS, "grounds": slips.GROUND_LABELS, "mask_phone": mask_phone,
            "dossier_url": dossier_url}


def new_slip(dossier_id: int) -> Any:
    """The form of a new slip, with the signer of the agency's last slip filled in."""
    dossier = _dossier(dossier_id)
    if not slips.can(current_user, "create", dossier):
        abort(403)
    name, title = slips.signer_defaults(dossier.agency_id)
    form = {"extra_working_days": "5", "signer_name": name, "signer_title": title}
    return _form_page(dossier, form)


def _form_page(dossier: Dossier, form: Any, errors: dict[str, str] | None = None, status: int = 200,
               message: str | None = None, preview: Any = None) -> Any:
    page = render_template("dossiers/slip_new.html", dossier=dossier, form=form, errors=errors or {},
                           message=message or slips.refusal(dossier), preview=preview,
                           missed=slips.missed_date(dossier), lo=slips.EXTRA_DAYS_MIN, hi=slips.EXTRA_DAYS_MAX,
                           **_labels())
    return (page, status) if status != 200 else page


def create_slip(dossier_id: int) -> Any:
    """Write the slip (or, with "preview", only show the new date the calendar gives)."""
    dossier = _dossier(dossier_id)
    if not slips.can(current_user, "create", dossier):
        abort(403)
    f = slip_form(request.form)
    if request.form.get("preview"):
        if f.extra_days is None or not slips.EXTRA_DAYS_MIN <= f.extra_days <= slips.EXTRA_DAYS_MAX:
            return _form_page(dossier, request.form, {"extra_working_days": _(
                "Số ngày làm việc gia hạn phải là số nguyên từ %(lo)d đến %(hi)d.", lo=slips.EXTRA_DAYS_MIN,
                hi=slips.EXTRA_DAYS_MAX)}, 400)
        day = slips.new_appointment_date(dossier.agency_id, slips.missed_date(dossier), local_today(), f.extra_days)
        return _form_page(dossier, request.form, preview=day)
    try:
        slip = slips.create_slip(current_user, dossier, reason=f.reason, extra_days=f.extra_days,
                                 signer_name=f.signer_name, signer_title=f.signer_title)
    except slips.NotAllowed:
        abort(403)
    except slips.SlipInputError as exc:
        return _form_page(dossier, request.form, exc.errors, 400)
    except IllegalTransition as exc:
        return _form_page(_dossier(dossier_id), request.form, status=409, message=str(exc))
    flash(_("Đã lập phiếu xin lỗi số %(number)s, hẹn lại ngày %(day)s.", number=slip.number,
            day=f"{slip.new_appointment_date:%d/%m/%Y}"), "success")
    return redirect(url_for(".slip_show", slip_id=slip.id), 303)


def show_slip(slip_id: int, errors: dict[str, str] | None = None, status: int = 200, form: Any = None) -> Any:
    """The slip as a printable page (A4, the document's layout), with the delivery and sending forms on screen."""
    slip = _slip(slip_id)
    dossier = slip.dossier
    phone, email = slips.contacts(dossier)
    page = render_template(
        "dossiers/slip.html", slip=slip, dossier=dossier, doc=slip_content(slip), errors=errors or {},
        form=form or {}, phone=phone, email=email, today=local_today(),
        can_deliver=slips.can(current_user, "deliver", dossier) and slip.delivered_at is None,
        can_send=slips.can(current_user, "send", dossier) and slip.delivered_at is None,
        counter_only=current_user.role == "counter", **_labels())
    return (page, status) if status != 200 else page


def slip_docx(slip_id: int) -> Response:
    """The slip as a Word document to print, sign and stamp."""
    slip = _slip(slip_id)
    name = "phieu-xin-loi-" + "".join(c if c.isalnum() else "-" for c in slip.dossier.code) + ".docx"
    return Response(build_docx(slip), mimetype=DOCX_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def deliver_slip(slip_id: int) -> Any:
    """Record when and how the slip was handed over."""
    slip = _slip(slip_id)
    try:
        at = delivery_instant(request.form)
        slips.record_delivery(current_user, slip, method=request.form.get("method", ""), delivered_at=at)
    except slips.NotAllowed:
        abort(403)
    except slips.SlipInputError as exc:
        return show_slip(slip_id, exc.errors, 400, request.form)
    except IllegalTransition:
        db.session.expire_all()
        return show_slip(slip_id, {"delivery": _("Phiếu này đã được ghi nhận giao trước đó.")}, 409)
    flash(_("Đã ghi nhận giao phiếu muộn (sau ngày hẹn cũ).") if slip.delivered_late
          else _("Đã ghi nhận giao phiếu."), "warning" if slip.delivered_late else "success")
    return redirect(url_for(".slip_show", slip_id=slip.id), 303)


def send_slip(slip_id: int) -> Any:
    """Send the slip by SMS and/or e-mail; the sending is the delivery."""
    slip = _slip(slip_id)
    sms, email = channels(request.form)
    try:
        slips.send_slip(current_user, slip, sms=sms, email=email)
    except slips.NotAllowed:
        abort(403)
    except slips.SlipInputError as exc:
        return show_slip(slip_id, exc.errors, 400, request.form)
    except IllegalTransition:
        db.session.expire_all()
        return show_slip(slip_id, {"channels": _("Phiếu này đã được ghi nhận giao trước đó: không gửi lại.")}, 409)
    flash(_("Đã đưa phiếu vào hàng gửi; việc giao phiếu đã được ghi nhận."), "success")
    return redirect(url_for(".slip_show", slip_id=slip.id), 303)


def slip_list() -> str:
    """What is due: dossiers to write a slip for before their date passes, slips not handed over, late ones."""
    today = local_today()
    within = parse_id(request.args.get("trong"))
    within = WITHIN_DAYS_DEFAULT if within is None else min(within, WITHIN_DAYS_MAX)
    year = parse_id(request.args.get("nam")) or today.year
    year = year if 2000 <= year <= today.year + 1 else today.year
    due = slips.due_without_slip(current_user, today, within)
    late, late_count, delivered = slips.late_deliveries(current_user, year)
    return render_template("dossiers/slip_list.html", due=due, waiting=slips.undelivered_slips(current_user),
                           late=late, late_count=late_count, delivered=delivered, within=within, year=year,
                           today=today, can_create=current_user.role in slips.ACTION_ROLES["create"], **_labels())


def register_slip_views(bp: Blueprint) -> None:
    """Attach the slip routes to the dossiers blueprint (/xu-ly/ho-so/…) and the section's helper to templates."""
    read = roles_required(*slips.READ_ROLES)
    bp.add_url_rule("/phieu-xin-loi", "slip_list", read(slip_list))
    bp.add_url_rule("/<int:dossier_id>/phieu-xin-loi/moi", "slip_new", read(new_slip))
    bp.add_url_rule("/<int:dossier_id>/phieu-xin-loi", "slip_create", read(create_slip), methods=["POST"])
    bp.add_url_rule("/phieu-xin-loi/<int:slip_id>", "slip_show", read(show_slip))
    bp.add_url_rule("/phieu-xin-loi/<int:slip_id>.docx", "slip_docx", read(slip_docx))
    bp.add_url_rule("/phieu-xin-loi/<int:slip_id>/giao", "slip_deliver", read(deliver_slip), methods=["POST"])
    bp.add_url_rule("/phieu-xin-loi/<int:slip_id>/gui", "slip_send", read(send_slip), methods=["POST"])
    bp.add_app_template_global(slip_section, "apology_slip_section")
    bp.add_app_template_global(slips.DELIVERY_METHOD_LABELS, "slip_delivery_methods")
