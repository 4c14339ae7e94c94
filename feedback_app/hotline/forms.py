"""Forms of the hotline log. Their fields are read by the services (one validation path): the forms carry the
CSRF token, the choices and the messages shown next to each field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ..form_messages import TranslatedForm
from ..labels import COMPLAINT_KIND_LABELS, COMPLAINT_NATURE_LABELS, HOTLINE_OUTCOME_LABELS
from .services import LOGGED_OUTCOMES


class CallForm(TranslatedForm):
    """"Ghi cuộc gọi": what the operator writes down during or right after a call."""

    started_at = StringField(_l("Thời điểm gọi (dd/mm/yyyy HH:MM)"), validators=[Length(max=40)])
    caller_name = StringField(_l("Họ tên người gọi"), validators=[Optional(), Length(max=200)])
    caller_phone = StringField(_l("Số điện thoại người gọi"), validators=[Optional(), Length(max=40)])
    duration = StringField(_l("Thời lượng (phút:giây hoặc số phút)"), validators=[Optional(), Length(max=20)])
    topic = StringField(_l("Chủ đề"), validators=[Length(max=400)])
    notes = TextAreaField(_l("Nội dung người gọi trình bày (ghi trung thực, đầy đủ)"),
                          render_kw={"rows": 8}, validators=[Length(max=10000)])
    outcome = SelectField(_l("Kết quả cuộc gọi"),
                          choices=[SelectChoice(code, HOTLINE_OUTCOME_LABELS[code]) for code in LOGGED_OUTCOMES])


class ConvertForm(TranslatedForm):
    """Turn a call into a PAKN: what the call does not hold yet (kind, nature, address, the caller's consent)."""

    kind = SelectField(_l("Loại"), choices=[SelectChoice(k, v) for k, v in COMPLAINT_KIND_LABELS.items()])
    nature = SelectField(_l("Tính chất"), choices=[SelectChoice(k, v) for k, v in COMPLAINT_NATURE_LABELS.items()],
                         description=_l("Khiếu nại, tố cáo được đánh dấu và chuyển xử lý theo luật riêng, không "
                                        "giải quyết như PAKN."))
    address = StringField(_l("Địa chỉ người gọi (hỏi người gọi)"), validators=[Optional(), Length(max=255)])
    consent = BooleanField(_l("Người gọi đồng ý qua điện thoại cho cơ quan dùng họ tên, địa chỉ, số điện thoại để "
                              "trả lời"))
