"""The hotline log: record a call as the operator wrote it down, read the log within one's scope, turn a call
into a PAKN (or a khiếu nại / tố cáo to be referred), export the log.

Who sees what (Nghị định 13/2023 on personal data): the operator, the office and administrators see the caller's
name and number on one call; every list and the XLSX export show the number masked; a viewer reads the log of
its scope without the caller's name and with the number masked.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, select, true, update

from ..audit import record
from ..complaints.access import agency_of
from ..complaints.errors import ComplaintInputError
from ..complaints.intake import Intake, Sender, file_complaint
from ..extensions import db
from ..labels import HOTLINE_OUTCOME_LABELS, label_of
from ..models import Complaint, HotlineCall, User
from ..parsing import clean_text
from ..phones import mask_phone, normalise_phone
from ..scoping import unit_with_descendants, visible_unit_ids
from ..timeutil import (
    FIRST_YEAR,
    LAST_YEAR,
    LOCAL_TZ,
    DateOutOfRange,
    as_utc,
    format_datetime,
    in_range,
    to_local,
    utcnow,
)

OPERATOR_ROLES = ("admin", "office", "hotline")  # log calls, convert them, see the caller on one call
READ_ROLES = OPERATOR_ROLES + ("viewer",)
# Outcomes the operator picks when logging; "pakn" is set only by turning the call into a PAKN.
LOGGED_OUTCOMES = ("answered", "transferred", "not_pakn", "dropped")
TOPIC_MAX, NOTES_MAX, NAME_MAX = 200, 5000, 120
MAX_DURATION_SECONDS = 6 * 3600  # a longer "call" is a typing mistake
CLOCK_SKEW = timedelta(minutes=5)
PAGE_SIZE = 50
_DURATION_MMSS = re.compile(r"(\d{1,3}):([0-5]\d)")
_DURATION_MINUTES = re.compile(r"(\d{1,3})(?:[.,](\d{1,2}))?")


class CallNotFound(LookupError):
    """No call with this id in the user's scope (answered 404: its existence is not disclosed)."""


class CallAlreadyConverted(ComplaintInputError):
    """The call has already become a PAKN (another click or another operator got there first)."""

    def __init__(self, code: str | None) -> None:
        super().__init__({"call": _("Cuộc gọi này đã được chuyển thành PAKN %(code)s; không tạo thêm lần nữa.",
                                    code=code or "")})
        self.code = code


# --- reading what people type ---------------------------------------------------------------------------------


def parse_duration(raw: str) -> int | None:
    """Seconds from "mm:ss" or a number of minutes ("7", "7,5"); None when empty. ValueError when neither."""
    text = (raw or "").strip()
    if not text:
        return None
    if match := _DURATION_MMSS.fullmatch(text):
        seconds = int(match.group(1)) * 60 + int(match.group(2))
    elif match := _DURATION_MINUTES.fullmatch(text):
        fraction = match.group(2) or "0"
        seconds = int(match.group(1)) * 60 + round(int(fraction) * 60 / 10 ** len(fraction))
    else:
        raise ValueError(text)
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(text)
    return seconds


