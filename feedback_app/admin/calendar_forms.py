"""Forms of the calendar page: an entry (day off or make-up working day) and an agency's office hours."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ..form_messages import TranslatedForm
from ..models.calendar import BASIS_MAX
from .choices import options
from .forms import DATE_FORMATS, DATE_REQUIRED, REQUIRED

TIME_REQUIRED = _l("Nhập giờ theo dạng HH:MM, ví dụ 07:30.")


class CalendarEntryForm(TranslatedForm):
    day = DateField(_l("Ngày (dd/mm/yyyy)"), format=DATE_FORMATS, validators=[DataRequired(DATE_REQUIRED)])
    kind = RadioField(_l("Loại ngày"), choices=options([("off", _l("Ngày nghỉ")),
                                                       ("working", _l("Ngày làm việc (làm bù)"))]),
                      validators=[InputRequired(_l("Chọn ngày nghỉ hoặc ngày làm việc."))])
    basis = TextAreaField(_l("Căn cứ pháp lý (số, ngày, cơ quan ban hành văn bản)"),
                          validators=[DataRequired(REQUIRED), Length(max=BASIS_MAX)])


class OfficeHoursForm(TranslatedForm):
    unit_id = SelectField(_l("Cơ quan, đơn vị"), coerce=int)
    morning_start = TimeField(_l("Buổi sáng từ"), validators=[InputRequired(TIME_REQUIRED)])
    morning_end = TimeField(_l("Buổi sáng đến"), validators=[InputRequired(TIME_REQUIRED)])
    afternoon_start = TimeField(_l("Buổi chiều từ"), validators=[InputRequired(TIME_REQUIRED)])
    afternoon_end = TimeField(_l("Buổi chiều đến"), validators=[InputRequired(TIME_REQUIRED)])

    def validate_afternoon_end(self, field: TimeField) -> None:
        times = [self.morning_start.data, self.morning_end.data, self.afternoon_start.data, field.data]
        if None not in times and not times[0] < times[1] <= times[2] < times[3]:
            raise ValidationError(_("Các mốc giờ phải theo thứ tự: sáng từ < sáng đến ≤ chiều từ < chiều đến."))
