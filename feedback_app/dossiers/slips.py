"""Apology slips (Phiếu xin lỗi và hẹn lại ngày trả kết quả): one service per action — create, record delivery,
send by SMS/e-mail. Each checks the user's right, makes the change, writes the audit row (and the outbox rows),
commits once. Views only parse forms and call these.

Rights: the office and the units (admin everywhere) write slips and send them, for dossiers of their scope;
counter officers hand them over at the counter (record delivery) for their own dossiers, as scoping.py decides
for every counter officer. Viewers never see slips: a slip names the citizen.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import contains_eager

from ..audit import record
from ..calendar_service import current_calendar
from ..complaints.access import scope_units
from ..complaints.transaction import one_commit
from ..extensions import db
from ..models import AgencySmsSettings, ApologySlip, Dossier, OrgUnit, User
from ..models.dossier import SLIP_DELIVERY_METHODS
from ..models.survey import IllegalTransition
from ..outbox import enqueue_email, enqueue_sms
from ..parsing import clean_text
from ..phones import normalise_phone
from ..timeutil import LOCAL_TZ, as_utc, to_local, utcnow

READ_ROLES = ("admin", "office", "unit", "counter")
ACTION_ROLES = {
    "create": ("admin", "office", "unit"),
    "deliver": ("admin", "office", "unit", "counter"),
    "send": ("admin", "office", "unit"),
}
EXTRA_DAYS_MIN, EXTRA_DAYS_MAX = 1, 60
REASON_MAX, SIGNER_MAX = 2000, 120
DELIVERY_METHOD_LABELS = {"counter": _l("Tại quầy"), "email": _l("Thư điện tử"), "sms": _l("Tin nhắn SMS"),
                          "post": _l("Bưu chính")}
_PLACE = re.compile(r"\b(?:tỉnh|thành phố|TP\.?)\s+([^,;()]+)", re.IGNORECASE)


class SlipInputError(ValueError):
    """Input a person must fix: one message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotAllowed(PermissionError):
    """The user's role or scope does not allow this action on this dossier."""


# Rights ---------------------------------------------------------------------------------------------------------

def can_read(user: User, dossier: Dossier) -> bool:
    """Whether the user may see the dossier's slips (and the citizen named on them)."""
    if user.role not in READ_ROLES:
        return False
    units = scope_units(user)
    if units is not None and dossier.agency_id not in units:
        return False
    # A counter officer reads only their own dossiers (scoping.scope_condition's rule), failing closed.
    return user.role != "counter" or bool(user.officer_id and dossier.officer_id == user.officer_id)


def can(user: User, action: str, dossier: Dossier) -> bool:
    """Whether the user may take this action (create, deliver, send) on the dossier's slips."""
    return user.role in ACTION_ROLES.get(action, ()) and can_read(user, dossier)


def scope_condition(user: User) -> ColumnElement[bool]:
    """The dossiers whose slips the user may see, as a WHERE condition on Dossier."""
    if user.role not in READ_ROLES:
        return false()
    units = scope_units(user)
    condition = true() if units is None else Dossier.agency_id.in_(sorted(units))
    if user.role == "counter":
        if not user.officer_id:
            return false()
        condition = condition & (Dossier.officer_id == user.officer_id)
    return condition


def _allowed(user: User, action: str, dossier: Dossier) -> None:
    """Rights first: a refused user learns nothing about the input or the state."""
    if not can(user, action, dossier):
        raise NotAllowed(action)


# Rules ----------------------------------------------------------------------------------------------------------

def local_date(instant: datetime) -> date:
    """The date in Vietnam of a stored instant."""
    return to_local(instant).date()


def missed_date(dossier: Dossier) -> date:
    """The promise a new slip apologises for: the last slip's new date, else the dossier's appointment date."""
    last = dossier.slips[-1] if dossier.slips else None
    return max(dossier.appointment_date, last.new_appointment_date) if last else dossier.appointment_date


def refusal(dossier: Dossier) -> str | None:
    """Why no slip can be written for this dossier now, or None when one can.

    A slip is for a dossier that is late or will be: returned after its date, asked for supplements more than
    once, or not returned yet (the office may write it before the date passes; that is the point). One slip per
    missed promise: the last one must have been delivered before the next one is written."""
    if dossier.status == "cancelled":
        return _("Hồ sơ đã bị hủy: không lập phiếu xin lỗi.")
    last = dossier.slips[-1] if dossier.slips else None
    if last is not None and last.delivered_at is None:
        return _("Phiếu số %(number)s của hồ sơ này chưa được giao. Hãy ghi nhận việc giao phiếu đó trước khi lập "
                 "phiếu mới.", number=last.number)
    if dossier.returned_date is not None:
        if not dossier.is_late:
            return _("Hồ sơ đã trả kết quả đúng hẹn và không phải bổ sung quá một lần: không cần phiếu xin lỗi.")
        if last is not None:
            return _("Hồ sơ đã trả kết quả và đã có phiếu xin lỗi số %(number)s.", number=last.number)
    return None


