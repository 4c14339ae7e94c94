"""Open311 GeoReport v2 over the PAKN queue: the services (one per PAKN kind), API keys, filing through the
common intake, and the public view of an item.

What leaves here is public: the code, the kind, the state, the agency, the dates, the deadline and — once the
office has published it — the text it published and its answer. Never the sender's identity, never the content
as written (it may hold personal data): ``description`` is the published text only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..labels import COMPLAINT_KIND_LABELS
from ..models import ApiKey, Complaint, ComplaintEvent, OrgUnit
from ..models.api_key import hash_key
from ..models.complaint import KINDS
from ..timeutil import FIRST_YEAR, LAST_YEAR, LOCAL_TZ, as_utc, format_date, in_range, utcnow
from .serialise import iso

MAX_RESULTS = 1000
DEFAULT_DAYS = 90
KEY_TOUCH_SECONDS = 60  # last_used_at is written at most once a minute per key
# Open311 "closed": the sender has been given the outcome (answered, not accepted, forwarded…) or the item is done.
CLOSED_STATES = ("notified", "published", "closed")
TRUE_VALUES = ("true", "1", "yes", "on", "y", "co", "có")
# The intake's field names as an Open311 client knows them.
FIELD_NAMES = {"content": "description", "name": "first_name/last_name", "address": "address_string",
               "phone": "phone", "email": "email", "consent": "attribute[consent]",
               "dossier_code": "attribute[dossier_code]", "kind": "service_code"}

SERVICE_TEXTS = {
    "phan_anh": (_l("Phản ánh về quy định hành chính hoặc cách cơ quan, cán bộ giải quyết thủ tục hành chính "
                    "(trễ hẹn, nhũng nhiễu, yêu cầu sai quy định…)."),
                 "phản ánh,trễ hẹn,thủ tục hành chính,cán bộ"),
    "kien_nghi": (_l("Kiến nghị sửa đổi, bổ sung quy định hành chính hoặc cách tổ chức giải quyết thủ tục."),
                  "kiến nghị,quy định,đề xuất"),
    "gop_y": (_l("Góp ý chung cho cơ quan; có thể gửi ẩn danh (không tính hạn giải quyết theo luật)."),
              "góp ý,ý kiến,ẩn danh"),
}


class Open311Error(Exception):
    """An answer in the spec's error format: the HTTP status and one description per problem."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions)


# --- services ---------------------------------------------------------------------------------------------------

def service_list() -> list[dict[str, Any]]:
    """One service per PAKN kind."""
    return [{
        "service_code": kind,
        "service_name": str(COMPLAINT_KIND_LABELS[kind]),
        "description": str(SERVICE_TEXTS[kind][0]),
        "metadata": True,
        "type": "realtime",
        "keywords": SERVICE_TEXTS[kind][1],
        "group": _("Phản ánh, kiến nghị"),
    } for kind in KINDS]


def service_definition(code: str) -> dict[str, Any]:
    """The extra fields a request may carry; 404 for an unknown service."""
    if code not in KINDS:
        raise Open311Error(404, _("Không có dịch vụ có mã này."))
    return {"service_code": code, "attributes": [
        {"variable": False, "code": "sender", "datatype": "string", "required": False,
         "datatype_description": "", "order": 1,
         "description": _("Họ tên (first_name, last_name), địa chỉ (address_string) và số điện thoại (phone) của "
                          "người gửi: đủ cả ba thì đây là phản ánh, kiến nghị theo Nghị định 20/2008 và được "
                          "giải quyết trong thời hạn luật định; thiếu thì là góp ý ẩn danh.")},
        {"variable": True, "code": "consent", "datatype": "singlevaluelist", "required": False,
         "datatype_description": _("Bắt buộc khi gửi kèm họ tên, địa chỉ, điện thoại hoặc thư điện tử."),
         "order": 2,
         "description": _("Người gửi đồng ý cho cơ quan dùng thông tin liên hệ chỉ để trả lời phản ánh, kiến nghị "
                          "này (Nghị định 13/2023/NĐ-CP)."),
         "values": [{"key": "true", "name": _("Đồng ý")}]},
        {"variable": True, "code": "dossier_code", "datatype": "string", "required": False,
         "datatype_description": _("Mã hồ sơ thủ tục hành chính, nếu có."), "order": 3,
         "description": _("Mã hồ sơ")},
    ]}


# --- keys ---------------------------------------------------------------------------------------------------------

def key_from(presented: str | None) -> ApiKey:
    """The active key presented (form field or header), found by its hash; 403 otherwise."""
    presented = (presented or "").strip()
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented))) if presented else None
    if key is None or not key.active:
        raise Open311Error(403, _("Khóa API không hợp lệ hoặc đã bị thu hồi."))
    if key.scope != "open311":  # a one-stop system's dossier key files no PAKN
        raise Open311Error(403, _("Khóa API này không dùng cho Open311 (phạm vi của khóa: %(scope)s).",
                                  scope=key.scope))
    return key


