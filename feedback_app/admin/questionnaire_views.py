"""Questionnaires: read every version, copy one into a draft, edit the draft, publish it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..audit import record
from ..auth.forms import EmptyForm
from ..extensions import db
from ..labels import VERSION_STATUS_LABELS
from ..models import Questionnaire, QuestionnaireVersion, Response
from ..security import roles_required
from ..surveys.questionnaires import QuestionnaireError, new_draft_from, publish
from .forms import QuestionnaireVersionForm


def _version(version_id: int) -> QuestionnaireVersion:
    version = db.session.get(QuestionnaireVersion, version_id)
    if version is None:
        abort(404)
    return version


@roles_required("admin")
def questionnaires() -> Any:
    """Every questionnaire with its versions and how many responses each has."""
    families = db.session.scalars(select(Questionnaire).order_by(Questionnaire.code)).all()
    per_version = select(Response.version_id, func.count(Response.id)).group_by(Response.version_id)
    counts = dict(db.session.execute(per_version).all())
    return render_template("admin/questionnaires.html", families=families, counts=counts, form=EmptyForm(),
                           statuses=VERSION_STATUS_LABELS)


@roles_required("admin")
def version_detail(version_id: int) -> Any:
    """One version's factors, questions and scale; a draft can be edited here."""
    version = _version(version_id)
    form = QuestionnaireVersionForm(obj=version)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not version.is_editable:
            abort(409, description=_("Phiên bản đã công bố không được sửa; hãy tạo phiên bản mới."))
        if form.validate_on_submit():
            errors = _apply_question_edits(version, request.form)
            if not errors:
                form.populate_obj(version)
                record(current_user, "questionnaires.edit", version)
                db.session.commit()
                flash(_("Đã lưu bản nháp."), "success")
                return redirect(url_for("admin.questionnaire_version", version_id=version.id), 303)
        db.session.rollback()
        return render_template("admin/questionnaire_version.html", version=version, form=form, errors=errors,
                               values=request.form, action_form=EmptyForm(), statuses=VERSION_STATUS_LABELS), 400
    return render_template("admin/questionnaire_version.html", version=version, form=form, errors=errors,
                           values=None, action_form=EmptyForm(), statuses=VERSION_STATUS_LABELS)


def _apply_question_edits(version: QuestionnaireVersion, data: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    for q in version.questions:
        text = (data.get(f"text-{q.id}") or "").strip()
        if not text:
            errors[f"text-{q.id}"] = _("Nội dung câu hỏi không được để trống.")
            continue
        q.text = text
        q.text_en = (data.get(f"text_en-{q.id}") or "").strip() or None
    for f in version.factors:
        raw = (data.get(f"weight-{f.id}") or "1").replace(",", ".")
        try:
            weight = Decimal(raw)
        except InvalidOperation:
            weight = Decimal(-1)
        if not weight.is_finite() or weight < 0 or weight > 100:
            errors[f"weight-{f.id}"] = _("Trọng số là một số từ 0 đến 100.")
        else:
            f.weight = weight
    return errors


@roles_required("admin")
def new_version(version_id: int) -> Any:
    """Copy a version into a new draft (published versions are never edited in place)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        draft = new_draft_from(_version(version_id))
    except QuestionnaireError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.questionnaires"), 303)
    record(current_user, "questionnaires.new_version", draft, number=draft.number)
    db.session.commit()
    return redirect(url_for("admin.questionnaire_version", version_id=draft.id), 303)


@roles_required("admin")
def publish_version(version_id: int) -> Any:
    """Publish a draft; the previous version is retired and keeps its responses."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    version = _version(version_id)
    try:
        publish(version)
    except QuestionnaireError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.questionnaire_version", version_id=version_id), 303)
    record(current_user, "questionnaires.publish", version, number=version.number)
    db.session.commit()
    flash(_("Đã công bố phiên bản %(n)d.", n=version.number), "success")
    return redirect(url_for("admin.questionnaires"), 303)


def register_questionnaire_views(bp: Blueprint) -> None:
    bp.add_url_rule("/questionnaires", "questionnaires", questionnaires)
    bp.add_url_rule("/questionnaires/versions/<int:version_id>", "questionnaire_version", version_detail,
                    methods=["GET", "POST"])
    bp.add_url_rule("/questionnaires/versions/<int:version_id>/new", "questionnaire_new_version", new_version,
                    methods=["POST"])
    bp.add_url_rule("/questionnaires/versions/<int:version_id>/publish", "questionnaire_publish", publish_version,
                    methods=["POST"])
