"""Administration pages: the Crud registrations plus kiosks, review of flagged responses, audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..audit import record
from ..auth.forms import EmptyForm
from ..extensions import db
from ..kiosk.devices import DEVICE_COOKIE, new_device_token
from ..labels import (
    CHANNEL_LABELS,
    COMPARISON_LABELS,
    EVENT_KIND_LABELS,
    FLAG_REASON_LABELS,
    REFUSAL_REASON_LABELS,
    UNIT_TYPE_LABELS,
    label_of,
)
from ..models import (
    AuditEvent,
    Campaign,
    Counter,
    Field,
    KioskDevice,
    Officer,
    OrgEvent,
    OrgUnit,
    RefusedSubmission,
    Response,
    Service,
    Target,
    User,
)
from ..parsing import parse_id
from ..scoping import scope_condition, unit_with_descendants, visible_unit_ids
from ..security import roles_required
from ..surveys.campaigns import campaign_progress, save_campaign
from ..surveys.review import REVIEWER_ROLES, resolve_refused, review_responses
from ..timeutil import format_date, format_datetime
from . import choices, forms
from .api_key_views import register_api_key_views
from .calendar_views import register_calendar_views
from .crud import Crud, FormRefused
from .outbox_views import register_outbox_views
from .pakn_views import pakn_cruds
from .photos import UnreadableImage, portrait_jpeg
from .questionnaire_views import register_questionnaire_views
from .sms_optout_views import register_sms_optout_views
from .sms_views import register_sms_views

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The Văn phòng Sở keeps its own department's records (scoped); administrators keep everything.
OFFICE = ("admin", "office")


def _unit_name(unit: OrgUnit | None) -> str:
    return unit.name if unit else ""


def _in_scope(column: Any) -> Callable[[Any], Any]:
    """A list filter: the rows whose unit lies in the user's scope (everything for administrators)."""

    def condition(stmt: Any) -> Any:
        units = visible_unit_ids(current_user)
        return stmt if units is None else stmt.where(column.in_(sorted(units)))

    return condition


def _scope() -> set[int] | None:
    return visible_unit_ids(current_user)


def _prepare_unit(form: forms.OrgUnitForm, obj: OrgUnit) -> None:
    # A unit cannot sit under itself or under one of its own sub-units; the Văn phòng places units only
    # inside its own scope (an administrator may also make a top unit).
    below = unit_with_descendants([obj.id], include_history=False) if obj.id else set()
    allowed = [c for c in choices.unit_choices(_scope()) if c.value not in below]
    form.parent_id.choices = allowed if _scope() is not None else choices.BLANK + allowed


def _save_unit(form: forms.OrgUnitForm, obj: OrgUnit) -> None:
    if _scope() is not None:
        if obj.id == current_user.org_unit_id:
            raise FormRefused(_("Đơn vị gốc của phạm vi tài khoản chỉ quản trị hệ thống được sửa."))
        if form.parent_id.data is None:
            raise FormRefused(_("Vui lòng chọn đơn vị cấp trên trong phạm vi của bạn."))
    form.populate_obj(obj)


def _prepare_event(form: forms.OrgEventForm, _obj: OrgEvent) -> None:
    form.predecessor_id.choices = form.successor_id.choices = choices.unit_choices()


def _save_event(form: forms.OrgEventForm, obj: OrgEvent) -> None:
    form.populate_obj(obj)
    predecessor = db.session.get(OrgUnit, obj.predecessor_id)
    if predecessor is not None and predecessor.valid_to is None:
        # The predecessor ends the day before its successor takes over.
        predecessor.valid_to = obj.effective_date - timedelta(days=1)


def _prepare_service(form: forms.ServiceForm, _obj: Service) -> None:
    form.field_id.choices = choices.BLANK + choices.field_choices()
    form.agency_id.choices = choices.unit_choices(_scope(), types=("so", "ubnd", "phong"))


