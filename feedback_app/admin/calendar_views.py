"""The working-time calendar page: a year's days off and make-up working days, entries, office hours.

The Văn phòng Sở reads it (its deadlines depend on it); only administrators change it: an entry applies to
every agency of the installation (a national decision), beyond the scope of a department's office account.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.forms import EmptyForm
from ..calendar_service import (
    CalendarError,
    add_exception,
    clear_office_hours,
    current_calendar,
    remove_exception,
    set_office_hours,
    year_view,
)
from ..extensions import db
from ..models import CalendarException, OfficeHours
from ..security import roles_required
from ..timeutil import local_today
from ..workcalendar import DEFAULT_HOURS, MAX_YEAR, MIN_YEAR
from ..workcalendar import OfficeHours as Hours
from . import choices
from .calendar_forms import CalendarEntryForm, OfficeHoursForm

READERS = ("admin", "office")
EDITORS = ("admin",)
TIME_FIELDS = ("morning_start", "morning_end", "afternoon_start", "afternoon_end")
WEEKDAYS = (_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"), _l("Thứ Bảy"), _l("Chủ nhật"))


def _language() -> str:
    return "en" if str(get_locale() or "vi") == "en" else "vi"


def _page(year: int, entry_form: CalendarEntryForm, hours_form: OfficeHoursForm, status: int = 200) -> Any:
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    hours_form.unit_id.choices = choices.unit_choices()
    if all(getattr(hours_form, name).data is None for name in TIME_FIELDS):  # a fresh form shows the default
        for name in TIME_FIELDS:
            getattr(hours_form, name).data = getattr(DEFAULT_HOURS, name)
    office_hours = db.session.scalars(select(OfficeHours).options(selectinload(OfficeHours.unit),
                                                                  selectinload(OfficeHours.updated_by))).all()
    return render_template("admin/calendar.html", view=year_view(year, _language()), form=entry_form,
                           hours_form=hours_form, office_hours=sorted(office_hours, key=lambda h: h.unit.name),
                           default_hours=DEFAULT_HOURS, weekdays=WEEKDAYS,
                           can_edit=current_user.role in EDITORS, today=local_today()), status


@roles_required(*READERS)
def calendar_page(year: int | None = None) -> Any:
    """A year of the calendar (this year by default); administrators add an entry from here."""
    year = local_today().year if year is None else year
    form = CalendarEntryForm()
    if request.method == "GET":
        return _page(year, form, OfficeHoursForm())
    if current_user.role not in EDITORS:
        abort(403)
    if form.validate_on_submit():
        day, working = form.day.data, form.kind.data == "working"
        already = current_calendar().is_working_day(day) == working
        try:
            add_exception(current_user, day, working, form.basis.data)
        except CalendarError as error:
            db.session.rollback()
            (getattr(form, error.field).errors if error.field in ("day", "basis") else form.form_errors).append(
                str(error))
        else:
            db.session.commit()
            flash(_("Đã thêm ngày %(day)s vào lịch.", day=f"{day:%d/%m/%Y}"), "success")
            if already:
                flash(_("Theo lịch hiện có, ngày này vốn đã như vậy; mục vừa thêm ghi lại căn cứ và sẽ giữ nguyên "
                        "kể cả khi lịch quốc gia thay đổi."), "info")
            return redirect(url_for("admin.calendar_year", year=day.year), 303)
    return _page(year, form, OfficeHoursForm(formdata=None), 400)


@roles_required(*EDITORS)
def remove_entry(entry_id: int) -> Any:
    """Remove an entry: the package's calendar applies to that day again."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    entry = db.session.get(CalendarException, entry_id)
    if entry is None:
        abort(404)
    day = entry.day
    try:
        remove_exception(current_user, day)
    except CalendarError as error:  # removed meanwhile by someone else
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Đã xóa mục điều chỉnh ngày %(day)s.", day=f"{day:%d/%m/%Y}"), "success")
    return redirect(url_for("admin.calendar_year", year=day.year), 303)


@roles_required(*EDITORS)
def save_hours() -> Any:
    """Set an agency's office hours (its units without their own follow them)."""
    form = OfficeHoursForm()
    form.unit_id.choices = choices.unit_choices()
    year = local_today().year
    if form.validate_on_submit():
        hours = Hours(form.morning_start.data, form.morning_end.data, form.afternoon_start.data,
                      form.afternoon_end.data)
        try:
            set_office_hours(current_user, form.unit_id.data, hours)
        except CalendarError as error:
            db.session.rollback()
            form.unit_id.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã lưu giờ làm việc."), "success")
            return redirect(url_for("admin.calendar_page") + "#office-hours", 303)
    return _page(year, CalendarEntryForm(formdata=None), form, 400)


@roles_required(*EDITORS)
def remove_hours(hours_id: int) -> Any:
    """Remove an agency's own office hours."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        clear_office_hours(current_user, hours_id)
    except CalendarError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Đã bỏ giờ làm việc riêng; đơn vị theo giờ của cấp trên hoặc giờ mặc định."), "success")
    return redirect(url_for("admin.calendar_page") + "#office-hours", 303)


def register_calendar_views(bp: Blueprint) -> None:
    bp.add_url_rule("/calendar", "calendar_page", calendar_page)
    bp.add_url_rule("/calendar/<int:year>", "calendar_year", calendar_page, methods=["GET", "POST"])
    bp.add_url_rule("/calendar/entries/<int:entry_id>/remove", "calendar_remove", remove_entry, methods=["POST"])
    bp.add_url_rule("/calendar/hours", "calendar_hours", save_hours, methods=["POST"])
    bp.add_url_rule("/calendar/hours/<int:hours_id>/remove", "calendar_hours_remove", remove_hours,
                    methods=["POST"])