def format_duration(seconds: int | float | None) -> str:
    """mm:ss (or h:mm:ss) of a number of seconds; empty when unknown."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def parse_local_datetime(raw: str) -> datetime:
    """A local "dd/mm/yyyy HH:MM" (or the browser's "yyyy-mm-ddTHH:MM") as a UTC instant. ValueError otherwise;
    DateOutOfRange (a ValueError) for a year the working calendar does not cover (a PAKN made of the call could
    not have its deadlines counted)."""
    text = (raw or "").strip()
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            local = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not in_range(local):
            raise DateOutOfRange(text)
        return as_utc(local.replace(tzinfo=LOCAL_TZ))
    raise ValueError(text)


def now_local_text() -> str:
    """The current local time as the form shows it."""
    return format_datetime(utcnow())


# --- scope -------------------------------------------------------------------------------------------------------


def call_units(user: User) -> set[int] | None:
    """Agencies whose calls the user reads; None for every agency (administrators). The operator and the office
    read their agency's log (with what was merged into it); a viewer reads its own scope."""
    if user.role == "admin":
        return None
    if user.role == "viewer":
        return visible_unit_ids(user)
    return unit_with_descendants([agency_of(user.org_unit_id)])


def call_condition(user: User) -> ColumnElement[bool]:
    """The calls a user may read, as a WHERE condition."""
    units = call_units(user)
    return true() if units is None else HotlineCall.agency_id.in_(sorted(units))


def sees_caller(user: User) -> bool:
    """Whether the user sees the caller's name and full number when opening one call."""
    return user.role in OPERATOR_ROLES


def get_call(user: User, call_id: int, lock: bool = False) -> HotlineCall:
    """One call inside the user's scope; CallNotFound otherwise. `lock` takes the row lock on PostgreSQL."""
    stmt = select(HotlineCall).where(HotlineCall.id == call_id, call_condition(user))
    if lock and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
        call = db.session.scalars(stmt.execution_options(populate_existing=True)).first()
    else:
        call = db.session.scalars(stmt).first()
    if call is None:
        raise CallNotFound(call_id)
    return call


# --- logging a call ----------------------------------------------------------------------------------------------


@dataclass
class CallEntry:
    """A call as the operator typed it: time and duration as text, read here."""

    started_at: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    duration: str = ""
    topic: str = ""
    notes: str = ""
    outcome: str = "answered"


def _clean(errors: dict[str, str], name: str, raw: str, limit: int, required: bool = False,
           required_message: str | None = None) -> str:
    text, refused = clean_text(raw or "")
    if refused:
        errors[name] = _("Có ký tự điều khiển hoặc ký tự ẩn không hợp lệ. Hãy gõ lại nội dung này.")
    elif required and not text:
        errors[name] = required_message or _("Vui lòng nhập mục này.")
    elif len(text) > limit:
        errors[name] = _("Dài quá %(limit)d ký tự (hiện có %(n)d). Hãy rút gọn.", limit=limit, n=len(text))
    return text


def validate_call(entry: CallEntry) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned values and the messages of what to fix, per field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "caller_name": _clean(errors, "caller_name", entry.caller_name, NAME_MAX),
        "topic": _clean(errors, "topic", entry.topic, TOPIC_MAX, required=True,
                        required_message=_("Hãy ghi chủ đề cuộc gọi (một dòng ngắn).")),
        "notes": _clean(errors, "notes", entry.notes, NOTES_MAX, required=True,
                        required_message=_("Hãy ghi lại trung thực nội dung người gọi trình bày (pháp luật yêu cầu "
                                           "ghi chép đầy đủ phản ánh, kiến nghị qua điện thoại).")),
    }
    try:
        started_at = parse_local_datetime(entry.started_at)
    except DateOutOfRange:
        errors["started_at"] = _("Thời điểm gọi phải từ 01/01/%(first)d đến nay; nhập theo dạng dd/mm/yyyy HH:MM, "
                                 "ví dụ 02/11/2026 08:30.", first=FIRST_YEAR)
    except ValueError:
        errors["started_at"] = _("Nhập thời điểm gọi theo dạng dd/mm/yyyy HH:MM, ví dụ 02/11/2026 08:30.")
    else:
        if started_at > utcnow() + CLOCK_SKEW:
            errors["started_at"] = _("Thời điểm gọi không thể ở tương lai.")
        values["started_at"] = started_at
    phone = (entry.caller_phone or "").strip()
    values["caller_phone"] = normalise_phone(phone) if phone else None
    if phone and not values["caller_phone"]:
        errors["caller_phone"] = _("Số điện thoại người gọi chưa đúng. Hãy nhập 10 chữ số, ví dụ 0905 123 456 "
                                   "(hoặc +84 905 123 456); để trống nếu không hiện số.")
    try:
        values["duration_seconds"] = parse_duration(entry.duration)
    except ValueError:
        errors["duration"] = _("Thời lượng chưa đúng. Nhập phút:giây (ví dụ 04:30) hoặc số phút (ví dụ 5), "
                               "tối đa 6 giờ.")
    if entry.outcome not in LOGGED_OUTCOMES:
        errors["outcome"] = _("Hãy chọn kết quả cuộc gọi.")
    values["outcome"] = entry.outcome
    return values, errors


