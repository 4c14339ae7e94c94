"""Choices for the administration selects."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..extensions import db
from ..models import Counter, Field, Officer, OrgUnit, Questionnaire
from ..models.survey import Factor


def options(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def values(choices: list[SelectChoice]) -> set[object]:
    """The values a select offers, to check a submitted one against."""
    return {choice.value for choice in choices}


BLANK = options([("", _l("— Không chọn —"))])  # lazy: shared by every request, whatever its language


def unit_choices(unit_ids: set[int] | None = None, types: tuple[str, ...] | None = None) -> list[SelectChoice]:
    stmt = select(OrgUnit).order_by(OrgUnit.name)
    if types:
        stmt = stmt.where(OrgUnit.unit_type.in_(types))
    if unit_ids is not None:
        stmt = stmt.where(OrgUnit.id.in_(sorted(unit_ids)))
    return options(
        (u.id, u.name + (" " + _("(đến %(date)s)", date=f"{u.valid_to:%d/%m/%Y}") if u.valid_to else ""))
        for u in db.session.scalars(stmt)
    )


def counter_choices(unit_ids: set[int] | None = None) -> list[SelectChoice]:
    stmt = select(Counter).order_by(Counter.code)
    if unit_ids is not None:
        stmt = stmt.where(Counter.agency_id.in_(sorted(unit_ids)))
    return options((c.id, f"{c.name} — {c.code}") for c in db.session.scalars(stmt))


def field_choices() -> list[SelectChoice]:
    return options((f.id, f.name) for f in db.session.scalars(select(Field).order_by(Field.name)))


def officer_choices() -> list[SelectChoice]:
    return options((o.id, o.full_name) for o in db.session.scalars(select(Officer).order_by(Officer.full_name)))


def questionnaire_choices() -> list[SelectChoice]:
    family = db.session.scalars(select(Questionnaire).order_by(Questionnaire.code))
    return options((q.id, f"{q.code} — {q.title}") for q in family)


def factor_code_choices() -> list[SelectChoice]:
    rows = db.session.execute(select(Factor.code, Factor.name).distinct().order_by(Factor.code)).all()
    seen: dict[str, str] = {}
    for code, name in rows:
        seen.setdefault(code, name)
    return options([("", _("— Chỉ số chung —")), *((c, f"{c} — {n}") for c, n in seen.items())])
