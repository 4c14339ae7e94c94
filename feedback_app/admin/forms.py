"""Administration forms; select choices are filled per request from the database."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from ..auth.passwords import StrongPassword
from ..form_messages import TranslatedForm
from ..labels import CHANNEL_LABELS, COMPARISON_LABELS, EVENT_KIND_LABELS, ROLE_LABELS, UNIT_TYPE_LABELS, choices_of
from .choices import options

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
# Class-level texts are lazy: each is translated when a request renders or validates the form.
REQUIRED = _l("Vui lòng nhập mục này.")
DATE_REQUIRED = _l("Nhập ngày theo dạng dd/mm/yyyy.")
CODE_RULE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$", message=_l("Mã chỉ gồm chữ không dấu, số và các dấu . - _"))


def finite_number(_form: FlaskForm, field: DecimalField) -> None:
    """Decimal('NaN') and infinities pass DecimalField but break every comparison after it."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(_("Vui lòng nhập một con số."))  # stop: the range check would fail on NaN


def optional_int(value: object) -> int | None:
    """Coerce a select value where '' means none."""
    return int(value) if value not in (None, "", "None") else None


class OrgUnitForm(TranslatedForm):
    code = StringField(_l("Mã đơn vị"), validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField(_l("Tên đầy đủ"), validators=[DataRequired(REQUIRED), Length(max=255)])
    short_name = StringField(_l("Tên ngắn"), validators=[Optional(), Length(max=120)])
    unit_type = SelectField(_l("Loại"), choices=options(choices_of(UNIT_TYPE_LABELS)))
    parent_id = SelectField(_l("Trực thuộc"), coerce=optional_int, validators=[Optional()])
    valid_from = DateField(_l("Hiệu lực từ ngày (dd/mm/yyyy)"), format=DATE_FORMATS,
                           validators=[DataRequired(DATE_REQUIRED)])
    valid_to = DateField(_l("Hết hiệu lực ngày (dd/mm/yyyy)"), format=DATE_FORMATS, validators=[Optional()])
    hotline = StringField(_l("Đường dây nóng"), validators=[Optional(), Length(max=40)])
    email = StringField("Email", validators=[Optional(), Email(_l("Email không hợp lệ.")), Length(max=120)])
    address = StringField(_l("Địa chỉ"), validators=[Optional(), Length(max=255)])

    def validate_valid_to(self, field: DateField) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_("Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực."))


class OrgEventForm(TranslatedForm):
    kind = SelectField(_l("Loại sự kiện"), choices=options(choices_of(EVENT_KIND_LABELS)))
    effective_date = DateField(_l("Ngày có hiệu lực (dd/mm/yyyy)"), format=DATE_FORMATS,
                               validators=[DataRequired(DATE_REQUIRED)])
    predecessor_id = SelectField(_l("Đơn vị trước"), coerce=int)
    successor_id = SelectField(_l("Đơn vị kế thừa"), coerce=int)
    legal_basis = StringField(_l("Căn cứ pháp lý"), validators=[Optional(), Length(max=255)])

    def validate_successor_id(self, field: SelectField) -> None:
        if field.data == self.predecessor_id.data:
            raise ValidationError(_("Đơn vị kế thừa phải khác đơn vị trước."))


class FieldForm(TranslatedForm):
    code = StringField(_l("Mã lĩnh vực"), validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField(_l("Tên lĩnh vực"), validators=[DataRequired(REQUIRED), Length(max=255)])


class ServiceForm(TranslatedForm):
    code = StringField(_l("Mã thủ tục"), validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField(_l("Tên thủ tục"), validators=[DataRequired(REQUIRED), Length(max=500)])
    field_id = SelectField(_l("Lĩnh vực"), coerce=optional_int, validators=[Optional()])
    agency_id = SelectField(_l("Cơ quan giải quyết"), coerce=int)
    active = BooleanField(_l("Đang áp dụng"), default=True)


class CounterForm(TranslatedForm):
    code = StringField(_l("Mã quầy (dùng trong đường dẫn)"),
                       validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField(_l("Tên quầy"), validators=[DataRequired(REQUIRED), Length(max=120)])
    service_centre_id = SelectField(_l("Trung tâm / Bộ phận một cửa"), coerce=int)
    agency_id = SelectField(_l("Cơ quan"), coerce=int)
    questionnaire_id = SelectField(_l("Bộ câu hỏi (để trống: mặc định)"), coerce=optional_int, validators=[Optional()])
    active = BooleanField(_l("Đang hoạt động"), default=True)


class OfficerForm(TranslatedForm):
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(REQUIRED), Length(max=120)])
    title = StringField(_l("Chức danh"), validators=[Optional(), Length(max=120)])
    unit_id = SelectField(_l("Đơn vị"), coerce=int)
    counter_ids = SelectMultipleField(_l("Làm việc tại quầy"), coerce=int, validators=[Optional()])
    photo = FileField(_l("Ảnh chân dung (JPEG/PNG, tối đa 2 MB; để trống nếu không đổi)"),
                      validators=[FileAllowed(["jpg", "jpeg", "png"], _l("Chỉ nhận ảnh JPEG hoặc PNG.")),
                                  FileSize(2 * 1024 * 1024,
                                           message=_l("Ảnh lớn hơn 2 MB; vui lòng chọn ảnh nhỏ hơn."))])
    remove_photo = BooleanField(_l("Xóa ảnh hiện có"))
    active = BooleanField(_l("Đang công tác"), default=True)


class UserForm(TranslatedForm):
    email = EmailField(_l("Email đăng nhập"), validators=[DataRequired(REQUIRED), Email(_l("Email không hợp lệ.")),
                                                     Length(max=255)])
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(REQUIRED), Length(max=120)])
    role = SelectField(_l("Vai trò"), choices=options(choices_of(ROLE_LABELS)))
    org_unit_id = SelectField(_l("Phạm vi đơn vị"), coerce=int)
    officer_id = SelectField(_l("Là công chức (vai trò tại quầy)"), coerce=optional_int, validators=[Optional()])
    active = BooleanField(_l("Đang hoạt động"), default=True)
    is_head = BooleanField(_l("Lãnh đạo đơn vị (nhận nhắc hạn và báo quá hạn PAKN)"), default=False)
    new_password = PasswordField(_l("Mật khẩu mới (để trống nếu không đổi)"),
                                 validators=[Optional(), StrongPassword()])

    def validate_officer_id(self, field: SelectField) -> None:
        if self.role.data == "counter" and not field.data:
            raise ValidationError(_("Tài khoản công chức tại quầy cần gắn với một công chức."))