def log_call(user: User, entry: CallEntry) -> HotlineCall:
    """Validate and store one call of the user's agency, with its audit row; commits once.
    ComplaintInputError (one message per field) when something must be fixed; nothing is stored then."""
    values, errors = validate_call(entry)
    if errors:
        raise ComplaintInputError(errors)
    try:
        values["caller_name"] = values["caller_name"] or None
        call = HotlineCall(agency_id=agency_of(user.org_unit_id), operator_id=user.id, **values)
        db.session.add(call)
        db.session.flush()
        record(user, "hotline.log", call, outcome=call.outcome, duration_seconds=call.duration_seconds)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return call


# --- a call becomes a PAKN ---------------------------------------------------------------------------------------


def call_to_complaint(user: User, call_id: int, kind: str, nature: str = "pakn", address: str = "",
                      consent: bool = False) -> Complaint:
    """File the call as a PAKN (channel hotline) carrying what the caller said, received at the call's start;
    a khiếu nại or tố cáo is filed with its nature so that the office refers it. Commits once.

    A call becomes at most one item, even for two clicks at the same moment: the call's row is locked
    (PostgreSQL; SQLite's writers are serialised anyway) and the link is written only WHERE complaint_id IS NULL.
    CallNotFound outside the user's scope; CallAlreadyConverted; ComplaintInputError for what to fix."""
    try:
        call = get_call(user, call_id, lock=True)
        if call.complaint_id is not None:
            raise CallAlreadyConverted(db.session.scalar(select(Complaint.code)
                                                         .where(Complaint.id == call.complaint_id)))
        if not in_range(to_local(call.started_at)):  # logged before such dates were refused
            raise ComplaintInputError({"started_at": _(
                "Cuộc gọi ghi ngày %(day)s, ngoài các năm %(first)d–%(last)d mà lịch làm việc tính được hạn: "
                "không thể chuyển thành PAKN. Hãy ghi lại cuộc gọi với ngày đúng.",
                day=format_datetime(call.started_at), first=FIRST_YEAR, last=LAST_YEAR)})
        intake = Intake(
            agency_id=call.agency_id, kind=kind, nature=nature, channel="hotline", content=call.notes,
            title=call.topic, received_at=as_utc(call.started_at), consent=consent,
            sender=Sender(name=call.caller_name or "", address=address, phone=call.caller_phone or ""),
        )
        try:
            complaint, _secret = file_complaint(intake, user)  # no e-mail given here: the secret goes nowhere
        except ComplaintInputError as error:
            raise ComplaintInputError(_call_errors(error.errors)) from error
        linked = db.session.execute(
            update(HotlineCall).where(HotlineCall.id == call.id, HotlineCall.complaint_id.is_(None))
            .values(complaint_id=complaint.id, outcome="pakn").execution_options(synchronize_session=False))
        if linked.rowcount != 1:
            db.session.rollback()
            raise CallAlreadyConverted(None)
        record(user, "hotline.to_complaint", call, complaint=complaint.code, nature=nature, kind=kind)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return complaint


# Intake's field names for what the call already holds, and the form's names for them.
_INTAKE_FIELDS = {"name": "caller_name", "phone": "caller_phone", "content": "notes", "title": "topic",
                  "received_at": "started_at"}


def _call_errors(errors: dict[str, str]) -> dict[str, str]:
    """Intake's messages named after the call's fields; consent in the operator's words."""
    result = {_INTAKE_FIELDS.get(k, k): v for k, v in errors.items()}
    if "consent" in result:
        result["consent"] = _("Hãy hỏi người gọi có đồng ý cho cơ quan dùng họ tên, địa chỉ và số điện thoại để trả "
                              "lời không, rồi đánh dấu ô này. Không có sự đồng ý, không thể chuyển cuộc gọi thành "
                              "PAKN mang thông tin người gọi.")
    return result


