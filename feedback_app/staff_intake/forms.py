"""The staff entry form; the service reads its fields (one validation path), the form carries CSRF and choices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ..form_messages import TranslatedForm
from ..labels import COMPLAINT_CHANNEL_LABELS, COMPLAINT_KIND_LABELS, COMPLAINT_NATURE_LABELS
from .services import STAFF_CHANNELS


class LetterForm(TranslatedForm):
    """A PAKN received by letter, e-mail or paper form, typed in by the office."""

    agency_id = SelectField(_l("Cơ quan nhận"), coerce=int)
    channel = SelectField(_l("Nhận qua"),
                          choices=[SelectChoice(c, COMPLAINT_CHANNEL_LABELS[c]) for c in STAFF_CHANNELS])
    received_on = StringField(_l("Ngày cơ quan nhận được (dd/mm/yyyy)"), render_kw={"placeholder": "dd/mm/yyyy"},
                              description=_l("Ngày ghi trên dấu “đến” hoặc ngày thư điện tử đến: thời hạn xử lý "
                                             "được tính từ ngày này."), validators=[Length(max=20)])
    received_time = StringField(_l("Giờ nhận (HH:MM, nếu biết)"), render_kw={"placeholder": "08:00"},
                                validators=[Optional(), Length(max=10)])
    kind = SelectField(_l("Loại"), choices=[SelectChoice(k, v) for k, v in COMPLAINT_KIND_LABELS.items()])
    nature = SelectField(_l("Tính chất"), choices=[SelectChoice(k, v) for k, v in COMPLAINT_NATURE_LABELS.items()],
                         description=_l("Khiếu nại, tố cáo được đánh dấu và chuyển xử lý theo luật riêng, không "
                                        "giải quyết như PAKN."))
    title = StringField(_l("Tiêu đề (nếu có)"), validators=[Optional(), Length(max=400)])
    content = TextAreaField(_l("Nội dung (chép đúng như thư, phiếu)"), render_kw={"rows": 10},
                            validators=[Length(max=10000)])
    sender_name = StringField(_l("Họ tên người gửi"), validators=[Optional(), Length(max=200)])
    sender_address = StringField(_l("Địa chỉ người gửi"), validators=[Optional(), Length(max=400)])
    sender_phone = StringField(_l("Số điện thoại người gửi"), validators=[Optional(), Length(max=40)])
    sender_email = EmailField(_l("Thư điện tử người gửi"), validators=[Optional(), Length(max=200)])
    consent = BooleanField(_l("Người gửi đồng ý cho cơ quan dùng thông tin liên hệ để trả lời (có chữ ký trên thư, "
                              "phiếu hoặc lời đồng ý trong thư điện tử)"))
    files = MultipleFileField(_l("Bản quét, ảnh chụp (ảnh hoặc PDF)"))