def _prepare_counter(form: forms.CounterForm, _obj: Counter) -> None:
    # Service centres belong to the province, outside a department's scope: any may be chosen.
    form.service_centre_id.choices = choices.unit_choices(types=("ttpvhcc", "motcua"))
    form.agency_id.choices = choices.unit_choices(_scope(), types=("so", "ubnd", "phong"))
    form.questionnaire_id.choices = choices.BLANK + choices.questionnaire_choices()


def _prepare_officer(form: forms.OfficerForm, obj: Officer) -> None:
    form.unit_id.choices = choices.unit_choices(_scope())
    form.counter_ids.choices = choices.counter_choices(_scope())
    if request.method == "GET" and obj.id:
        form.counter_ids.data = [c.id for c in obj.counters]


def _save_officer(form: forms.OfficerForm, obj: Officer) -> None:
    obj.full_name, obj.title, obj.unit_id, obj.active = (form.full_name.data, form.title.data or None,
                                                         form.unit_id.data, form.active.data)
    if form.remove_photo.data:
        obj.photo = obj.photo_mime = None
    elif form.photo.data:
        try:
            obj.photo, obj.photo_mime = portrait_jpeg(form.photo.data.read())
        except UnreadableImage as error:
            raise FormRefused(str(error)) from error
    ids = form.counter_ids.data or []
    obj.counters = list(db.session.scalars(select(Counter).where(Counter.id.in_(ids)))) if ids else []


def _prepare_user(form: forms.UserForm, _obj: User) -> None:
    form.org_unit_id.choices = choices.unit_choices()
    form.officer_id.choices = choices.BLANK + choices.officer_choices()


def _save_user(form: forms.UserForm, obj: User) -> None:
    if not obj.id and not form.new_password.data:
        raise FormRefused(_("Tài khoản mới cần mật khẩu."))
    obj.email = form.email.data.strip().lower()
    obj.full_name, obj.role, obj.org_unit_id = form.full_name.data, form.role.data, form.org_unit_id.data
    obj.officer_id, obj.active, obj.is_head = form.officer_id.data, form.active.data, form.is_head.data
    if obj.id == current_user.id and (not obj.active or obj.role != "admin"):
        raise FormRefused(_("Bạn không thể tự khóa hoặc bỏ quyền quản trị của chính mình."))
    if form.new_password.data:
        obj.set_password(form.new_password.data)
    if obj.id and (form.new_password.data or form.role.data != form.role.object_data
                   or form.org_unit_id.data != form.org_unit_id.object_data or not obj.active):
        obj.end_sessions()  # other browsers of this user log in again under the new rules
        if obj.id == current_user.id:
            login_user(obj)  # except this one: it carries the new session version


def _prepare_kiosk(form: forms.KioskDeviceForm, _obj: KioskDevice) -> None:
    form.counter_id.choices = choices.counter_choices(visible_unit_ids(current_user))


def _save_kiosk(form: forms.KioskDeviceForm, obj: KioskDevice) -> None:
    if form.counter_id.data not in choices.values(form.counter_id.choices):
        raise FormRefused(_("Quầy không thuộc phạm vi của bạn."))
    form.populate_obj(obj)
    if not obj.id:
        obj.token_hash = new_device_token()[1]  # replaced when the tablet is activated
        obj.registered_by_id = current_user.id


def _kiosk_filter(stmt: Any) -> Any:
    units = visible_unit_ids(current_user)
    if units is None:
        return stmt
    return stmt.join(Counter, Counter.id == KioskDevice.counter_id).where(Counter.agency_id.in_(sorted(units)))


def _prepare_campaign(form: forms.CampaignForm, obj: Campaign) -> None:
    form.unit_ids.choices = choices.unit_choices(visible_unit_ids(current_user))
    if request.method == "GET" and obj.id:
        form.unit_ids.data = [u.id for u in obj.units]


def _save_campaign(form: forms.CampaignForm, obj: Campaign) -> None:
    allowed = choices.values(form.unit_ids.choices)
    if not set(form.unit_ids.data) <= allowed:
        raise FormRefused(_("Có đơn vị nằm ngoài phạm vi của bạn."))
    save_campaign(obj, form.data)


