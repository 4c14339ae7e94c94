"""/admin/sms/tu-choi: staff record a citizen's request, made by phone, letter or at the counter, to receive no
more survey SMS (or to receive them again). The number is never listed back: only the request is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..form_messages import TranslatedForm
from ..security import roles_required
from ..sms.optout import STAFF_ROLES, NotAPhone, opt_in_on_request, opt_out_on_request


class OptOutForm(TranslatedForm):
    phone = StringField(_l("Số điện thoại của người dân"),
                        validators=[DataRequired(_l("Vui lòng nhập số điện thoại.")), Length(max=30)])
    action = RadioField(_l("Yêu cầu"), default="out", choices=[
        SelectChoice("out", _l("Không nhận tin nhắn mời đánh giá nữa")),
        SelectChoice("in", _l("Nhận lại tin nhắn mời đánh giá"))])


def sms_opt_out() -> Any:
    """Record a citizen's opt-out (or opt-in) request for survey SMS."""
    form = OptOutForm()
    if form.validate_on_submit():
        try:
            if form.action.data == "out":
                opt_out_on_request(current_user, form.phone.data)
                flash(_("Đã ghi nhận: số này không nhận tin nhắn mời đánh giá nữa."), "success")
            elif opt_in_on_request(current_user, form.phone.data):
                flash(_("Đã ghi nhận: số này sẽ nhận lại tin nhắn mời đánh giá."), "success")
            else:
                flash(_("Số này chưa từng từ chối nhận tin; không có gì thay đổi."), "info")
            return redirect(url_for("admin.sms_opt_out"), 303)
        except NotAPhone:
            form.phone.errors = [_("Số điện thoại chưa đúng. Hãy nhập 10 chữ số, ví dụ 0905 123 456.")]
    status = 400 if form.errors else 200
    return render_template("admin/sms_optout.html", form=form), status


def register_sms_optout_views(bp: Blueprint) -> None:
    """Attach the opt-out request page to the admin blueprint."""
    bp.add_url_rule("/sms/tu-choi", "sms_opt_out", roles_required(*STAFF_ROLES)(sms_opt_out),
                    methods=["GET", "POST"])
