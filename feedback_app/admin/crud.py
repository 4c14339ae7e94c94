"""A small list/create/edit pattern shared by the administration pages, with audit and clear errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..extensions import db
from ..security import roles_required

Column = tuple[str, Callable[[Any], Any]]


class FormRefused(Exception):
    """A save the form's data does not allow; the message tells the user what to fix (shown as is)."""


def _changes(form: FlaskForm, obj: Any, creating: bool) -> dict[str, Any]:
    """What the form sets or changes on the object, for the audit row: [old, new] pairs on an edit, the
    values on a creation; a password only as "changed", a file only as "uploaded"."""
    diff: dict[str, Any] = {}
    for name, fld in form._fields.items():
        if name == "csrf_token":
            continue
        if "password" in name or fld.type == "FileField":
            if fld.data:
                diff[f"{name}_changed"] = True
            continue
        old = getattr(obj, name, None)
        if creating or not hasattr(obj, name) or isinstance(old, list):
            diff[name] = fld.data  # a new record, or a set of links (counters, units) given whole
        elif old != fld.data:
            diff[name] = [old, fld.data]
    return diff


@dataclass
class Crud:
    """List, create and edit one kind of record."""

    name: str
    model: type
    form: type[FlaskForm]
    title: str  # lazy (_l) like the column names: read in the language of each request
    columns: list[Column]
    roles: tuple[str, ...] = ("admin",)
    order_by: Any = None
    prepare_form: Callable[[FlaskForm, Any], None] | None = None
    save: Callable[[FlaskForm, Any], None] | None = None
    query_filter: Callable[[Any], Any] | None = None
    extra_actions: list[tuple[str, Callable[[Any], str]]] = field(default_factory=list)
    can_create: bool = True
    load: tuple[Any, ...] = ()  # loader options for the list (selectinload of what the columns show)
    duplicate_message: str = _l("Mã hoặc tên này đã được dùng cho một mục khác; vui lòng chọn mã khác.")

    def register(self, bp: Blueprint) -> None:
        guard = roles_required(*self.roles)
        bp.add_url_rule(f"/{self.name}", f"{self.name}_list", guard(self.list_view))
        if self.can_create:
            bp.add_url_rule(f"/{self.name}/new", f"{self.name}_new", guard(self.edit_view), methods=["GET", "POST"])
        bp.add_url_rule(f"/{self.name}/<int:item_id>", f"{self.name}_edit", guard(self.edit_view),
                        methods=["GET", "POST"])

    def list_view(self) -> Any:
        """List the records."""
        stmt = select(self.model)
        if self.query_filter:
            stmt = self.query_filter(stmt)
        if self.order_by is not None:
            stmt = stmt.order_by(self.order_by)
        if self.load:
            stmt = stmt.options(*self.load)
        items = db.session.scalars(stmt).all()
        return render_template("admin/list.html", crud=self, items=items)

    def edit_view(self, item_id: int | None = None) -> Any:
        """Create or edit one record; on error the form comes back with what was typed."""
        obj = db.session.get(self.model, item_id) if item_id else self.model()
        if obj is None:
            abort(404)
        if item_id and self.query_filter is not None:
            allowed = db.session.scalar(self.query_filter(select(self.model.id)).where(self.model.id == item_id))
            if allowed is None:
                abort(404)
        form = self.form(obj=obj if item_id else None)
        if self.prepare_form:
            self.prepare_form(form, obj)
        status = 200
        if form.validate_on_submit():
            diff = _changes(form, obj, creating=not item_id)
            try:
                if self.save:
                    self.save(form, obj)
                else:
                    form.populate_obj(obj)
                if not item_id:
                    db.session.add(obj)
                db.session.flush()
                record(current_user, f"{self.name}.{'update' if item_id else 'create'}", obj, **diff)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                form.form_errors.append(self.duplicate_message)
                status = 400
            except FormRefused as error:
                db.session.rollback()
                form.form_errors.append(str(error))
                status = 400
            else:
                flash(_("Đã lưu."), "success")
                return redirect(url_for(f"admin.{self.name}_list"))
        elif request.method == "POST":
            status = 400
        return render_template("admin/edit.html", crud=self, form=form, obj=obj, item_id=item_id), status