def touch(key: ApiKey, now: datetime | None = None) -> None:
    """Remember when a key was last used, at most once a minute (written with the request's change)."""
    now = now or utcnow()
    if key.last_used_at is None or now - as_utc(key.last_used_at) >= timedelta(seconds=KEY_TOUCH_SECONDS):
        key.last_used_at = now


def agency_for(key: ApiKey) -> OrgUnit:
    """Where the key's requests go: its agency, or the installation's single Sở when it names none."""
    if key.agency_id is not None:
        return key.agency
    agencies = db.session.scalars(select(OrgUnit).where(OrgUnit.unit_type == "so", OrgUnit.valid_to.is_(None))
                                  .limit(2)).all()
    if len(agencies) != 1:
        raise Open311Error(403, _("Khóa API này chưa gắn với cơ quan nhận phản ánh. Hãy liên hệ quản trị viên."))
    return agencies[0]


# --- filing -------------------------------------------------------------------------------------------------------

def _attribute(form: Mapping[str, str], name: str) -> str:
    return (form.get(f"attribute[{name}]") or "").strip()


def intake_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The intake's values from the request's fields (lat, long, media_url, device_id are not kept)."""
    code = (form.get("service_code") or "").strip()
    if code not in KINDS:
        raise Open311Error(400, _("service_code: hãy chọn một dịch vụ có trong danh sách services."))
    if not (form.get("description") or "").strip():
        raise Open311Error(400, _("description: vui lòng nhập nội dung phản ánh, kiến nghị."))
    name = " ".join(p for p in ((form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()) if p)
    return {"kind": code, "content": form.get("description") or "", "name": name,
            "address": form.get("address_string") or "", "phone": form.get("phone") or "",
            "email": form.get("email") or "", "consent": _attribute(form, "consent").lower() in TRUE_VALUES,
            "dossier_code": _attribute(form, "dossier_code")}


def input_errors(errors: Mapping[str, str]) -> Open311Error:
    """The intake's refusals, one description per field, named as the client sent them."""
    return Open311Error(400, *(f"{FIELD_NAMES.get(k, k)}: {v}" for k, v in errors.items()))


def service_notice(complaint: Complaint) -> str:
    """What the sender is told on filing and while it runs."""
    if complaint.answer_due_at is not None:
        return _("Đã tiếp nhận với mã %(code)s. Hạn trả lời: %(day)s.", code=complaint.code,
                 day=format_date(complaint.answer_due_at))
    return _("Đã tiếp nhận với mã %(code)s (góp ý, không tính hạn giải quyết theo luật).", code=complaint.code)


# --- following ----------------------------------------------------------------------------------------------------

def _status(complaint: Complaint) -> str:
    return "closed" if complaint.state in CLOSED_STATES else "open"


def _short_status(complaint: Complaint) -> str:
    if complaint.outcome == "not_accepted":
        return _("Không thụ lý.")
    if complaint.outcome in ("forwarded", "referred"):
        return _("Đã chuyển cơ quan có thẩm quyền.")
    if complaint.outcome == "duplicate":
        return _("Trùng nội dung với một phản ánh đang xử lý.")
    if complaint.outcome == "withdrawn":
        return _("Người gửi đã rút.")
    if complaint.state == "received":
        return _("Đã tiếp nhận, chờ phân loại.")
    if complaint.state in CLOSED_STATES:
        return _("Đã trả lời người gửi.")
    return _("Đang xử lý.")


def _published(complaint: Complaint) -> bool:
    return complaint.published_at is not None and bool(complaint.published_text)


def _patterns(complaint: Complaint) -> list[re.Pattern[str]]:
    """The sender's identity as it might appear in a text staff published (they should have removed it)."""
    found = []
    for value in (complaint.sender_email, complaint.sender_address, complaint.sender_name):
        if value and len(value.strip()) >= 4:
            found.append(re.compile(re.escape(value.strip()), re.IGNORECASE))
    digits = re.sub(r"\D", "", complaint.sender_phone or "")
    if len(digits) >= 4:
        local = digits[1:] if digits.startswith("0") else digits
        found.append(re.compile(r"(?:\+?84|0)[\s.\-]?" + r"[\s.\-]?".join(map(re.escape, local))))
    return found


def scrub(text: str | None, complaint: Complaint) -> str:
    """A published text with any leftover trace of the sender replaced."""
    text = text or ""
    for pattern in _patterns(complaint):
        text = pattern.sub("[…]", text)
    return text