def ground(dossier: Dossier, today: date) -> str:
    """Why the dossier needs a slip: returned late, supplements, overdue, or at risk (before its date)."""
    if dossier.returned_late:
        return "returned_late"
    if dossier.supplement_count > 1:
        return "supplements"
    return "overdue" if today > missed_date(dossier) else "at_risk"


GROUND_LABELS = {"returned_late": _l("Trả kết quả sau ngày hẹn"), "supplements": _l("Yêu cầu bổ sung quá một lần"),
                 "overdue": _l("Đã quá ngày hẹn, chưa trả"), "at_risk": _l("Có nguy cơ trễ hẹn")}


def new_appointment_date(agency_id: int, missed: date, today: date, extra_days: int) -> date:
    """The new date: `extra_days` working days (the agency's calendar: weekends, holidays, swaps) after the later
    of the missed appointment date and today; that day itself never counts."""
    start = max(missed, today)
    deadline = current_calendar(agency_id).add_working_days(datetime.combine(start, time(12), LOCAL_TZ), extra_days)
    return deadline.astimezone(LOCAL_TZ).date()


def signer_defaults(agency_id: int) -> tuple[str, str]:
    """The signer of the agency's last slip (the head rarely changes); empty when it has none yet."""
    row = db.session.execute(
        select(ApologySlip.signer_name, ApologySlip.signer_title).join(Dossier)
        .where(Dossier.agency_id == agency_id).order_by(ApologySlip.id.desc()).limit(1)).first()
    return (row.signer_name, row.signer_title) if row else ("", "")


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """A local year as UTC instants (SQLite compares the stored UTC text)."""
    return tuple(datetime(y, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC) for y in (year, year + 1))  # type: ignore[return-value]


def next_number(agency: OrgUnit, year: int) -> str:
    """"12/PXL-SXD": the agency's next number of the year. The caller holds the agency's row lock (PostgreSQL),
    so two slips of one agency written at once never share a number; the year restarts at 1."""
    start, end = _year_bounds(year)
    numbers = db.session.scalars(
        select(ApologySlip.number).join(Dossier)
        .where(Dossier.agency_id == agency.id, ApologySlip.created_at >= start, ApologySlip.created_at < end))
    highest = max((int(n.split("/", 1)[0]) for n in numbers if n.split("/", 1)[0].isdigit()), default=0)
    return f"{highest + 1}/PXL-{agency.code}"


def place_of(agency: OrgUnit) -> str:
    """The place written before the date ("Khánh Hòa"): the province in the agency's address, else in its name
    or its parents' names; empty when none says it."""
    unit: OrgUnit | None = agency
    texts = [agency.address or ""]
    while unit is not None:
        texts.append(unit.name)
        unit = unit.parent
    for text in texts:
        match = _PLACE.search(text)
        if match:
            return match.group(1).strip()
    return ""


# Model moves (refuse what is illegal) ----------------------------------------------------------------------------

# Services -------------------------------------------------------------------------------------------------------

def _text(raw: str | None, field: str, limit: int, errors: dict[str, str]) -> str:
    value, refused = clean_text(raw or "")
    if refused:
        errors[field] = _("Có ký tự điều khiển hoặc ký tự ẩn không hợp lệ. Hãy gõ lại.")
    elif not value:
        errors[field] = _("Vui lòng nhập nội dung này.")
    elif len(value) > limit:
        errors[field] = _("Dài quá %(limit)d ký tự. Hãy rút gọn.", limit=limit)
    return value


def create_slip(user: User, dossier: Dossier, *, reason: str, extra_days: int | None, signer_name: str,
                signer_title: str, now: datetime | None = None) -> ApologySlip:
    """Write a slip: the reason, the extra working days, the new date on the calendar, the signer."""
    _allowed(user, "create", dossier)
    now = now or utcnow()
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", REASON_MAX, errors)
    signer_name = _text(signer_name, "signer_name", SIGNER_MAX, errors)
    signer_title = _text(signer_title, "signer_title", SIGNER_MAX, errors)
    if extra_days is None or not EXTRA_DAYS_MIN <= extra_days <= EXTRA_DAYS_MAX:
        errors["extra_working_days"] = _("Số ngày làm việc gia hạn phải là số nguyên từ %(lo)d đến %(hi)d.",
                                         lo=EXTRA_DAYS_MIN, hi=EXTRA_DAYS_MAX)
    if errors:
        raise SlipInputError(errors)
    today = local_date(now)
    with one_commit(dossier.code):
        # The agency's row lock serialises slips of one agency (numbers) and of one dossier (one per promise).
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.id == dossier.agency_id).with_for_update())
        db.session.refresh(dossier, ["slips"])
        refused = refusal(dossier)
        if refused:
            raise IllegalTransition(refused)
        missed, why = missed_date(dossier), ground(dossier, today)
        slip = ApologySlip(dossier=dossier, number=next_number(agency, today.year), reason=reason,
                           original_appointment_date=missed, extra_working_days=extra_days,
                           new_appointment_date=new_appointment_date(agency.id, missed, today, extra_days),
                           signer_name=signer_name, signer_title=signer_title, created_by_id=user.id,
                           created_at=now)
        db.session.add(slip)
        db.session.flush()
        record(user, "apology_slip.create", slip, dossier=dossier.code, number=slip.number,
               ground=why, original_date=missed.isoformat(), extra_working_days=extra_days,
               new_date=slip.new_appointment_date.isoformat())
    return slip


