"""Who may see and do what in the PAKN queue: the one place that decides it.

- admin: every agency, every action.  - office (Văn phòng Sở): its agency's queue, every action, sees senders.
- unit: only items assigned to its unit (or below); drafts answers; sees the sender only when the office shares it.
- viewer: reads its scope, no sender identity, no action.  - hotline: logs calls and files PAKN, no queue.
"""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import ColumnElement, false, select, true

from ..extensions import db
from ..models import Complaint, OrgUnit, User
from ..scoping import unit_with_descendants, visible_unit_ids

AGENCY_TYPES = ("so", "ubnd")
QUEUE_ROLES = ("admin", "office", "unit", "viewer")
OFFICE_ROLES = ("admin", "office")
# Actions and the roles that may take them (the scope is checked apart).
ACTION_ROLES = {
    "classify": OFFICE_ROLES, "assign": OFFICE_ROLES, "approve": OFFICE_ROLES, "return": OFFICE_ROLES,
    "notify": OFFICE_ROLES, "publish": OFFICE_ROLES, "close": OFFICE_ROLES, "extended": OFFICE_ROLES,
    "duplicate": OFFICE_ROLES, "withdraw": OFFICE_ROLES, "share": OFFICE_ROLES, "erase": OFFICE_ROLES,
    "draft": ("admin", "office", "unit"), "note": ("admin", "office", "unit"),
}


def agency_of(unit_id: int) -> int:
    """The agency (Sở or UBND) a unit belongs to: itself, or its nearest ancestor of an agency type, or its root."""
    current = db.session.get(OrgUnit, unit_id)
    while current is not None:
        if current.unit_type in AGENCY_TYPES or current.parent_id is None:
            return current.id
        current = current.parent
    return unit_id


def scope_units(user: User) -> set[int] | None:
    """Units whose items the user may read (None: every unit). The office works for its whole agency, even when
    its account sits in the Văn phòng unit below the agency; other roles read their own unit and below."""
    if user.role != "office":
        return visible_unit_ids(user)
    cache = g.setdefault("pakn_office_units", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = unit_with_descendants([agency_of(user.org_unit_id)])
    return cache[user.id]


def queue_condition(user: User) -> ColumnElement[bool]:
    """The items a user may read, as a WHERE condition."""
    if user.role not in QUEUE_ROLES:
        return false()
    units = scope_units(user)
    if units is None:
        return true()
    if user.role == "unit":
        return Complaint.unit_id.in_(sorted(units))
    return Complaint.agency_id.in_(sorted(units))


def can_read(user: User, complaint: Complaint) -> bool:
    """Whether the user may open this item."""
    if user.role not in QUEUE_ROLES:
        return False
    units = scope_units(user)
    if units is None:
        return True
    if user.role == "unit":
        return complaint.unit_id is not None and complaint.unit_id in units
    return complaint.agency_id in units


def can(user: User, action: str, complaint: Complaint) -> bool:
    """Whether the user may take this action on this item (role and scope)."""
    return user.role in ACTION_ROLES.get(action, ()) and can_read(user, complaint)


def sees_sender(user: User, complaint: Complaint) -> bool:
    """Personal data of the sender: the office always, a unit only when the office shared it for this item."""
    if user.role in OFFICE_ROLES:
        return can_read(user, complaint)
    return user.role == "unit" and complaint.share_identity and can_read(user, complaint)


def units_for_assignment(user: User) -> list[OrgUnit]:
    """Units the office may give items to: open units inside its agency."""
    units = scope_units(user)
    stmt = select(OrgUnit).where(OrgUnit.valid_to.is_(None)).order_by(OrgUnit.name)
    if units is not None:
        stmt = stmt.where(OrgUnit.id.in_(sorted(units)))
    return list(db.session.scalars(stmt))
