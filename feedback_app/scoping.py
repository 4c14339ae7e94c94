"""The one place that decides which organisation units a staff member may read."""

from __future__ import annotations

from collections.abc import Iterable

from flask import g, has_request_context
from sqlalchemy import ColumnElement, false, select, true

from .extensions import db
from .models import OrgEvent, OrgUnit, User

UNSCOPED_ROLES = ("admin",)


def unit_tree() -> dict[int | None, list[int]]:
    """Children ids by parent id, read once per call (the tree is small)."""
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in db.session.execute(select(OrgUnit.id, OrgUnit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    return children


def predecessors() -> dict[int, list[int]]:
    """Predecessor ids by successor id, from merge/rename events."""
    result: dict[int, list[int]] = {}
    for pred, succ in db.session.execute(select(OrgEvent.predecessor_id, OrgEvent.successor_id)):
        result.setdefault(succ, []).append(pred)
    return result


def unit_with_descendants(unit_ids: Iterable[int], include_history: bool = True) -> set[int]:
    """The units, everything under them, and (with history) the units merged or renamed into them."""
    children = unit_tree()
    preds = predecessors() if include_history else {}
    seen: set[int] = set()
    stack = list(unit_ids)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(children.get(current, []))
        stack.extend(preds.get(current, []))
    return seen


def visible_unit_ids(user: User) -> set[int] | None:
    """Units the user may read; None means every unit (administrators). Worked out once per request."""
    if user.role in UNSCOPED_ROLES:
        return None
    cache = g.setdefault("visible_units", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = unit_with_descendants([user.org_unit_id])
    return cache[user.id]


def scope_condition(user: User, unit_column: ColumnElement, officer_column: ColumnElement | None = None):
    """A WHERE condition limiting rows to what the user may read; a counter officer sees only their own.

    Fails closed: for a counter officer, rows that cannot be tied to an officer (no officer_column given)
    are not theirs to read, and an account without a linked officer reads nothing."""
    units = visible_unit_ids(user)
    condition = true() if units is None else unit_column.in_(sorted(units))
    if user.role == "counter":
        if officer_column is None or not user.officer_id:
            return false()
        condition = condition & (officer_column == user.officer_id)
    return condition


def can_read_unit(user: User, unit_id: int) -> bool:
    """Whether a single unit lies inside the user's scope."""
    units = visible_unit_ids(user)
    return units is None or unit_id in units
