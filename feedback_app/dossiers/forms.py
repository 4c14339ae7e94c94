"""Forms of the dossier pages: the upload (file, and the agency when the user may choose one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField

from ..form_messages import TranslatedForm


class UploadForm(TranslatedForm):
    file = FileField(_l("Tệp hồ sơ (CSV hoặc XLSX xuất từ hệ thống một cửa)"))
    agency = SelectField(_l("Cơ quan của các hồ sơ"), coerce=str, validate_choice=False)
