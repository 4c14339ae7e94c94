"""Administration forms; select choices are filled per request from the database."""

from __future__ import annotations

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
from ..models.org import EVENT_KINDS, UNIT_TYPES
from ..models.survey import CHANNELS
from ..models.user import ROLES
from .choices import options

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
REQUIRED = "Vui lòng nhập mục này."
CODE_RULE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$", message="Mã chỉ gồm chữ không dấu, số và các dấu . - _")


def finite_number(_form: FlaskForm, field: DecimalField) -> None:
    """Decimal('NaN') and infinities pass DecimalField but break every comparison after it."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("Vui lòng nhập một con số.")  # stop: the range check would fail on NaN


def optional_int(value: object) -> int | None:
    """Coerce a select value where '' means none."""
    return int(value) if value not in (None, "", "None") else None


class OrgUnitForm(FlaskForm):
    code = StringField("Mã đơn vị", validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField("Tên đầy đủ", validators=[DataRequired(REQUIRED), Length(max=255)])
    short_name = StringField("Tên ngắn", validators=[Optional(), Length(max=120)])
    unit_type = SelectField("Loại", choices=options(UNIT_TYPES.items()))
    parent_id = SelectField("Trực thuộc", coerce=optional_int, validators=[Optional()])
    valid_from = DateField("Hiệu lực từ ngày (dd/mm/yyyy)", format=DATE_FORMATS,
                           validators=[DataRequired("Nhập ngày theo dạng dd/mm/yyyy.")])
    valid_to = DateField("Hết hiệu lực ngày (dd/mm/yyyy)", format=DATE_FORMATS, validators=[Optional()])
    hotline = StringField("Đường dây nóng", validators=[Optional(), Length(max=40)])
    email = StringField("Email", validators=[Optional(), Email("Email không hợp lệ."), Length(max=120)])
    address = StringField("Địa chỉ", validators=[Optional(), Length(max=255)])

    def validate_valid_to(self, field: DateField) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError("Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.")


class OrgEventForm(FlaskForm):
    kind = SelectField("Loại sự kiện", choices=options(EVENT_KINDS.items()))
    effective_date = DateField("Ngày có hiệu lực (dd/mm/yyyy)", format=DATE_FORMATS,
                               validators=[DataRequired("Nhập ngày theo dạng dd/mm/yyyy.")])
    predecessor_id = SelectField("Đơn vị trước", coerce=int)
    successor_id = SelectField("Đơn vị kế thừa", coerce=int)
    legal_basis = StringField("Căn cứ pháp lý", validators=[Optional(), Length(max=255)])

    def validate_successor_id(self, field: SelectField) -> None:
        if field.data == self.predecessor_id.data:
            raise ValidationError("Đơn vị kế thừa phải khác đơn vị trước.")


class FieldForm(FlaskForm):
    code = StringField("Mã lĩnh vực", validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField("Tên lĩnh vực", validators=[DataRequired(REQUIRED), Length(max=255)])


class ServiceForm(FlaskForm):
    code = StringField("Mã thủ tục", validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField("Tên thủ tục", validators=[DataRequired(REQUIRED), Length(max=500)])
    field_id = SelectField("Lĩnh vực", coerce=optional_int, validators=[Optional()])
    agency_id = SelectField("Cơ quan giải quyết", coerce=int)
    active = BooleanField("Đang áp dụng", default=True)


class CounterForm(FlaskForm):
    code = StringField("Mã quầy (dùng trong đường dẫn)", validators=[DataRequired(REQUIRED), Length(max=40), CODE_RULE])
    name = StringField("Tên quầy", validators=[DataRequired(REQUIRED), Length(max=120)])
    service_centre_id = SelectField("Trung tâm / Bộ phận một cửa", coerce=int)
    agency_id = SelectField("Cơ quan", coerce=int)
    questionnaire_id = SelectField("Bộ câu hỏi (để trống: mặc định)", coerce=optional_int, validators=[Optional()])
    active = BooleanField("Đang hoạt động", default=True)


class OfficerForm(FlaskForm):
    full_name = StringField("Họ và tên", validators=[DataRequired(REQUIRED), Length(max=120)])
    title = StringField("Chức danh", validators=[Optional(), Length(max=120)])
    unit_id = SelectField("Đơn vị", coerce=int)
    counter_ids = SelectMultipleField("Làm việc tại quầy", coerce=int, validators=[Optional()])
    photo = FileField("Ảnh chân dung (JPEG/PNG, tối đa 2 MB; để trống nếu không đổi)",
                      validators=[FileAllowed(["jpg", "jpeg", "png"], "Chỉ nhận ảnh JPEG hoặc PNG."),
                                  FileSize(2 * 1024 * 1024, message="Ảnh lớn hơn 2 MB; vui lòng chọn ảnh nhỏ hơn.")])
    remove_photo = BooleanField("Xóa ảnh hiện có")
    active = BooleanField("Đang công tác", default=True)


class UserForm(FlaskForm):
    email = EmailField("Email đăng nhập", validators=[DataRequired(REQUIRED), Email("Email không hợp lệ."),
                                                     Length(max=255)])
    full_name = StringField("Họ và tên", validators=[DataRequired(REQUIRED), Length(max=120)])
    role = SelectField("Vai trò", choices=options(ROLES.items()))
    org_unit_id = SelectField("Phạm vi đơn vị", coerce=int)
    officer_id = SelectField("Là công chức (vai trò tại quầy)", coerce=optional_int, validators=[Optional()])
    active = BooleanField("Đang hoạt động", default=True)
    new_password = PasswordField("Mật khẩu mới (để trống nếu không đổi)",
                                 validators=[Optional(), StrongPassword()])

    def validate_officer_id(self, field: SelectField) -> None:
        if self.role.data == "counter" and not field.data:
            raise ValidationError("Tài khoản công chức tại quầy cần gắn với một công chức.")


class KioskDeviceForm(FlaskForm):
    name = StringField("Tên thiết bị", validators=[DataRequired(REQUIRED), Length(max=120)])
    counter_id = SelectField("Quầy", coerce=int)
    note = TextAreaField("Ghi chú", validators=[Optional(), Length(max=1000)])
    active = BooleanField("Đang hoạt động", default=True)


class CampaignForm(FlaskForm):
    name = StringField("Tên đợt khảo sát", validators=[DataRequired(REQUIRED), Length(max=255)])
    period_start = DateField("Từ ngày (dd/mm/yyyy)", format=DATE_FORMATS,
                             validators=[DataRequired("Nhập ngày theo dạng dd/mm/yyyy.")])
    period_end = DateField("Đến ngày (dd/mm/yyyy)", format=DATE_FORMATS,
                           validators=[DataRequired("Nhập ngày theo dạng dd/mm/yyyy.")])
    unit_ids = SelectMultipleField("Đơn vị được khảo sát", coerce=int,
                                   validators=[DataRequired("Chọn ít nhất một đơn vị.")])
    channels = SelectMultipleField("Kênh khảo sát", choices=options(CHANNELS.items()),
                                   validators=[DataRequired("Chọn ít nhất một kênh.")])
    expected_transactions = IntegerField("Số giao dịch dự kiến trong kỳ (N)",
                                         validators=[Optional(), NumberRange(min=0, max=100_000_000,
                                                                             message="N từ 0 đến 100 triệu.")])
    margin = DecimalField("Sai số cho phép e", places=3, default=0.05,
                          validators=[InputRequired("Nhập sai số, ví dụ 0,05."), finite_number,
                                      NumberRange(min=0.001, max=0.5, message="Sai số nằm trong khoảng 0,001–0,5.")])
    target_sample = IntegerField("Cỡ mẫu mục tiêu (để trống: tính theo n = N/(1+N·e²))",
                                 validators=[Optional(), NumberRange(min=1, max=1_000_000,
                                                                     message="Cỡ mẫu từ 1 đến 1 triệu.")])

    def validate_period_end(self, field: DateField) -> None:
        if field.data and self.period_start.data and field.data < self.period_start.data:
            raise ValidationError("Ngày kết thúc phải sau ngày bắt đầu.")

    def validate_target_sample(self, field: IntegerField) -> None:
        if field.data is None and self.expected_transactions.data is None:
            raise ValidationError("Nhập cỡ mẫu mục tiêu, hoặc số giao dịch dự kiến để hệ thống tự tính.")


class TargetForm(FlaskForm):
    org_unit_id = SelectField("Đơn vị", coerce=int)
    year = IntegerField("Năm", validators=[InputRequired(REQUIRED), NumberRange(min=2000, max=2100,
                                                                              message="Năm không hợp lệ.")])
    factor_code = SelectField("Yếu tố (để trống: chỉ số chung)", validators=[Optional()])
    target_pct = DecimalField("Mục tiêu (%)", places=2, validators=[
        InputRequired(REQUIRED), finite_number,
        NumberRange(min=0, max=100, message="Mục tiêu nằm trong khoảng 0–100%%.")])


class QuestionnaireVersionForm(FlaskForm):
    title = StringField("Tiêu đề", validators=[DataRequired(REQUIRED), Length(max=255)])
    title_en = StringField("Tiêu đề (tiếng Anh)", validators=[Optional(), Length(max=255)])
    no_opinion_enabled = BooleanField("Có lựa chọn \"Không có ý kiến\"")
    no_opinion_in_denominator = BooleanField("Tính \"Không có ý kiến\" vào mẫu số")
