"""Login form."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Vui lòng nhập email."), Email("Email không hợp lệ."),
                                            Length(max=255)])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu."), Length(max=200)])


class EmptyForm(FlaskForm):
    """A POST button with CSRF protection and nothing else."""