def _campaign_filter(stmt: Any) -> Any:
    """Campaigns whose every unit lies in the user's scope."""
    units = visible_unit_ids(current_user)
    if units is None:
        return stmt
    return stmt.where(~Campaign.units.any(OrgUnit.id.not_in(sorted(units))))


def _prepare_target(form: forms.TargetForm, _obj: Target) -> None:
    form.org_unit_id.choices = choices.unit_choices(_scope())
    form.factor_code.choices = choices.factor_code_choices()


def _save_target(form: forms.TargetForm, obj: Target) -> None:
    form.populate_obj(obj)
    obj.factor_code = form.factor_code.data or None


# Titles and column names are lazy: the list is built once at import and read in each request's language.
CRUDS = [
    Crud("units", OrgUnit, forms.OrgUnitForm, _l("Đơn vị"), [
        (_l("Mã"), lambda u: u.code), (_l("Tên"), lambda u: u.name),
        (_l("Loại"), lambda u: label_of(UNIT_TYPE_LABELS, u.unit_type)),
        (_l("Trực thuộc"), lambda u: _unit_name(u.parent)),
        (_l("Hiệu lực"), lambda u: " – ".join((format_date(u.valid_from), format_date(u.valid_to) or _("nay")))),
    ], roles=OFFICE, order_by=OrgUnit.code, prepare_form=_prepare_unit, save=_save_unit,
        query_filter=_in_scope(OrgUnit.id), load=(selectinload(OrgUnit.parent),)),
    Crud("org-events", OrgEvent, forms.OrgEventForm, _l("Sáp nhập, đổi tên"), [
        (_l("Ngày"), lambda e: format_date(e.effective_date)),
        (_l("Loại"), lambda e: label_of(EVENT_KIND_LABELS, e.kind)),
        (_l("Đơn vị trước"), lambda e: e.predecessor.name), (_l("Đơn vị kế thừa"), lambda e: e.successor.name),
        (_l("Căn cứ"), lambda e: e.legal_basis or ""),
    ], order_by=OrgEvent.effective_date, prepare_form=_prepare_event, save=_save_event,
        load=(selectinload(OrgEvent.predecessor), selectinload(OrgEvent.successor))),
    Crud("fields", Field, forms.FieldForm, _l("Lĩnh vực"), [
        (_l("Mã"), lambda f: f.code), (_l("Tên"), lambda f: f.name),
    ], order_by=Field.name),
    Crud("services", Service, forms.ServiceForm, _l("Thủ tục hành chính"), [
        (_l("Mã"), lambda s: s.code), (_l("Tên"), lambda s: s.name),
        (_l("Lĩnh vực"), lambda s: s.field.name if s.field else ""),
        (_l("Cơ quan"), lambda s: s.agency.name), (_l("Áp dụng"), lambda s: _("Có") if s.active else _("Không")),
    ], roles=OFFICE, order_by=Service.name, prepare_form=_prepare_service, query_filter=_in_scope(Service.agency_id),
        load=(selectinload(Service.field), selectinload(Service.agency))),
    Crud("counters", Counter, forms.CounterForm, _l("Quầy"), [
        (_l("Mã"), lambda c: c.code), (_l("Tên"), lambda c: c.name), (_l("Cơ quan"), lambda c: c.agency.name),
        (_l("Nơi đặt"), lambda c: c.service_centre.name),
        (_l("Hoạt động"), lambda c: _("Có") if c.active else _("Không")),
    ], roles=OFFICE, order_by=Counter.code, prepare_form=_prepare_counter, query_filter=_in_scope(Counter.agency_id),
        load=(selectinload(Counter.agency), selectinload(Counter.service_centre)), extra_actions=[
        (_l("Áp phích A5"), lambda c: url_for("qrcodes.poster", code=c.code)),
        ("QR (SVG)", lambda c: url_for("qrcodes.counter_svg", code=c.code)),
        ("QR (PNG)", lambda c: url_for("qrcodes.counter_png", code=c.code)),
        (_l("Trang kiosk"), lambda c: url_for("kiosk.kiosk_page", code=c.code)),
    ]),
    Crud("officers", Officer, forms.OfficerForm, _l("Công chức"), [
        (_l("Họ tên"), lambda o: o.full_name), (_l("Chức danh"), lambda o: o.title or ""),
        (_l("Đơn vị"), lambda o: o.unit.name),
        (_l("Quầy"), lambda o: ", ".join(c.name for c in o.counters)),
    ], roles=OFFICE, order_by=Officer.full_name, prepare_form=_prepare_officer, save=_save_officer,
        query_filter=_in_scope(Officer.unit_id), load=(selectinload(Officer.unit), selectinload(Officer.counters))),
    Crud("users", User, forms.UserForm, _l("Tài khoản"), [
        ("Email", lambda u: u.email), (_l("Họ tên"), lambda u: u.full_name), (_l("Vai trò"), lambda u: u.role_label),
        (_l("Phạm vi"), lambda u: u.org_unit.name), (_l("Hoạt động"), lambda u: _("Có") if u.active else _("Không")),
    ], order_by=User.email, prepare_form=_prepare_user, save=_save_user, load=(selectinload(User.org_unit),),
        duplicate_message=_l("Email này đã có tài khoản; vui lòng dùng email khác.")),
    Crud("kiosks", KioskDevice, forms.KioskDeviceForm, _l("Thiết bị kiosk"), [
        (_l("Tên"), lambda d: d.name), (_l("Quầy"), lambda d: d.counter.name),
        (_l("Đăng ký"), lambda d: format_date(d.registered_at)),
        # A tablet that stopped calling in (its heartbeat, every two minutes) is offline or switched off.
        (_l("Liên lạc lần cuối"), lambda d: format_datetime(d.last_seen_at) if d.last_seen_at else _("Chưa")),
        (_l("Hoạt động"), lambda d: _("Có") if d.active else _("Không")),
    ], roles=OFFICE, order_by=KioskDevice.name, prepare_form=_prepare_kiosk, save=_save_kiosk,
        load=(selectinload(KioskDevice.counter),),
        query_filter=_kiosk_filter,
        extra_actions=[(_l("Kích hoạt trên máy này"), lambda d: url_for("admin.kiosk_activate", item_id=d.id))]),
    Crud("campaigns", Campaign, forms.CampaignForm, _l("Đợt khảo sát"), [
        (_l("Tên"), lambda c: c.name),
        (_l("Thời gian"), lambda c: f"{format_date(c.period_start)} – {format_date(c.period_end)}"),
        (_l("Kênh"), lambda c: ", ".join(label_of(CHANNEL_LABELS, ch) for ch in c.channels)),
        (_l("Tiến độ"), lambda c: campaign_progress(c).label),
    ], roles=OFFICE, order_by=Campaign.period_start.desc(), prepare_form=_prepare_campaign,
        save=_save_campaign, query_filter=_campaign_filter),
    Crud("targets", Target, forms.TargetForm, _l("Mục tiêu"), [
        (_l("Đơn vị"), lambda t: t.org_unit.name), (_l("Năm"), lambda t: t.year),
        (_l("Yếu tố"), lambda t: t.factor_code or _("Chỉ số chung")),
        (_l("Mục tiêu"), lambda t: f"{label_of(COMPARISON_LABELS, t.comparison)} {t.target_pct}%"),
    ], roles=OFFICE, order_by=Target.year.desc(), prepare_form=_prepare_target, save=_save_target,
        query_filter=_in_scope(Target.org_unit_id),
        load=(selectinload(Target.org_unit),),
        duplicate_message=_l("Đơn vị này đã có mục tiêu cho năm và yếu tố này; hãy sửa mục tiêu đó.")),
    *pakn_cruds(),
]
for _crud in CRUDS:
    _crud.register(bp)
