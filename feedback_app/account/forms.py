"""The password change form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..auth.passwords import StrongPassword


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu hiện tại.")), Length(max=200)])
    new_password = PasswordField(_l("Mật khẩu mới (ít nhất 12 ký tự, khó đoán)"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu mới.")), StrongPassword()])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        DataRequired(_l("Vui lòng nhập lại mật khẩu mới.")),
        EqualTo("new_password", message=_l("Hai lần nhập mật khẩu mới không khớp nhau."))])
