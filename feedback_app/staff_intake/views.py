"""/xu-ly/tiep-nhan: the office types in a PAKN received by letter, e-mail or paper form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from ..complaints.attachments import Upload, upload_limit
from ..complaints.errors import ComplaintInputError
from ..complaints.intake import Sender
from ..labels import COMPLAINT_NATURE_LABELS
from ..security import roles_required
from .forms import LetterForm
from .services import ENTRY_ROLES, LetterEntry, agencies_for, enter_letter, find_in_scope

bp = Blueprint("staff_intake", __name__, url_prefix="/xu-ly/tiep-nhan")


@bp.url_value_preprocessor
def _allow_scans(endpoint: str | None, _values: Any) -> None:
    # Before every before_request hook (the input guard reads the form): scans of a letter are large.
    if endpoint == "staff_intake.enter" and request.method == "POST":
        request.max_content_length = upload_limit()


def _form() -> LetterForm:
    form = LetterForm()
    agencies = agencies_for(current_user)
    form.agency_id.choices = [SelectChoice(a.id, a.name) for a in agencies]
    if form.agency_id.data is None and agencies:
        form.agency_id.data = agencies[0].id
    return form


@bp.route("", methods=["GET", "POST"])
@roles_required(*ENTRY_ROLES)
def enter() -> Any:
    """The entry form; on an error it comes back with what was typed and a message next to each field."""
    form = _form()
    if request.method == "GET":
        return render_template("staff_intake/form.html", form=form, single_agency=len(form.agency_id.choices) == 1)
    status = 400
    if form.validate_on_submit():
        entry = LetterEntry(
            agency_id=form.agency_id.data, channel=form.channel.data, received_on=form.received_on.data or "",
            received_time=form.received_time.data or "", kind=form.kind.data, nature=form.nature.data,
            title=form.title.data or "", content=form.content.data or "", consent=form.consent.data,
            sender=Sender(name=form.sender_name.data or "", address=form.sender_address.data or "",
                          phone=form.sender_phone.data or "", email=form.sender_email.data or ""),
            uploads=[Upload(f.filename or "", f.read()) for f in request.files.getlist(form.files.name) if f],
        )
        try:
            complaint = enter_letter(current_user, entry)
        except ComplaintInputError as error:
            for name, message in error.errors.items():
                field = getattr(form, name, None)
                if field is not None and hasattr(field, "errors"):
                    field.errors = [*field.errors, message]
                else:
                    form.form_errors.append(message)
        else:
            if complaint.nature == "pakn":
                flash(_("Đã tiếp nhận PAKN %(code)s.", code=complaint.code), "success")
            else:
                flash(_("Đã ghi nhận %(nature)s %(code)s; Văn phòng sẽ chuyển xử lý theo luật riêng.",
                        nature=COMPLAINT_NATURE_LABELS[complaint.nature], code=complaint.code), "success")
            try:
                target = url_for("complaints.detail", complaint_id=complaint.id)
            except BuildError:
                target = url_for("staff_intake.done", code=complaint.code)
            return redirect(target, 303)
    if any(f.filename for f in request.files.getlist(form.files.name)):
        form.files.errors = [*form.files.errors, _("Hãy chọn lại các tệp đính kèm (trình duyệt không giữ tệp đã "
                                                   "chọn khi trang được gửi lại).")]
    return render_template("staff_intake/form.html", form=form,
                           single_agency=len(form.agency_id.choices) == 1), status


@bp.get("/da-tiep-nhan/<code>")
@roles_required(*ENTRY_ROLES)
def done(code: str) -> Any:
    """The confirmation with the item's code (when the queue's own page is not there)."""
    item = find_in_scope(current_user, code)
    if item is None:
        abort(404)
    return render_template("staff_intake/done.html", item=item)
