"""Entering a PAKN that arrived by letter, e-mail or paper form: the deadlines run from the ORIGINAL date of
receipt (intake counts them from received_at), so the date typed is the day the agency received it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import select

from ..complaints.access import AGENCY_TYPES, agency_of
from ..complaints.attachments import Upload
from ..complaints.errors import ComplaintInputError
from ..complaints.intake import Intake, Sender, submit, validate
from ..extensions import db
from ..models import Complaint, OrgUnit, User
from ..scoping import visible_unit_ids
from ..timeutil import FIRST_YEAR, LOCAL_TZ, DateOutOfRange, as_utc, local_today, parse_date

STAFF_CHANNELS = ("letter", "email", "paper")
ENTRY_ROLES = ("admin", "office")
DEFAULT_RECEIPT_TIME = time(8, 0)  # a letter's date without an hour: the start of that working day
_HHMM = re.compile(r"([01]?\d|2[0-3])[:hg]([0-5]\d)")
# Intake's field names and this page's.
_FIELDS = {"name": "sender_name", "address": "sender_address", "phone": "sender_phone", "email": "sender_email",
           "received_at": "received_on"}


@dataclass
class LetterEntry:
    """A PAKN as staff type it from a letter, an e-mail or a paper form."""

    agency_id: int
    channel: str
    received_on: str  # dd/mm/yyyy
    received_time: str = ""  # HH:MM, optional
    kind: str = "phan_anh"
    nature: str = "pakn"
    title: str = ""
    content: str = ""
    sender: Sender = field(default_factory=Sender)
    consent: bool = False
    uploads: list[Upload] = field(default_factory=list)


def receipt_instant(day_text: str, time_text: str = "") -> datetime:
    """The instant of receipt from a local date and an optional HH:MM (08:00 when none). ComplaintInputError."""
    errors: dict[str, str] = {}
    try:
        day: date | None = parse_date(day_text, bounded=True)
    except DateOutOfRange:
        day = None
        errors["received_on"] = _("Ngày tiếp nhận phải từ 01/01/%(first)d đến hôm nay; nhập theo dạng dd/mm/yyyy.",
                                  first=FIRST_YEAR)
    except ValueError:
        day = None
        errors["received_on"] = _("Nhập ngày tiếp nhận theo dạng dd/mm/yyyy, ví dụ 02/11/2026.")
    at = DEFAULT_RECEIPT_TIME
    if (time_text or "").strip():
        match = _HHMM.fullmatch(time_text.strip())
        if match:
            at = time(int(match.group(1)), int(match.group(2)))
        else:
            errors["received_time"] = _("Nhập giờ theo dạng HH:MM, ví dụ 14:30; để trống nếu không rõ giờ.")
    if day is not None and day > local_today():
        errors["received_on"] = _("Ngày tiếp nhận không thể ở tương lai.")
    if errors:
        raise ComplaintInputError(errors)
    assert day is not None
    return as_utc(datetime.combine(day, at, tzinfo=LOCAL_TZ))


def agencies_for(user: User) -> list[OrgUnit]:
    """Agencies the user may enter items for: the office its own; an administrator any open agency."""
    if user.role != "admin":
        unit = db.session.get(OrgUnit, agency_of(user.org_unit_id))
        return [unit] if unit is not None else []
    stmt = select(OrgUnit).where(OrgUnit.unit_type.in_(AGENCY_TYPES), OrgUnit.valid_to.is_(None))
    units = visible_unit_ids(user)
    if units is not None:
        stmt = stmt.where(OrgUnit.id.in_(sorted(units)))
    return list(db.session.scalars(stmt.order_by(OrgUnit.name)))


def enter_letter(user: User, entry: LetterEntry) -> Complaint:
    """File the item with its original date of receipt; commits once. ComplaintInputError (fields of this page)."""
    errors: dict[str, str] = {}
    if entry.channel not in STAFF_CHANNELS:
        errors["channel"] = _("Hãy chọn kênh: thư, thư điện tử hoặc phiếu giấy.")
    if entry.agency_id not in {a.id for a in agencies_for(user)}:
        errors["agency_id"] = _("Hãy chọn cơ quan nhận.")
    try:
        received_at: datetime | None = receipt_instant(entry.received_on, entry.received_time)
    except ComplaintInputError as error:
        errors.update(error.errors)
        received_at = None
    intake = Intake(agency_id=entry.agency_id, kind=entry.kind, nature=entry.nature, channel=entry.channel,
                    content=entry.content, title=entry.title, sender=entry.sender, consent=entry.consent,
                    received_at=received_at, uploads=entry.uploads)
    try:
        if errors:  # still run intake's checks, so every field's message is shown at once
            _values, more = validate(intake)
            more.pop("received_at", None)
            raise ComplaintInputError({**{_FIELDS.get(k, k): v for k, v in more.items()}, **errors})
        complaint, _secret = submit(intake, user)  # the receipt e-mail (if any) carries the secret
    except ComplaintInputError as error:
        raise ComplaintInputError({_FIELDS.get(k, k): v for k, v in error.errors.items()}) from error
    return complaint


def find_in_scope(user: User, code: str) -> Complaint | None:
    """An item by code, when it belongs to an agency the user enters items for."""
    agencies = {a.id for a in agencies_for(user)}
    item = db.session.scalar(select(Complaint).where(Complaint.code == code.strip().upper()))
    if item is None or (user.role != "admin" and item.agency_id not in agencies):
        return None
    return item
