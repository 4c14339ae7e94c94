"""Login form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(_l("Vui lòng nhập email.")),
                                            Email(_l("Email không hợp lệ.")), Length(max=255)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=200)])


class EmptyForm(FlaskForm):
    """A POST button with CSRF protection and nothing else."""
