"""The citizen's PAKN form and the one-question satisfaction form.

The fields carry the values back to the page and the form token; what the values must be (required content,
phone, consent, files…) is decided once, by the intake service (complaints/intake.py), for every channel.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ..complaints.intake import CONTENT_MAX
from ..form_messages import TranslatedForm

KINDS = (
    ("phan_anh", _l("Phản ánh"), _l("Báo cho cơ quan một việc làm, hành vi hoặc quy định chưa đúng, chưa phù hợp.")),
    ("kien_nghi", _l("Kiến nghị"), _l("Đề nghị cơ quan sửa đổi, bổ sung hoặc bãi bỏ một quy định, thủ tục.")),
    ("gop_y", _l("Góp ý"), _l("Ý kiến để cơ quan phục vụ tốt hơn.")),
)


class PaknForm(TranslatedForm):
    """GET /pakn/new and its POST: every value typed is kept when the page comes back with errors."""

    kind = RadioField(_l("Loại ý kiến"), choices=[SelectChoice(code, label) for code, label, _hint in KINDS],
                      validate_choice=False)
    content = TextAreaField(_l("Nội dung"), render_kw={"rows": 7, "maxlength": CONTENT_MAX})
    title = StringField(_l("Tiêu đề ngắn"), render_kw={"maxlength": 200})
    agency = SelectField(_l("Cơ quan nhận ý kiến"), choices=[], validate_choice=False)
    service = SelectField(_l("Thủ tục hành chính liên quan"), choices=[], validate_choice=False)
    officer = SelectField(_l("Công chức đã tiếp nhận hồ sơ"), choices=[], validate_choice=False)
    dossier_code = StringField(_l("Mã hồ sơ trên giấy hẹn"), render_kw={"maxlength": 60, "autocomplete": "off"})
    name = StringField(_l("Họ và tên"), render_kw={"maxlength": 120, "autocomplete": "name"})
    address = StringField(_l("Địa chỉ"), render_kw={"maxlength": 255, "autocomplete": "street-address"})
    phone = StringField(_l("Số điện thoại"), render_kw={"maxlength": 20, "autocomplete": "tel", "inputmode": "tel",
                                                         "type": "tel"})
    email = StringField(_l("Thư điện tử (e-mail)"), render_kw={"maxlength": 120, "autocomplete": "email",
                                                                 "type": "email", "inputmode": "email"})
    files = MultipleFileField(_l("Ảnh hoặc tệp PDF kèm theo"),
                              render_kw={"accept": "image/jpeg,image/png,image/gif,image/webp,application/pdf"})
    consent = BooleanField(_l("Tôi đồng ý cho cơ quan dùng họ tên, địa chỉ, số điện thoại, thư điện tử và tệp đính "
                              "kèm của tôi chỉ để liên hệ và trả lời phản ánh, kiến nghị này."))
    quay = HiddenField()  # the counter's code, from the survey pages
    can_bo = HiddenField()  # the officer, when the survey page named one
    tu_phieu = HiddenField()  # the survey response it comes from (public id)


class SatisfactionForm(TranslatedForm):
    """The one question on the sender's private page; its levels come from the questionnaire's scale."""

    satisfaction = RadioField(_l("Mức độ hài lòng"), choices=[], validate_choice=False)