class KioskDeviceForm(TranslatedForm):
    name = StringField(_l("Tên thiết bị"), validators=[DataRequired(REQUIRED), Length(max=120)])
    counter_id = SelectField(_l("Quầy"), coerce=int)
    note = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=1000)])
    active = BooleanField(_l("Đang hoạt động"), default=True)


class CampaignForm(TranslatedForm):
    name = StringField(_l("Tên đợt khảo sát"), validators=[DataRequired(REQUIRED), Length(max=255)])
    period_start = DateField(_l("Từ ngày (dd/mm/yyyy)"), format=DATE_FORMATS,
                             validators=[DataRequired(DATE_REQUIRED)])
    period_end = DateField(_l("Đến ngày (dd/mm/yyyy)"), format=DATE_FORMATS,
                           validators=[DataRequired(DATE_REQUIRED)])
    unit_ids = SelectMultipleField(_l("Đơn vị được khảo sát"), coerce=int,
                                   validators=[DataRequired(_l("Chọn ít nhất một đơn vị."))])
    channels = SelectMultipleField(_l("Kênh khảo sát"), choices=options(choices_of(CHANNEL_LABELS)),
                                   validators=[DataRequired(_l("Chọn ít nhất một kênh."))])
    expected_transactions = IntegerField(_l("Số giao dịch dự kiến trong kỳ (N)"),
                                         validators=[Optional(), NumberRange(min=0, max=100_000_000,
                                                                             message=_l("N từ 0 đến 100 triệu."))])
    margin = DecimalField(_l("Sai số cho phép e"), places=3, default=0.05,
                          validators=[InputRequired(_l("Nhập sai số, ví dụ 0,05.")), finite_number,
                                      NumberRange(min=0.001, max=0.5,
                                                  message=_l("Sai số nằm trong khoảng 0,001–0,5."))])
    target_sample = IntegerField(_l("Cỡ mẫu mục tiêu (để trống: tính theo n = N/(1+N·e²))"),
                                 validators=[Optional(), NumberRange(min=1, max=1_000_000,
                                                                     message=_l("Cỡ mẫu từ 1 đến 1 triệu."))])

    def validate_period_end(self, field: DateField) -> None:
        if field.data and self.period_start.data and field.data < self.period_start.data:
            raise ValidationError(_("Ngày kết thúc phải sau ngày bắt đầu."))

    def validate_target_sample(self, field: IntegerField) -> None:
        if field.data is None and self.expected_transactions.data is None:
            raise ValidationError(_("Nhập cỡ mẫu mục tiêu, hoặc số giao dịch dự kiến để hệ thống tự tính."))


class TargetForm(TranslatedForm):
    org_unit_id = SelectField(_l("Đơn vị"), coerce=int)
    year = IntegerField(_l("Năm"), validators=[InputRequired(REQUIRED), NumberRange(min=2000, max=2100,
                                                                              message=_l("Năm không hợp lệ."))])
    factor_code = SelectField(_l("Yếu tố (để trống: chỉ số chung)"), validators=[Optional()])
    comparison = SelectField(_l("Đạt khi tỷ lệ"), choices=options(choices_of(COMPARISON_LABELS)), default="gt")
    target_pct = DecimalField(_l("Mục tiêu (%)"), places=2, validators=[
        InputRequired(REQUIRED), finite_number,
        NumberRange(min=0, max=100, message=_l("Mục tiêu nằm trong khoảng 0–100%%."))])


class QuestionnaireVersionForm(TranslatedForm):
    title = StringField(_l("Tiêu đề"), validators=[DataRequired(REQUIRED), Length(max=255)])
    title_en = StringField(_l("Tiêu đề (tiếng Anh)"), validators=[Optional(), Length(max=255)])
    no_opinion_enabled = BooleanField(_l("Có lựa chọn \"Không có ý kiến\""))
    no_opinion_in_denominator = BooleanField(_l("Tính \"Không có ý kiến\" vào mẫu số"))
