"""Forms for the PAKN settings: deadline policies (with their reminder steps) and answer templates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..form_messages import TranslatedForm
from ..labels import COMPLAINT_KIND_LABELS, choices_of
from .choices import options
from .forms import REQUIRED, optional_int

DAYS = NumberRange(min=1, max=90, message=_l("Nhập số ngày làm việc từ 1 đến 90."))


class DeadlinePolicyForm(TranslatedForm):
    kind = SelectField(_l("Loại"), choices=options(choices_of(COMPLAINT_KIND_LABELS)))
    legal_basis = StringField(_l("Căn cứ pháp lý"), validators=[DataRequired(REQUIRED), Length(max=255)])
    classify_days = IntegerField(_l("Phân loại / chuyển đơn trong (ngày làm việc)"),
                                 validators=[InputRequired(REQUIRED), DAYS])
    answer_days = IntegerField(_l("Trả lời trong (ngày làm việc kể từ ngày tiếp nhận)"),
                               validators=[InputRequired(REQUIRED), DAYS])
    remind_before_days = IntegerField(_l("Nhắc người xử lý trước hạn (ngày làm việc; 0 = không nhắc)"),
                                      validators=[Optional(), NumberRange(min=0, max=30)], default=2)
    remind_on_due = BooleanField(_l("Nhắc lãnh đạo đơn vị vào ngày đến hạn"), default=True)
    office_head_after_days = IntegerField(_l("Báo Chánh Văn phòng khi quá hạn (ngày làm việc; 0 = không báo)"),
                                          validators=[Optional(), NumberRange(min=0, max=30)], default=1)
    max_extension_days = IntegerField(_l("Gia hạn tối đa (ngày làm việc)"),
                                      validators=[InputRequired(REQUIRED), NumberRange(min=0, max=90)], default=10)
    active = BooleanField(_l("Đang áp dụng"), default=True)

    def reminders(self) -> list[dict]:
        """The reminder steps as stored on the policy."""
        steps = []
        if self.remind_before_days.data:
            steps.append({"offset_days": -int(self.remind_before_days.data), "to": "handler"})
        if self.remind_on_due.data:
            steps.append({"offset_days": 0, "to": "unit_head"})
        if self.office_head_after_days.data:
            steps.append({"offset_days": int(self.office_head_after_days.data), "to": "office_head"})
        return steps

    def show_reminders(self, steps: list[dict]) -> None:
        """Fill the reminder fields from the stored steps."""
        by_target = {s.get("to"): int(s.get("offset_days", 0)) for s in steps or []}
        self.remind_before_days.data = -by_target["handler"] if "handler" in by_target else 0
        self.remind_on_due.data = "unit_head" in by_target
        self.office_head_after_days.data = by_target.get("office_head", 0)


class AnswerTemplateForm(TranslatedForm):
    title = StringField(_l("Tên mẫu"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Dùng cho loại"), choices=[], validators=[Optional()])
    agency_id = SelectField(_l("Cơ quan"), coerce=optional_int, validators=[Optional()])
    body = TextAreaField(_l("Nội dung mẫu"), validators=[DataRequired(REQUIRED), Length(max=10000)])
    active = BooleanField(_l("Đang dùng"), default=True)