register_questionnaire_views(bp)
register_calendar_views(bp)
register_outbox_views(bp)
register_api_key_views(bp)
register_sms_views(bp)
register_sms_optout_views(bp)


@bp.get("/")
@roles_required("admin", "office")
def index() -> Any:
    """The administration menu."""
    return render_template("admin/index.html", cruds=CRUDS)


@bp.route("/kiosks/<int:item_id>/activate", methods=["GET", "POST"])
@roles_required("admin", "office")
def kiosk_activate(item_id: int) -> Any:
    """Make this browser the registered kiosk: a new device secret in a long-lived cookie."""
    device = db.session.scalar(_kiosk_filter(select(KioskDevice)).where(KioskDevice.id == item_id))
    if device is None:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("admin/kiosk_activate.html", device=device, form=form)
    token, token_hash = new_device_token()
    device.token_hash = token_hash
    record(current_user, "kiosks.activate", device)
    db.session.commit()
    response = redirect(url_for("kiosk.kiosk_page", code=device.counter.code))
    response.set_cookie(DEVICE_COOKIE, token, max_age=5 * 365 * 86400, httponly=True, samesite="Strict",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/review", methods=["GET", "POST"])
@roles_required(*REVIEWER_ROLES)
def review() -> Any:
    """Responses flagged as bursts: staff accept (they count) or reject (kept, not counted)."""
    scope = scope_condition(current_user, Response.unit_id)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        decision = request.form.get("decision")
        ids = [i for i in map(parse_id, request.form.getlist("response_id")) if i is not None]
        if decision not in ("accepted", "rejected") or not ids:
            flash(_("Chọn ít nhất một phiếu và một quyết định."), "error")
            return redirect(url_for("admin.review"), 303)
        decided = review_responses(current_user, ids, decision)
        db.session.commit()
        flash(ngettext("Đã cập nhật %(num)d phiếu.", "Đã cập nhật %(num)d phiếu.", len(decided)), "success")
        return redirect(url_for("admin.review"), 303)
    pending = db.session.scalars(select(Response).where(Response.review_status == "pending", scope)
                                 .options(selectinload(Response.counter), selectinload(Response.device))
                                 .order_by(Response.submitted_at.desc()).limit(500)).all()
    decided = db.session.scalar(select(func.count(Response.id)).where(
        Response.review_status.in_(("accepted", "rejected")), scope))
    return render_template("admin/review.html", pending=pending, decided=decided, form=form,
                           channels=CHANNEL_LABELS, reasons=FLAG_REASON_LABELS)


@bp.route("/refused", methods=["GET", "POST"])
@roles_required(*REVIEWER_ROLES)
def refused() -> Any:
    """Responses kiosks sent that the server could not take as sent, kept for staff to look at."""
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        ids = [i for i in map(parse_id, request.form.getlist("refused_id")) if i is not None]
        note = (request.form.get("note") or "").strip()[:500]
        if not ids:
            flash(_("Chọn ít nhất một phiếu."), "error")
            return redirect(url_for("admin.refused"), 303)
        resolved = resolve_refused(current_user, ids, note)
        db.session.commit()
        flash(ngettext("Đã đánh dấu %(num)d phiếu là đã xem xét.", "Đã đánh dấu %(num)d phiếu là đã xem xét.",
                       len(resolved)), "success")
        return redirect(url_for("admin.refused"), 303)
    rows = db.session.scalars(
        select(RefusedSubmission).join(Counter, Counter.id == RefusedSubmission.counter_id)
        .where(RefusedSubmission.status == "open", scope_condition(current_user, Counter.agency_id))
        .options(selectinload(RefusedSubmission.counter), selectinload(RefusedSubmission.device))
        .order_by(RefusedSubmission.received_at.desc()).limit(500)).all()
    return render_template("admin/refused.html", rows=rows, form=form, reasons=REFUSAL_REASON_LABELS)


@bp.get("/audit")
@roles_required("admin")
def audit_log() -> Any:
    """The latest staff actions."""
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(300)).all()
    users = {u.id: u for u in db.session.scalars(select(User))}
    return render_template("admin/audit.html", events=events, users=users)
