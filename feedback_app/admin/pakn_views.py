"""Administration of PAKN settings through the shared Crud pattern: deadline policies and answer templates."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..labels import COMPLAINT_KIND_LABELS, choices_of, label_of
from ..models import AnswerTemplate, Complaint, DeadlinePolicy
from ..scoping import visible_unit_ids
from . import choices
from .crud import Crud, FormRefused
from .pakn_forms import AnswerTemplateForm, DeadlinePolicyForm


def _prepare_policy(form: DeadlinePolicyForm, obj: DeadlinePolicy) -> None:
    if request.method == "GET" and obj.id:
        form.show_reminders(obj.reminders)


def _save_policy(form: DeadlinePolicyForm, obj: DeadlinePolicy) -> None:
    used = obj.id and db.session.scalar(select(func.count(Complaint.id)).where(Complaint.policy_id == obj.id))
    if used and (form.kind.data != obj.kind or form.classify_days.data != obj.classify_days
                 or form.answer_days.data != obj.answer_days):
        # Deadlines already given to citizens stay as they were: a new rule is a new policy.
        raise FormRefused(_("Chính sách này đã áp dụng cho %(n)d PAKN: không đổi loại hay số ngày được. Hãy tạo "
                            "chính sách mới (và thôi áp dụng chính sách này).", n=used))
    obj.kind, obj.legal_basis = form.kind.data, form.legal_basis.data.strip()
    obj.classify_days, obj.answer_days = form.classify_days.data, form.answer_days.data
    obj.max_extension_days, obj.active = form.max_extension_days.data, form.active.data
    obj.reminders = form.reminders()


def _prepare_template(form: AnswerTemplateForm, _obj: AnswerTemplate) -> None:
    form.kind.choices = [("", _("Mọi loại")), *choices_of(COMPLAINT_KIND_LABELS)]
    scope = visible_unit_ids(current_user)
    form.agency_id.choices = ([("", _("Dùng chung mọi cơ quan"))] if scope is None else []) + \
        choices.unit_choices(scope, types=("so", "ubnd"))


def _save_template(form: AnswerTemplateForm, obj: AnswerTemplate) -> None:
    scope = visible_unit_ids(current_user)
    if scope is not None and obj.id and obj.agency_id is None:
        raise FormRefused(_("Mẫu dùng chung chỉ quản trị hệ thống sửa được."))
    if scope is not None and (form.agency_id.data is None or form.agency_id.data not in scope):
        raise FormRefused(_("Chỉ quản trị hệ thống tạo được mẫu dùng chung; hãy chọn cơ quan của bạn."))
    obj.title, obj.body, obj.active = form.title.data.strip(), form.body.data, form.active.data
    obj.kind, obj.agency_id = form.kind.data or None, form.agency_id.data


def _templates_in_scope(stmt):
    # The office keeps its agency's templates; shared ones (every agency's) are the administrators'.
    scope = visible_unit_ids(current_user)
    if scope is None:
        return stmt
    return stmt.where(AnswerTemplate.agency_id.in_(sorted(scope)))


def pakn_cruds() -> list[Crud]:
    """The PAKN settings pages."""
    return [
        Crud("deadline-policies", DeadlinePolicy, DeadlinePolicyForm, _l("Thời hạn xử lý PAKN"), [
            (_l("Loại"), lambda p: label_of(COMPLAINT_KIND_LABELS, p.kind)), (_l("Căn cứ"), lambda p: p.legal_basis),
            (_l("Phân loại"), lambda p: p.classify_days), (_l("Trả lời"), lambda p: p.answer_days),
            (_l("Áp dụng"), lambda p: _("Có") if p.active else _("Không")),
        ], order_by=DeadlinePolicy.kind, prepare_form=_prepare_policy, save=_save_policy),
        Crud("answer-templates", AnswerTemplate, AnswerTemplateForm, _l("Mẫu trả lời PAKN"), [
            (_l("Tên mẫu"), lambda t: t.title), (_l("Loại"), lambda t: label_of(COMPLAINT_KIND_LABELS, t.kind)),
            (_l("Cơ quan"), lambda t: t.agency.name if t.agency else _("Dùng chung")),
            (_l("Đang dùng"), lambda t: _("Có") if t.active else _("Không")),
        ], roles=("admin", "office"), order_by=AnswerTemplate.title, prepare_form=_prepare_template,
            save=_save_template, query_filter=_templates_in_scope),
    ]