# --- the log -----------------------------------------------------------------------------------------------------


@dataclass
class LogFilter:
    """The list's filters, as read from the query string (errors say which one was not understood)."""

    date_from: date | None = None
    date_to: date | None = None
    outcome: str = ""
    q: str = ""


def _local_start(day: date) -> datetime:
    return as_utc(datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ))


def log_query(user: User, filters: LogFilter) -> Select[tuple[HotlineCall]]:
    """The calls the user may read that match the filters, newest first."""
    stmt = select(HotlineCall).where(call_condition(user))
    if filters.date_from:
        stmt = stmt.where(HotlineCall.started_at >= _local_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(HotlineCall.started_at < _local_start(filters.date_to + timedelta(days=1)))
    if filters.outcome:
        stmt = stmt.where(HotlineCall.outcome == filters.outcome)
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(HotlineCall.topic).like(func.lower(pattern), escape="\\"))
    return stmt.order_by(HotlineCall.started_at.desc(), HotlineCall.id.desc())


def log_page(user: User, filters: LogFilter, page: int) -> tuple[list[HotlineCall], int]:
    """One page of the log and the number of matching calls."""
    stmt = log_query(user, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.scalars(stmt.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)).all()
    return list(rows), total


@dataclass
class MonthSummary:
    """This month's calls by outcome and their average duration."""

    month: date
    total: int
    by_outcome: dict[str, int]
    average_seconds: float | None


def month_summary(user: User, now: datetime | None = None) -> MonthSummary:
    """Calls of the current local month in the user's scope."""
    today = to_local(now or utcnow()).date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    in_month = (call_condition(user), HotlineCall.started_at >= _local_start(first),
                HotlineCall.started_at < _local_start(following))
    counts = dict(db.session.execute(select(HotlineCall.outcome, func.count(HotlineCall.id)).where(*in_month)
                                     .group_by(HotlineCall.outcome)).tuples().all())
    average = db.session.scalar(select(func.avg(HotlineCall.duration_seconds)).where(*in_month))
    return MonthSummary(first, sum(counts.values()), {o: counts.get(o, 0) for o in HOTLINE_OUTCOME_LABELS},
                        float(average) if average is not None else None)


EXPORT_LIMIT = 50_000


def export_log(user: User, filters: LogFilter) -> bytes:
    """The filtered log as an XLSX workbook. Phone numbers are always masked (a file travels: the full number is
    read on one call's page only); a viewer gets no caller names. Recorded in the audit log (it carries names)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    with_name = sees_caller(user)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Nhật ký đường dây nóng")[:31]
    headers = [_("Thời điểm gọi"), _("Thời lượng"), _("Người gọi"), _("Số điện thoại"), _("Chủ đề"),
               _("Nội dung"), _("Kết quả"), _("Mã PAKN")]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    codes = dict(db.session.execute(select(Complaint.id, Complaint.code).join(
        HotlineCall, HotlineCall.complaint_id == Complaint.id).where(call_condition(user))).tuples().all())
    count = 0
    for call in db.session.scalars(log_query(user, filters).limit(EXPORT_LIMIT)):
        sheet.append([
            to_local(call.started_at).replace(tzinfo=None), format_duration(call.duration_seconds),
            (call.caller_name or "") if with_name else "",
            mask_phone(call.caller_phone),
            call.topic, call.notes, label_of(HOTLINE_OUTCOME_LABELS, call.outcome),
            codes.get(call.complaint_id, "") if call.complaint_id else "",
        ])
        sheet.cell(row=sheet.max_row, column=1).number_format = "dd/mm/yyyy hh:mm"
        count += 1
    for column, width in zip("ABCDEFGH", (17, 10, 24, 14, 36, 60, 18, 16), strict=True):
        sheet.column_dimensions[column].width = width
    record(user, "hotline.export", None, rows=count, with_name=with_name)
    db.session.commit()
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
