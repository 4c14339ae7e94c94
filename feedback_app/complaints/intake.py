"""Intake from every channel: the public form, the kiosk, the hotline, letters and e-mails entered by staff, a
survey response, Open311. One function validates and files; `submit` commits it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..labels import COMPLAINT_CHANNEL_LABELS
from ..models import Complaint, ComplaintEvent, Counter, Officer, Service, User
from ..models.complaint import CHANNELS, KINDS, NATURES
from ..parsing import clean_text
from ..phones import normalise_phone
from ..scoping import unit_with_descendants
from ..timeutil import as_utc, utcnow
from .attachments import Upload, check_uploads
from .deadlines import start_clock
from .errors import ComplaintInputError
from .notices import email_receipt, office_staff, tell_staff
from .secrets import new_secret
from .transaction import one_commit

CONTENT_MAX = 5000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class Sender:
    """Who sent it, as given (all optional: without name, address and phone it is an anonymous góp ý)."""

    name: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass
class Intake:
    """One PAKN as it arrives, from any channel."""

    agency_id: int
    kind: str
    content: str
    channel: str
    sender: Sender = field(default_factory=Sender)
    consent: bool = False
    nature: str = "pakn"
    title: str = ""
    received_at: datetime | None = None  # staff entry of a letter: the original date of receipt
    service_id: int | None = None
    counter_id: int | None = None
    officer_id: int | None = None
    dossier_code: str = ""
    response_id: int | None = None
    uploads: list[Upload] = field(default_factory=list)


def _text(errors: dict[str, str], name: str, raw: str, limit: int, required: bool = False) -> str:
    text, refused = clean_text(raw or "")
    if refused:
        errors[name] = _("Có ký tự điều khiển hoặc ký tự ẩn không hợp lệ. Hãy gõ lại nội dung này.")
    elif required and not text:
        errors[name] = _("Vui lòng nhập nội dung.")
    elif len(text) > limit:
        errors[name] = _("Dài quá %(limit)d ký tự (hiện có %(n)d). Hãy rút gọn.", limit=limit, n=len(text))
    return text


def validate(intake: Intake) -> tuple[dict[str, object], dict[str, str]]:
    """Cleaned values and the messages of what to fix, per field."""
    errors: dict[str, str] = {}
    if intake.kind not in KINDS:
        errors["kind"] = _("Hãy chọn loại: phản ánh, kiến nghị hoặc góp ý.")
    if intake.nature not in NATURES:
        errors["nature"] = _("Tính chất không hợp lệ.")
    if intake.channel not in CHANNELS:
        errors["channel"] = _("Kênh tiếp nhận không hợp lệ.")
    values: dict[str, object] = {
        "content": _text(errors, "content", intake.content, CONTENT_MAX, required=True),
        "title": _text(errors, "title", intake.title, 200),
        "sender_name": _text(errors, "name", intake.sender.name, 120),
        "sender_address": _text(errors, "address", intake.sender.address, 255),
        "dossier_code": _text(errors, "dossier_code", intake.dossier_code, 60),
    }
    phone = (intake.sender.phone or "").strip()
    values["sender_phone"] = normalise_phone(phone) if phone else ""
    if phone and not values["sender_phone"]:
        errors["phone"] = _("Số điện thoại chưa đúng. Hãy nhập 10 chữ số, ví dụ 0905 123 456.")
    email = (intake.sender.email or "").strip()
    if email and (len(email) > 120 or not _EMAIL.fullmatch(email)):
        errors["email"] = _("Địa chỉ thư điện tử chưa đúng, ví dụ ten@example.com.")
    values["sender_email"] = email.lower()
    personal = any(values[k] for k in ("sender_name", "sender_address", "sender_phone", "sender_email"))
    if personal and not intake.consent:
        errors["consent"] = _("Hãy đồng ý cho cơ quan dùng thông tin liên hệ để trả lời, hoặc xóa thông tin đó "
                              "để gửi góp ý ẩn danh.")
    received_at = as_utc(intake.received_at) if intake.received_at else utcnow()
    if received_at > utcnow() + CLOCK_SKEW:
        errors["received_at"] = _("Ngày tiếp nhận không thể ở tương lai.")
    values["received_at"] = received_at
    _check_links(intake, errors)
    return values, errors


def _check_links(intake: Intake, errors: dict[str, str]) -> None:
    """The service and counter named must belong to the agency the item is sent to; the officer must exist
    (officers at a one-stop centre's counters belong to other units)."""
    units = unit_with_descendants([intake.agency_id], include_history=False)
    for key, model, column in (("service_id", Service, "agency_id"), ("counter_id", Counter, "agency_id"),
                               ("officer_id", Officer, None)):
        wanted = getattr(intake, key)
        if wanted is None:
            continue
        row = db.session.get(model, wanted)
        if row is None or (column is not None and getattr(row, column) not in units):
            errors[key.removesuffix("_id")] = _("Lựa chọn không thuộc cơ quan này. Hãy chọn lại.")


def file_complaint(intake: Intake, user: User | None = None) -> tuple[Complaint, str]:
    """Validate and add one item with its deadlines, history, audit row and notices; flushes, never commits.
    Returns the item and the sender's private secret (shown once)."""
    values, errors = validate(intake)
    attachments, upload_error = check_uploads(intake.uploads)
    if upload_error:
        errors["files"] = upload_error
    if errors:
        raise ComplaintInputError(errors)
    secret, secret_hash = new_secret()
    legal = bool(values["sender_name"] and values["sender_address"] and values["sender_phone"])
    complaint = Complaint(
        kind=intake.kind, nature=intake.nature, channel=intake.channel, agency_id=intake.agency_id,
        legal=legal, secret_hash=secret_hash, service_id=intake.service_id, counter_id=intake.counter_id,
        officer_id=intake.officer_id, response_id=intake.response_id,
        consent_at=utcnow() if intake.consent else None, created_by_id=user.id if user else None,
        **{k: (v or None) if isinstance(v, str) else v for k, v in values.items()},
    )
    complaint.content = str(values["content"])
    complaint.attachments.extend(attachments)
    db.session.add(complaint)
    db.session.flush()  # the id makes the code
    complaint.code = f"PA-{values['received_at'].year}-{complaint.id:06d}"
    start_clock(complaint)
    db.session.add(ComplaintEvent(complaint=complaint, user_id=user.id if user else None, action="received",
                                  to_state="received", details={"channel": intake.channel}))
    record(user, "complaint.receive", complaint, code=complaint.code, channel=intake.channel, kind=intake.kind)
    tell_staff(office_staff(intake.agency_id), _l("PAKN mới %(code)s qua kênh %(channel)s", code=complaint.code,
                                                 channel=COMPLAINT_CHANNEL_LABELS[intake.channel]), complaint)
    email_receipt(complaint, secret)
    return complaint, secret


def submit(intake: Intake, user: User | None = None) -> tuple[Complaint, str]:
    """File one item and commit: the public form, the kiosk, staff entry."""
    with one_commit():
        complaint, secret = file_complaint(intake, user)
    return complaint, secret


def find_by_code(code: str) -> Complaint | None:
    """An item by its public code."""
    return db.session.scalar(select(Complaint).where(Complaint.code == code.strip().upper()))
