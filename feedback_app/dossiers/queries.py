"""Reading dossiers for the staff pages: who may read which, the list's filters, one dossier's late reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from ..complaints.access import scope_units
from ..extensions import db
from ..models import Counter, Dossier, Officer, User
from ..models.dossier import DOSSIER_CHANNELS, DOSSIER_STATUSES
from ..parsing import parse_id
from ..timeutil import DateOutOfRange, local_today, parse_date

READ_ROLES = ("admin", "office", "unit", "viewer")
NAME_ROLES = ("admin", "office")  # the citizen's name and full phone: those who deliver slips and answer calls
PAGE_SIZE = 50
STATUS_LABELS = {"received": _l("Đã tiếp nhận"), "processing": _l("Đang xử lý"), "supplement": _l("Chờ bổ sung"),
                 "returned": _l("Đã trả kết quả"), "cancelled": _l("Đã hủy")}
CHANNEL_LABELS = {"in_person": _l("Trực tiếp"), "online": _l("Trực tuyến"), "postal": _l("Bưu chính công ích")}
assert set(STATUS_LABELS) == set(DOSSIER_STATUSES) and set(CHANNEL_LABELS) == set(DOSSIER_CHANNELS)


def sees_citizen(user: User) -> bool:
    """Whether the user sees the citizen's name and full phone number."""
    return user.role in NAME_ROLES


def read_condition(user: User) -> ColumnElement[bool]:
    """The dossiers a user may read: the office its agency's; a unit or viewer those of its units' counters and
    officers too (a dossier belongs to the agency, its counter and officer may sit in a unit below)."""
    if user.role not in READ_ROLES:
        return false()
    units = scope_units(user)
    if units is None:
        return true()
    ids = sorted(units)
    return or_(Dossier.agency_id.in_(ids),
               Dossier.counter_id.in_(select(Counter.id).where(Counter.agency_id.in_(ids))),
               Dossier.officer_id.in_(select(Officer.id).where(Officer.unit_id.in_(ids))))


@dataclass
class DossierFilter:
    agency_id: int | None = None
    returned_from: date | None = None
    returned_to: date | None = None
    late: bool = False
    status: str = ""
    channel: str = ""
    q: str = ""
    page: int = 1


def read_filter(args: Mapping[str, str]) -> tuple[DossierFilter, dict[str, str]]:
    """The list's filters from the query string; one that is not understood is left out, and said so."""
    f, errors = DossierFilter(), {}
    f.agency_id = parse_id(args.get("agency")) if args.get("agency") else None
    for name in ("returned_from", "returned_to"):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        try:
            setattr(f, name, parse_date(raw, bounded=True))
        except DateOutOfRange as error:
            errors[name] = _("Ngày “%(value)s” phải nằm trong các năm %(first)d–%(last)d: bộ lọc này chưa được "
                             "áp dụng.", value=raw[:20], first=error.first, last=error.last)
        except ValueError:
            errors[name] = _("Ngày “%(value)s” chưa đúng dạng dd/mm/yyyy: bộ lọc này chưa được áp dụng.",
                             value=raw[:20])
    f.late = args.get("late") in ("1", "on", "true")
    f.status = args.get("status") if args.get("status") in STATUS_LABELS else ""
    f.channel = args.get("channel") if args.get("channel") in CHANNEL_LABELS else ""
    f.q = (args.get("q") or "").strip()[:60]
    f.page = min(parse_id(args.get("page")) or 1, 10_000) or 1
    return f, errors


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def dossier_page(user: User, f: DossierFilter) -> tuple[list[Dossier], int]:
    """One page of the dossiers the user may read, newest received first, and how many there are in all."""
    conditions = [read_condition(user)]
    if f.agency_id:
        conditions.append(Dossier.agency_id == f.agency_id)
    if f.returned_from:
        conditions.append(Dossier.returned_date >= f.returned_from)
    if f.returned_to:
        conditions.append(Dossier.returned_date <= f.returned_to)
    if f.late:
        conditions.append(Dossier.is_late)
    if f.status:
        conditions.append(Dossier.status == f.status)
    if f.channel:
        conditions.append(Dossier.channel == f.channel)
    if f.q:
        conditions.append(func.lower(Dossier.code).like(f"%{_escape_like(f.q.lower())}%", escape="\\"))
    total = db.session.scalar(select(func.count(Dossier.id)).where(*conditions)) or 0
    rows = db.session.scalars(
        select(Dossier).where(*conditions).options(selectinload(Dossier.agency), selectinload(Dossier.counter),
                                                   selectinload(Dossier.officer))
        .order_by(Dossier.received_date.desc(), Dossier.id.desc())
        .offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), total


def get_dossier(user: User, dossier_id: int) -> Dossier | None:
    """A dossier the user may read, or None (the page answers 404 either way: existence is not told)."""
    return db.session.scalar(select(Dossier).where(Dossier.id == dossier_id, read_condition(user)))


def late_reasons(dossier: Dossier, today: date | None = None) -> list[str]:
    """Why a dossier counts as late (trễ hẹn), in words; empty when it is not."""
    reasons = []
    if dossier.returned_late:
        days = (dossier.returned_date - dossier.appointment_date).days  # type: ignore[operator]
        reasons.append(_("Trả kết quả sau ngày hẹn %(n)d ngày.", n=days))
    if dossier.supplement_count > 1:
        reasons.append(_("Yêu cầu bổ sung %(n)d lần (quá một lần).", n=dossier.supplement_count))
    if dossier.overdue_on(today or local_today()):
        reasons.append(_("Đã quá ngày hẹn trả nhưng chưa trả kết quả."))
    return reasons


def list_labels() -> dict[str, Any]:
    return {"statuses": STATUS_LABELS, "channels": CHANNEL_LABELS}