def record_delivery(user: User, slip: ApologySlip, *, method: str, delivered_at: datetime | None = None,
                    now: datetime | None = None) -> ApologySlip:
    """Record when and how the slip reached the citizen (counter, e-mail, SMS, post); flags a late delivery."""
    _allowed(user, "deliver", slip.dossier)
    now = now or utcnow()
    at = as_utc(delivered_at) if delivered_at is not None else now
    errors: dict[str, str] = {}
    if method not in SLIP_DELIVERY_METHODS:
        errors["method"] = _("Hãy chọn cách giao phiếu.")
    if user.role == "counter" and method != "counter":
        errors["method"] = _("Cán bộ một cửa chỉ ghi nhận việc giao phiếu tại quầy.")
    if at > now + timedelta(minutes=5):
        errors["delivered_at"] = _("Thời điểm giao phiếu không được ở tương lai.")
    elif local_date(at) < local_date(slip.created_at):
        errors["delivered_at"] = _("Thời điểm giao phiếu không được trước ngày lập phiếu (%(day)s).",
                                   day=f"{local_date(slip.created_at):%d/%m/%Y}")
    if errors:
        raise SlipInputError(errors)
    with one_commit(slip.number):
        db.session.refresh(slip, with_for_update=True)  # two clerks recording at once: the second is refused
        slip.deliver(at, method, user.id)
        record(user, "apology_slip.deliver", slip, dossier=slip.dossier.code, number=slip.number, method=method,
               delivered_at=slip.delivered_at.isoformat(), late=slip.delivered_late)
    return slip


def contacts(dossier: Dossier) -> tuple[str | None, str | None]:
    """The citizen's phone (0xxxxxxxxx) and e-mail the slip can be sent to, None where there is none."""
    email = (dossier.email or "").strip()
    return normalise_phone(dossier.phone), email if "@" in email else None


def send_slip(user: User, slip: ApologySlip, *, sms: bool, email: bool, now: datetime | None = None) -> ApologySlip:
    """Send the slip by SMS and/or e-mail (outbox rows) and record it delivered now, in one transaction."""
    dossier = slip.dossier
    _allowed(user, "send", dossier)
    now = now or utcnow()
    phone, address = contacts(dossier)
    if not phone and not address:
        raise SlipInputError({"channels": _(
            "Hồ sơ không có số điện thoại và địa chỉ e-mail của người nộp: không gửi được phiếu. Hãy giao phiếu tại "
            "quầy hoặc qua bưu chính rồi ghi nhận việc giao.")})
    if not sms and not email:
        raise SlipInputError({"channels": _("Hãy chọn gửi bằng tin nhắn SMS, e-mail hoặc cả hai.")})
    if sms and not phone:
        raise SlipInputError({"channels": _("Hồ sơ không có số điện thoại hợp lệ của người nộp: chỉ gửi được "
                                            "bằng e-mail.")})
    if email and not address:
        raise SlipInputError({"channels": _("Hồ sơ không có địa chỉ e-mail của người nộp: chỉ gửi được bằng "
                                            "tin nhắn SMS.")})
    with one_commit(slip.number):
        db.session.refresh(slip, with_for_update=True)
        # Delivered first: a slip already delivered is refused before anything is queued.
        slip.deliver(now, "email" if email else "sms", user.id)
        if sms:
            enqueue_sms(phone, sms_text(slip), kind="apology_slip", agency_id=dossier.agency_id, entity=slip,
                        dedupe_key=f"apology-slip-sms:{slip.id}")
        if email:
            subject, body = email_text(slip)
            enqueue_email(address, subject, body, kind="apology_slip", entity=slip,
                          dedupe_key=f"apology-slip-email:{slip.id}")
        record(user, "apology_slip.send", slip, dossier=dossier.code, number=slip.number, sms=sms, email=email,
               late=slip.delivered_late)
    return slip


