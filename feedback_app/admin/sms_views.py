"""/admin/sms: each agency's SMS settings, templates (with segment count and campaign cost), the funnel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional, Regexp, ValidationError

from ..complaints.access import scope_units
from ..form_messages import TranslatedForm
from ..labels import label_of
from ..models import OrgUnit
from ..parsing import parse_id
from ..security import roles_required
from ..sms import agency_settings, templates
from ..sms.funnel import GROUPS, funnel
from ..sms.rules import parse_quiet_hours, parse_send_at
from ..timeutil import local_today, parse_date
from . import choices

FUNNEL_ROLES = ("admin", "office", "viewer")
SKIP_LABELS = {
    "no_phone": _l("Hồ sơ không có số điện thoại hợp lệ"), "opted_out": _l("Số điện thoại đã từ chối nhận tin"),
    "recent_invitation": _l("Số điện thoại đã được mời trong thời gian giãn cách"),
    "paused": _l("Cơ quan tạm dừng gửi tin"), "not_returned": _l("Hồ sơ chưa trả kết quả"),
    "expired": _l("Hồ sơ trả kết quả quá lâu, đường dẫn đã hết hạn"),
}
DOSSIER_CHANNEL_LABELS = {"in_person": _l("Trực tiếp"), "online": _l("Trực tuyến"), "postal": _l("Bưu chính công ích")}
ASCII_CHOICES = [("", _l("Theo cấu hình chung")), ("1", _l("Gửi không dấu (160 ký tự mỗi tin)")),
                 ("0", _l("Gửi có dấu (70 ký tự mỗi tin)"))]



def _send_at(_form: Any, field: Any) -> None:
    if field.data and parse_send_at(field.data) is None:
        raise ValidationError(_("Nhập giờ gửi dạng HH:MM (ví dụ 19:00) hoặc “now” để gửi ngay khi trả kết quả."))


def _quiet(_form: Any, field: Any) -> None:
    try:
        parse_quiet_hours(field.data)
    except ValueError:
        raise ValidationError(_("Nhập giờ yên lặng dạng HH:MM-HH:MM (ví dụ 21:00-07:00); giờ bắt đầu và kết thúc "
                                "phải khác nhau.")) from None


def _template(_form: Any, field: Any) -> None:
    text = (field.data or "").strip()
    if not text:
        return
    unknown = templates.unknown_placeholders(text)
    if unknown:
        raise ValidationError(_("Mẫu tin có chỗ thay thế không dùng được: %(names)s. Chỉ dùng %(known)s.",
                                names=", ".join("{" + n + "}" for n in unknown),
                                known=", ".join("{" + n + "}" for n in templates.PLACEHOLDERS)))
    if templates.missing_placeholders(text):
        raise ValidationError(_("Mẫu tin phải có {link}: đường dẫn khảo sát riêng của từng người dân."))


class SmsSettingsForm(TranslatedForm):
    agency_id = SelectField(_l("Cơ quan"), coerce=str)
    sender_name = StringField(_l("Tên định danh (brandname) đã đăng ký"), validators=[
        Optional(), Length(max=11, message=_l("Tên định danh tối đa 11 ký tự.")),
        Regexp(r"^[A-Za-z0-9]+$", message=_l("Tên định danh chỉ gồm chữ cái không dấu và chữ số, không có khoảng "
                                              "trắng (ví dụ SXDKHANHHOA)."))])
    invitation_template = TextAreaField(_l("Mẫu tin mời đánh giá"), validators=[
        Optional(), Length(max=640, message=_l("Mẫu tin tối đa 640 ký tự.")), _template])
    ascii_only = SelectField(_l("Dấu tiếng Việt"))
    send_at = StringField(_l("Giờ gửi trong ngày trả kết quả"), validators=[Optional(), _send_at])
    use_own_quiet = BooleanField(_l("Dùng giờ yên lặng riêng của cơ quan"))
    quiet_hours = StringField(_l("Giờ yên lặng (không gửi tin)"), validators=[_quiet])
    min_days_between = IntegerField(_l("Số ngày tối thiểu giữa hai lần mời một số điện thoại"), validators=[
        Optional(), NumberRange(min=0, max=365, message=_l("Nhập số ngày từ 0 đến 365."))])
    link_valid_days = IntegerField(_l("Số ngày đường dẫn còn hiệu lực"), validators=[
        Optional(), NumberRange(min=1, max=90, message=_l("Nhập số ngày từ 1 đến 90."))])
    price_per_segment = DecimalField(_l("Đơn giá mỗi tin (đồng/segment)"), places=2, validators=[
        Optional(), NumberRange(min=0, max=100000, message=_l("Nhập đơn giá từ 0 đến 100.000 đồng."))])
    paused = BooleanField(_l("Tạm dừng gửi tin mời đánh giá"))


def _agencies() -> list[OrgUnit]:
    return agency_settings.agencies_for(current_user)


def _chosen(agencies: list[OrgUnit], raw: Any) -> OrgUnit:
    if not agencies:
        abort(403)
    wanted = parse_id(raw) if raw not in (None, "") else agencies[0].id
    agency = next((a for a in agencies if a.id == wanted), None)
    if agency is None:
        abort(404)
    return agency


def _fill(form: SmsSettingsForm, agency: OrgUnit) -> None:
    row = agency_settings.settings_of(agency.id)
    form.agency_id.data = str(agency.id)
    if row is None:
        return
    form.sender_name.data = row.sender_name
    form.invitation_template.data = row.invitation_template
    form.ascii_only.data = "" if row.ascii_only is None else ("1" if row.ascii_only else "0")
    form.send_at.data = row.send_at
    form.use_own_quiet.data = row.quiet_hours is not None
    form.quiet_hours.data = row.quiet_hours or ""
    form.min_days_between.data = row.min_days_between
    form.link_valid_days.data = row.link_valid_days
    form.price_per_segment.data = row.price_per_segment
    form.paused.data = row.paused


def _values(form: SmsSettingsForm) -> dict[str, Any]:
    quiet = None
    if form.use_own_quiet.data:
        parsed = parse_quiet_hours(form.quiet_hours.data)
        quiet = str(parsed) if parsed else ""  # "": the agency has no quiet hours at all
    return {
        "sender_name": (form.sender_name.data or "").strip() or None,
        "invitation_template": (form.invitation_template.data or "").strip() or None,
        "ascii_only": None if not form.ascii_only.data else form.ascii_only.data == "1",
        "send_at": parse_send_at(form.send_at.data) if form.send_at.data else None,
        "quiet_hours": quiet,
        "min_days_between": form.min_days_between.data,
        "link_valid_days": form.link_valid_days.data,
        "price_per_segment": form.price_per_segment.data,
        "paused": bool(form.paused.data),
    }


def _warnings(rules: Any, rendered: templates.Rendered) -> list[str]:
    notes = []
    if rendered.count.segments > templates.WARN_SEGMENTS:
        notes.append(_("Tin mời dài %(n)d tin nhắn (segment), quá %(max)d: chi phí tăng theo số tin. Hãy rút gọn "
                       "mẫu hoặc chọn gửi không dấu.", n=rendered.count.segments, max=templates.WARN_SEGMENTS))
    if not rules.sender_name:
        notes.append(_("Chưa có tên định danh (brandname): nhà mạng Việt Nam yêu cầu đăng ký tên định danh và mẫu "
                       "tin trước khi gửi."))
    if rules.template and "{reply}" not in rules.template:
        notes.append(_("Mẫu tin không có {reply}: người dân sẽ không biết có thể trả lời bằng tin nhắn."))
    return notes


def _page(form: SmsSettingsForm, agency: OrgUnit, agencies: list[OrgUnit], status: int = 200) -> Any:
    rules = agency_settings.rules_of(agency.id)
    rendered = agency_settings.preview(agency, rules)
    campaign_id = parse_id(request.args.get("campaign") or "")
    campaigns = agency_settings.campaigns(agency)
    cost = None
    campaign = next((c for c in campaigns if c.id == campaign_id), None)
    if campaign is not None:
        cost = agency_settings.campaign_cost(agency, campaign, rendered, rules)
    html = render_template("admin/sms.html", form=form, agency=agency, agencies=agencies, rules=rules,
                           rendered=rendered, warnings=_warnings(rules, rendered), cost=cost,
                           campaigns=campaigns, campaign_id=campaign_id,
                           default_template=templates.default_template(), placeholders=templates.PLACEHOLDERS,
                           sample_link=templates.sample_link(agency_settings.public_base_url()),
                           reply_text=templates.REPLY_TEXT, stop_text=templates.STOP_TEXT,
                           warn_segments=templates.WARN_SEGMENTS)
    return html, status


def _form(agencies: list[OrgUnit]) -> SmsSettingsForm:
    form = SmsSettingsForm()
    form.agency_id.choices = choices.options((str(a.id), a.name) for a in agencies)
    form.ascii_only.choices = choices.options(ASCII_CHOICES)
    return form


def sms_settings() -> Any:
    """An agency's SMS settings with its invitation as sent, its segment count and the cost of a campaign."""
    agencies = _agencies()
    agency = _chosen(agencies, request.args.get("agency"))
    form = _form(agencies)
    _fill(form, agency)
    return _page(form, agency, agencies)


