"""Staff pages of dossiers: the list, one dossier, the import (upload, preview with the row report, import with a
progress bar, the report as CSV or XLSX). Thin: the rules live in importing, services, uploads and queries."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from ..auth.forms import EmptyForm
from ..complaints.access import AGENCY_TYPES, scope_units
from ..extensions import db
from ..models import OrgUnit
from ..phones import mask_phone
from ..security import roles_required
from ..timeutil import local_today
from . import queries, uploads
from .forms import UploadForm
from .importing import FileProblem, parse_file
from .services import IMPORT_ROLES, agencies_for
from .slip_views import register_slip_views

bp = Blueprint("dossiers", __name__, url_prefix="/xu-ly/ho-so")
register_slip_views(bp)
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_SHOWN = 200


def upload_limit() -> int:
    return current_app.config.get("DOSSIER_UPLOAD_MAX_BYTES", UPLOAD_MAX_BYTES)


def size_text(size: int) -> str:
    """20 MB, 500 KB: a limit as people read it."""
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


@bp.url_value_preprocessor
def _allow_large_files(endpoint: str | None, _values: Any) -> None:
    # Before every before_request hook (the input guard reads the form): exports of a year run to megabytes.
    if endpoint == "dossiers.upload" and request.method == "POST":
        request.max_content_length = upload_limit()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: Exception) -> Any:
    message = _("Tệp quá lớn: mỗi lần tải lên tối đa %(size)s. Hãy chia tệp thành nhiều tệp nhỏ hơn (ví dụ theo "
                "tháng) rồi nhập lần lượt.", size=size_text(upload_limit()))
    return render_template("errors/error.html", code=413, message=message), 413


# --- list and detail ------------------------------------------------------------------------------------------

def _agencies() -> list[OrgUnit]:
    stmt = select(OrgUnit).where(OrgUnit.unit_type.in_(AGENCY_TYPES))
    units = scope_units(current_user)
    if units is not None:
        stmt = stmt.where(OrgUnit.id.in_(sorted(units)))
    return list(db.session.scalars(stmt.order_by(OrgUnit.name)))


@bp.get("/")
@roles_required(*queries.READ_ROLES)
def index() -> Any:
    """Dossiers in the user's scope with filters; phones masked, names only for the office and administrators."""
    filters, errors = queries.read_filter(request.args)
    rows, total = queries.dossier_page(current_user, filters)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "dossiers/list.html", rows=rows, total=total, filters=filters, errors=errors, args=args,
        pages=max(1, -(-total // queries.PAGE_SIZE)), agencies=_agencies(), mask=mask_phone,
        with_name=queries.sees_citizen(current_user), can_import=current_user.role in IMPORT_ROLES, today=local_today(),
        **queries.list_labels(),
    ), 400 if errors else 200


@bp.get("/<int:dossier_id>")
@roles_required(*queries.READ_ROLES)
def detail(dossier_id: int) -> Any:
    """One dossier's facts and why it is late; never anything the citizen answered in a survey."""
    dossier = queries.get_dossier(current_user, dossier_id)
    if dossier is None:
        abort(404)
    return render_template("dossiers/detail.html", dossier=dossier, reasons=queries.late_reasons(dossier),
                           with_name=queries.sees_citizen(current_user), mask=mask_phone, **queries.list_labels())


# --- import ---------------------------------------------------------------------------------------------------

def _upload_form() -> UploadForm:
    form = UploadForm()
    form.agency.choices = [SelectChoice(str(a.id), a.name) for a in agencies_for(current_user)]
    return form


@bp.route("/nhap", methods=["GET", "POST"])
@roles_required(*IMPORT_ROLES)
def upload() -> Any:
    """Choose a file (and the agency); it is checked and shown before anything is saved."""
    form = _upload_form()
    context = {"form": form, "limit": size_text(upload_limit())}
    if not form.agency.choices:
        form.form_errors.append(_("Tài khoản của bạn chưa gắn với cơ quan nào nên chưa nhập được hồ sơ."))
        return render_template("dossiers/upload.html", **context), 403
    if request.method == "GET":
        return render_template("dossiers/upload.html", **context)
    if not form.validate_on_submit():
        return render_template("dossiers/upload.html", **context), 400
    choices = [c.value for c in form.agency.choices]
    agency = form.agency.data or (choices[0] if len(choices) == 1 else "")
    if agency not in choices:
        form.agency.errors = [*form.agency.errors, _("Hãy chọn cơ quan của các hồ sơ trong tệp.")]
        return render_template("dossiers/upload.html", **context), 400
    file = request.files.get(form.file.name)
    if not file or not file.filename:
        form.file.errors = [*form.file.errors, _("Hãy chọn tệp CSV hoặc XLSX để tải lên.")]
        return render_template("dossiers/upload.html", **context), 400
    try:
        parsed = parse_file(file.read(), file.filename, current_app.config.get("DOSSIER_IMPORT_MAX_ROWS", 50000))
    except FileProblem as problem:
        form.file.errors = [*form.file.errors, str(problem)]
        return render_template("dossiers/upload.html", **context), 400
    upload_id = uploads.keep(current_user, int(agency), file.filename, parsed)
    return redirect(url_for("dossiers.import_preview", upload_id=upload_id), 303)


def _state(upload_id: str) -> dict[str, Any]:
    try:
        return uploads.load(current_user, upload_id)
    except uploads.UploadGone:
        abort(404, description=_("Không còn tệp đã tải lên này (đã nhập, đã hủy hoặc quá một ngày). Hãy tải tệp "
                                 "lên lại."))


def _issues(state: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(state["issues"], key=lambda i: (i["row"], i["level"] != "error"))


@bp.get("/nhap/<upload_id>")
@roles_required(*IMPORT_ROLES)
def import_preview(upload_id: str) -> Any:
    """The counts, the first rows as they will be saved and the row report; nothing is saved yet."""
    state = _state(upload_id)
    if state["finished"]:
        return redirect(url_for("dossiers.import_result", upload_id=upload_id), 303)
    issues = _issues(state)
    return render_template("dossiers/preview.html", state=state, upload_id=upload_id,
                           rows=uploads.preview(state, upload_id), issues=issues[:REPORT_SHOWN],
                           more=max(0, len(issues) - REPORT_SHOWN), agency=db.session.get(OrgUnit, state["agency_id"]),
                           confirm_form=EmptyForm(), chunk=uploads.CHUNK, mask=mask_phone, **queries.list_labels())


def _wants_progress() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.form.get("chunk") == "1"


@bp.post("/nhap/<upload_id>")
@roles_required(*IMPORT_ROLES)
def import_run(upload_id: str) -> Any:
    """Import: the page's script asks for one chunk at a time (JSON progress); without script, all at once."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    _state(upload_id)
    progress = _wants_progress()
    try:
        state = uploads.import_next(current_user, upload_id, everything=not progress)
    except uploads.UploadGone:
        abort(404)
    result_url = url_for("dossiers.import_result", upload_id=upload_id)
    if progress:
        return jsonify(done=state["done"], total=state["total"], finished=state["finished"], totals=state["totals"],
                       result_url=result_url)
    return redirect(result_url, 303)


@bp.post("/nhap/<upload_id>/huy")
@roles_required(*IMPORT_ROLES)
def import_discard(upload_id: str) -> Any:
    """Do not import this file; it is deleted."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        uploads.discard(current_user, upload_id)
    except uploads.UploadGone:
        abort(404)
    return redirect(url_for("dossiers.upload"), 303)


@bp.get("/nhap/<upload_id>/ket-qua")
@roles_required(*IMPORT_ROLES)
def import_result(upload_id: str) -> Any:
    """What was imported (created, updated, unchanged, errors) and the row report."""
    state = _state(upload_id)
    if not state["finished"]:
        return redirect(url_for("dossiers.import_preview", upload_id=upload_id), 303)
    issues = _issues(state)
    return render_template("dossiers/result.html", state=state, upload_id=upload_id, issues=issues[:REPORT_SHOWN],
                           more=max(0, len(issues) - REPORT_SHOWN),
                           agency=db.session.get(OrgUnit, state["agency_id"]))


def _report_rows(state: dict[str, Any]) -> list[list[Any]]:
    levels = {"error": _("Lỗi: dòng không được nhập"), "warning": _("Cảnh báo: dòng vẫn được nhập")}
    return [[i["row"], _cell(i["column"]), levels.get(i["level"], i["level"]), _cell(i["message"])]
            for i in _issues(state)]


def _cell(text: str) -> str:
    # A header from the uploaded file could be "=HYPERLINK(…)": a spreadsheet must show it, not run it.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@bp.get("/nhap/<upload_id>/bao-cao.<any(csv,xlsx):fmt>")
@roles_required(*IMPORT_ROLES)
def import_report(upload_id: str, fmt: str) -> Any:
    """The row report: row, column, kind and what to fix (no citizen's data)."""
    state = _state(upload_id)
    header = [_("Dòng"), _("Cột"), _("Loại"), _("Cần sửa")]
    name = f"bao-cao-nhap-ho-so-{upload_id[:8]}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(_report_rows(state))
        return ("\ufeff" + out.getvalue()).encode(), 200, {"Content-Type": "text/csv; charset=utf-8", **disposition}
    from openpyxl import Workbook  # a heavy import, only for this download

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Báo cáo"))
    sheet.append(header)
    for row in _report_rows(state):
        sheet.append(row)
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return out_bytes.getvalue(), 200, {"Content-Type": XLSX, **disposition}