# Texts ----------------------------------------------------------------------------------------------------------

def ascii_only(agency_id: int) -> bool:
    """Whether SMS of this agency go without diacritics (its own setting, else SMS_ASCII_ONLY)."""
    setting = db.session.get(AgencySmsSettings, agency_id)
    if setting is not None and setting.ascii_only is not None:
        return setting.ascii_only
    return bool(current_app.config.get("SMS_ASCII_ONLY"))


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics ("Hồ sơ" -> "Ho so"): 160 GSM characters a segment instead of 70."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def sms_text(slip: ApologySlip) -> str:
    """The short SMS: agency short name, dossier code, the apology, the new date (templates/sms/apology.txt)."""
    agency = slip.dossier.agency
    text = " ".join(render_template("sms/apology.txt", slip=slip, dossier=slip.dossier,
                                    agency_name=agency.short_name or agency.name).split())
    return strip_diacritics(text) if ascii_only(agency.id) else text


def email_text(slip: ApologySlip) -> tuple[str, str]:
    """Subject and body of the e-mail: the slip's full text (templates/email/apology.txt)."""
    from .slip_docx import slip_content  # the document's words, shared by DOCX, HTML and e-mail

    subject = f"Phiếu xin lỗi và hẹn lại ngày trả kết quả hồ sơ {slip.dossier.code}"
    return subject, render_template("email/apology.txt", slip=slip, doc=slip_content(slip))


# Lists ----------------------------------------------------------------------------------------------------------

LIST_LIMIT = 200


def due_without_slip(user: User, today: date, within_days: int) -> list[tuple[Dossier, date]]:
    """What the office must write first, with the date each one misses: dossiers not returned whose promise (the
    appointment date, or the last slip's new date) is passed or within `within_days` working days and has no slip
    waiting to be handed over; and late dossiers (returned late in the last 30 days, or asked for supplements more
    than once) without any slip. The earliest promise first."""
    horizon = current_calendar().add_working_days(datetime.combine(today, time(12), LOCAL_TZ), within_days)
    limit_day = horizon.astimezone(LOCAL_TZ).date()
    of_dossier = ApologySlip.dossier_id == Dossier.id
    has_slip = select(ApologySlip.id).where(of_dossier).exists()
    waiting = select(ApologySlip.id).where(of_dossier, ApologySlip.delivered_at.is_(None)).exists()
    promise = func.coalesce(select(func.max(ApologySlip.new_appointment_date)).where(of_dossier).scalar_subquery(),
                            Dossier.appointment_date)
    open_due = Dossier.returned_date.is_(None) & (promise <= limit_day) & ~waiting
    late = ~has_slip & (((Dossier.returned_date.is_not(None)) & (Dossier.returned_date > Dossier.appointment_date)
                         & (Dossier.returned_date >= today - timedelta(days=30)))
                        | (Dossier.returned_date.is_(None) & (Dossier.supplement_count > 1)))
    rows = db.session.execute(
        select(Dossier, promise).where(scope_condition(user), Dossier.status != "cancelled", open_due | late)
        .order_by(promise, Dossier.id).limit(LIST_LIMIT))
    return [(dossier, day) for dossier, day in rows]


def undelivered_slips(user: User) -> list[ApologySlip]:
    """Slips written but not handed over yet, the most urgent (earliest missed date) first."""
    return list(db.session.scalars(
        select(ApologySlip).join(Dossier).where(scope_condition(user), ApologySlip.delivered_at.is_(None))
        .options(contains_eager(ApologySlip.dossier))  # the list shows each slip's dossier: no query per row
        .order_by(ApologySlip.original_appointment_date, ApologySlip.id).limit(LIST_LIMIT)))


def late_deliveries(user: User, year: int) -> tuple[list[ApologySlip], int, int]:
    """Slips of a year delivered after the original appointment date (newest first, at most LIST_LIMIT), how many
    there are, and how many slips that year were delivered at all (the share the office reports)."""
    start, end = _year_bounds(year)
    where = (scope_condition(user), ApologySlip.created_at >= start, ApologySlip.created_at < end,
             ApologySlip.delivered_at.is_not(None))
    late = list(db.session.scalars(
        select(ApologySlip).join(Dossier).where(*where, ApologySlip.delivered_late.is_(True))
        .options(contains_eager(ApologySlip.dossier))
        .order_by(ApologySlip.delivered_at.desc(), ApologySlip.id.desc()).limit(LIST_LIMIT)))
    late_count, delivered = db.session.execute(
        select(func.count(ApologySlip.id).filter(ApologySlip.delivered_late.is_(True)), func.count(ApologySlip.id))
        .join(Dossier).where(*where)).one()
    return late, late_count or 0, delivered or 0