def sms_settings_save() -> Any:
    """Store an agency's SMS settings; what to fix is shown next to each field, the rest kept."""
    agencies = _agencies()
    form = _form(agencies)
    agency = _chosen(agencies, request.form.get("agency_id"))
    if not form.validate_on_submit():
        return _page(form, agency, agencies, status=400)
    try:
        agency_settings.save_settings(current_user, agency, _values(form))
    except agency_settings.NotAllowed:
        abort(403)
    flash(_("Đã lưu cài đặt tin nhắn của %(name)s.", name=agency.name), "success")
    return redirect(url_for("admin.sms_settings", agency=agency.id), 303)


def sms_funnel() -> Any:
    """Invited -> delivered -> opened -> answered per channel, counter or officer over a period (counts only)."""
    errors = {}
    today = local_today()
    try:
        start = parse_date(request.args["from"], bounded=True) if request.args.get("from") else today - timedelta(
            days=29)
    except ValueError:
        errors["from"], start = _("Nhập ngày bắt đầu dạng dd/mm/yyyy."), today - timedelta(days=29)
    try:
        end = parse_date(request.args["to"], bounded=True) if request.args.get("to") else today
    except ValueError:
        errors["to"], end = _("Nhập ngày kết thúc dạng dd/mm/yyyy."), today
    if start > end:
        errors["to"] = _("Ngày kết thúc phải từ ngày bắt đầu trở đi.")
    group = request.args.get("by") if request.args.get("by") in GROUPS else "channel"
    result = funnel(scope_units(current_user), start, min(max(end, start), start + timedelta(days=3660)), group)
    labels = {k: str(v) for k, v in DOSSIER_CHANNEL_LABELS.items()}
    for row in result.rows:
        if group == "channel":
            row.label = labels.get(str(row.key), str(row.key))
        elif row.key is None:
            row.label = _("(không ghi quầy)") if group == "counter" else _("(không ghi công chức)")
    html = render_template("admin/sms_funnel.html", result=result, start=start, end=end, group=group, errors=errors,
                           skip_labels={k: label_of(SKIP_LABELS, k) for k in result.skipped})
    return html, 400 if errors else 200


def register_sms_views(bp: Blueprint) -> None:
    """Attach the SMS settings pages to the admin blueprint."""
    managers = roles_required(*agency_settings.MANAGER_ROLES)
    bp.add_url_rule("/sms", "sms_settings", managers(sms_settings), methods=["GET"])
    bp.add_url_rule("/sms", "sms_settings_save", managers(sms_settings_save), methods=["POST"])
    bp.add_url_rule("/sms/funnel", "sms_funnel", roles_required(*FUNNEL_ROLES)(sms_funnel), methods=["GET"])
