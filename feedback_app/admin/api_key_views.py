"""/admin/api-keys: administrators issue, list and revoke the keys other systems present: Open311 clients
(scope 'open311': filing PAKN) and the one-stop system (scope 'dossiers': POST /api/v1/dossiers). A key opens
only its own scope.

A key is shown once, on the page that answers its issue; only its hash and first characters are kept.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..audit import record
from ..auth.forms import EmptyForm
from ..extensions import db
from ..form_messages import TranslatedForm
from ..models import ApiKey, OrgUnit
from ..models.api_key import API_KEY_SCOPES
from ..security import roles_required
from .forms import REQUIRED

AGENCY_TYPES = ("so", "ubnd")
SCOPE_LABELS = {"open311": _l("Open311: gửi phản ánh, kiến nghị"),
                "dossiers": _l("Hồ sơ một cửa: gửi hồ sơ (POST /api/v1/dossiers)")}


class ApiKeyForm(TranslatedForm):
    name = StringField(_l("Tên hệ thống dùng khóa"), validators=[DataRequired(REQUIRED), Length(max=120)])
    scope = SelectField(_l("Phạm vi của khóa"), choices=[SelectChoice(s, SCOPE_LABELS[s]) for s in API_KEY_SCOPES],
                        default="open311")
    agency = SelectField(_l("Cơ quan nhận phản ánh hoặc hồ sơ gửi bằng khóa này"), coerce=str)


def _form() -> ApiKeyForm:
    form = ApiKeyForm()
    units = db.session.scalars(select(OrgUnit).where(OrgUnit.unit_type.in_(AGENCY_TYPES), OrgUnit.valid_to.is_(None))
                               .order_by(OrgUnit.name))
    form.agency.choices = [("", _("— Không gắn (cơ quan duy nhất của hệ thống) —")),
                           *((str(u.id), u.name) for u in units)]
    return form


def _page(form: ApiKeyForm, issued: tuple[ApiKey, str] | None = None, status: int = 200) -> Any:
    keys = db.session.scalars(select(ApiKey).options(selectinload(ApiKey.agency))
                              .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())).all()
    page = render_template("admin/api_keys.html", keys=keys, form=form, revoke_form=EmptyForm(), issued=issued,
                           scope_labels=SCOPE_LABELS)
    return page, status


def api_keys_page() -> Any:
    """The keys, newest first (revoked ones last), and the form to issue one."""
    return _page(_form())


def api_key_issue() -> Any:
    """Issue a key: the answer shows it once (no redirect: it is never stored, not even in the session)."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=400)
    agency_id = int(form.agency.data) if form.agency.data else None
    key, plain = ApiKey.issue(form.name.data.strip(), agency_id, current_user.id, scope=form.scope.data)
    db.session.add(key)
    db.session.flush()
    record(current_user, "api_key.issue", key, name=key.name, prefix=key.prefix, agency_id=agency_id,
           scope=key.scope)
    db.session.commit()
    return _page(_form(), issued=(key, plain))


def api_key_revoke(key_id: int) -> Any:
    """Revoke a key: no request with it is accepted any more."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404)
    if key.active:
        key.revoke()
        record(current_user, "api_key.revoke", key, name=key.name, prefix=key.prefix)
        db.session.commit()
        flash(_("Đã thu hồi khóa %(prefix)s…", prefix=key.prefix), "success")
    return redirect(url_for("admin.api_keys"), 303)


def register_api_key_views(bp: Blueprint) -> None:
    admin_only = roles_required("admin")
    bp.add_url_rule("/api-keys", "api_keys", admin_only(api_keys_page), methods=["GET"])
    bp.add_url_rule("/api-keys", "api_key_issue", admin_only(api_key_issue), methods=["POST"])
    bp.add_url_rule("/api-keys/<int:key_id>/revoke", "api_key_revoke", admin_only(api_key_revoke),
                    methods=["POST"])