def request_record(complaint: Complaint, updated_at: datetime | None) -> dict[str, Any]:
    """One item as the spec's service request, in the spec's order: nothing personal."""
    published = _published(complaint)
    return {
        "service_request_id": complaint.code,
        "status": _status(complaint),
        "status_notes": scrub(complaint.published_answer, complaint) if published and complaint.published_answer
        else _short_status(complaint),
        "service_name": str(COMPLAINT_KIND_LABELS.get(complaint.kind, complaint.kind)),
        "service_code": complaint.kind,
        "description": scrub(complaint.published_text, complaint) if published else "",
        "agency_responsible": complaint.agency.name if complaint.agency else "",
        "service_notice": service_notice(complaint) if complaint.state not in CLOSED_STATES else "",
        "requested_datetime": iso(complaint.received_at),
        "updated_datetime": iso(updated_at or complaint.received_at),
        "expected_datetime": iso(complaint.answer_due_at),
        "address": "", "address_id": "", "zipcode": "", "lat": "", "long": "", "media_url": "",
    }


@dataclass
class RequestQuery:
    codes: list[str]
    kinds: list[str]
    start: datetime | None
    end: datetime | None
    statuses: list[str]


def _parse_instant(raw: str, name: str) -> datetime:
    text = raw.strip().replace(" ", "+")  # an unencoded "+" arrives as a space
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, _("%(name)s: thời điểm không đúng dạng ISO 8601, ví dụ 2026-02-13T18:00:00+07:00.",
                                  name=name)) from None
    if not in_range(value):  # also keeps year 1 and 9999 away from an overflow when moved to UTC
        raise Open311Error(400, _("%(name)s: thời điểm phải nằm trong các năm %(first)d–%(last)d, ví dụ "
                                  "2026-02-13T18:00:00+07:00.", name=name, first=FIRST_YEAR, last=LAST_YEAR))
    return as_utc(value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ))


def _list(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def parse_query(args: Mapping[str, str]) -> RequestQuery:
    """The filters of GET requests; a bad value is a 400."""
    kinds, statuses = _list(args.get("service_code")), [s.lower() for s in _list(args.get("status"))]
    if any(k not in KINDS for k in kinds):
        raise Open311Error(400, _("service_code: không có dịch vụ có mã này."))
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, _("status: chỉ nhận open hoặc closed."))
    start = _parse_instant(args["start_date"], "start_date") if args.get("start_date") else None
    end = _parse_instant(args["end_date"], "end_date") if args.get("end_date") else None
    if start is None:  # the spec's default window: the last 90 days (before end_date when given)
        start = (end or utcnow()) - timedelta(days=DEFAULT_DAYS)
    return RequestQuery(codes=[c.upper() for c in _list(args.get("service_request_id"))][:MAX_RESULTS],
                        kinds=kinds, start=start, end=end, statuses=statuses)


def find_requests(query: RequestQuery) -> list[dict[str, Any]]:
    """Items matching the filters, newest first, at most 1000. With ids, the other filters are ignored."""
    stmt = select(Complaint).options(selectinload(Complaint.agency))
    if query.codes:
        stmt = stmt.where(Complaint.code.in_(query.codes))
    else:
        # A khiếu nại or tố cáo is referred under its own law (which protects a denouncer): followed by its
        # code only, never listed.
        stmt = stmt.where(Complaint.nature == "pakn")
        if query.kinds:
            stmt = stmt.where(Complaint.kind.in_(query.kinds))
        if query.start is not None:
            stmt = stmt.where(Complaint.received_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(Complaint.received_at <= query.end)
        if len(set(query.statuses)) == 1:
            closed = Complaint.state.in_(CLOSED_STATES)
            stmt = stmt.where(closed if query.statuses[0] == "closed" else ~closed)
    items = list(db.session.scalars(stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                    .limit(MAX_RESULTS)))
    return records(items)


def find_request(code: str) -> list[dict[str, Any]]:
    """One item by its code (the spec answers a list of one); 404 when there is none."""
    complaint = db.session.scalar(select(Complaint).where(Complaint.code == code.strip().upper())
                                  .options(selectinload(Complaint.agency)))
    if complaint is None:
        raise Open311Error(404, _("Không tìm thấy phản ánh, kiến nghị có mã này."))
    return records([complaint])


def records(items: list[Complaint]) -> list[dict[str, Any]]:
    """The items' records, with each one's last change read in one query."""
    ids = [c.id for c in items]
    updated: dict[int, datetime] = {}
    if ids:
        rows = db.session.execute(select(ComplaintEvent.complaint_id, func.max(ComplaintEvent.at))
                                  .where(ComplaintEvent.complaint_id.in_(ids)).group_by(ComplaintEvent.complaint_id))
        updated = {cid: as_utc(at) for cid, at in rows if at is not None}
    return [request_record(c, updated.get(c.id)) for c in items]
