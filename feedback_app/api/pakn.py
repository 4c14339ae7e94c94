"""Staff JSON API over the PAKN queue (session login, like the rest of /api/v1): what Open311 cannot express.

    GET  /api/v1/pakn                   the caller's queue (QueueFilter's filters), 50 a page
    GET  /api/v1/pakn/{id}              one item with its history
    POST /api/v1/pakn/{id}/{action}     one action: JSON body with ``version`` and the action's fields

CSRF: the API blueprint is exempt from the global form-token check, but a POST here changes data with the
staff session's cookie, which a browser sends along with a request forged by another site. So every POST must
carry the session's CSRF token in the ``X-CSRFToken`` header (checked with flask_wtf.csrf.validate_csrf), and
is refused with 400 otherwise. We chose to require the header rather than refuse POSTs altogether: staff tools
(the queue's script, a spreadsheet macro) need the actions, and the token is handed out in the ``X-CSRFToken``
header of every GET answer here, which another site cannot read (no CORS). A JSON body is required as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy import select
from wtforms.validators import ValidationError

from ..complaints import access, actions, deadlines
from ..complaints.errors import ComplaintInputError, NotAllowed, StaleComplaint
from ..complaints.forms import parse_day
from ..complaints.queries import PAGE_SIZE, QueueFilter, queue_page
from ..errors import problem
from ..extensions import db
from ..labels import COMPLAINT_CHANNEL_LABELS, COMPLAINT_KIND_LABELS, COMPLAINT_STATE_LABELS
from ..models import Complaint, User
from ..models.survey import IllegalTransition
from ..parsing import parse_id
from ..security import roles_required

FILTERS = ("state", "unit", "channel", "kind", "due", "q", "page", "lang")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _with_token(response: Any) -> Any:
    response.headers["X-CSRFToken"] = generate_csrf()
    return response


def _bad(errors: dict[str, str]) -> Any:
    return problem(400, "Bad Request", _("Tham số không hợp lệ."), errors)


def parse_filter(args: Mapping[str, str]) -> tuple[QueueFilter | None, dict[str, str]]:
    """The queue's filters; unknown names and values are refused (the pages ignore them, an API says so)."""
    errors = {name: _("Tham số không được hỗ trợ.") for name in sorted(set(args) - set(FILTERS))}
    f = QueueFilter()
    state = args.get("state", "open")
    if state not in ("open", "all", *COMPLAINT_STATE_LABELS):
        errors["state"] = _("Trạng thái không hợp lệ.")
    f.state = state
    for name, allowed in (("channel", COMPLAINT_CHANNEL_LABELS), ("kind", COMPLAINT_KIND_LABELS),
                          ("due", ("soon", "overdue"))):
        value = args.get(name, "")
        if value and value not in allowed:
            errors[name] = _("Giá trị không hợp lệ.")
        setattr(f, name, value)
    for name in ("unit", "page"):
        if args.get(name) is not None and parse_id(args.get(name)) is None:
            errors[name] = _("Phải là một số nguyên dương.")
    f.unit_id = parse_id(args.get("unit"))
    f.page = min(parse_id(args.get("page")) or 1, 10_000)
    f.q = (args.get("q") or "").strip()[:100]
    return (None if errors else f), errors


def item_json(user: User, complaint: Complaint) -> dict[str, Any]:
    """One item of the queue; the sender only for those access.sees_sender lets see it."""
    left = deadlines.time_left(complaint)
    body: dict[str, Any] = {
        "id": complaint.id, "code": complaint.code, "kind": complaint.kind, "nature": complaint.nature,
        "channel": complaint.channel, "state": complaint.state, "outcome": complaint.outcome,
        "legal": complaint.legal, "version": complaint.version,
        "unit": {"id": complaint.unit.id, "code": complaint.unit.code, "name": complaint.unit.name}
        if complaint.unit else None,
        "received_at": _iso(complaint.received_at), "due_at": _iso(deadlines.current_due(complaint)),
        "due_status": deadlines.due_status(complaint),
        "working_days_left": left.days if left is not None else None,
    }
    if access.sees_sender(user, complaint):
        body["sender"] = {"name": complaint.sender_name, "address": complaint.sender_address,
                          "phone": complaint.sender_phone, "email": complaint.sender_email}
    return body


def detail_json(user: User, complaint: Complaint) -> dict[str, Any]:
    """An item with its texts, deadlines, attachments and history."""
    names = {u.id: u.full_name for u in db.session.scalars(
        select(User).where(User.id.in_({e.user_id for e in complaint.events if e.user_id})))}
    return {
        **item_json(user, complaint),
        "title": complaint.title, "content": complaint.content, "dossier_code": complaint.dossier_code,
        "outcome_reason": complaint.outcome_reason, "forwarded_to": complaint.forwarded_to,
        "duplicate_of": complaint.duplicate_of.code if complaint.duplicate_of else None,
        "answer_text": complaint.answer_text, "published_text": complaint.published_text,
        "published_answer": complaint.published_answer,
        "share_identity": complaint.share_identity,
        "classify_due_at": _iso(complaint.classify_due_at), "answer_due_at": _iso(complaint.answer_due_at),
        "attachments": [{"id": a.id, "filename": a.filename, "mime": a.mime, "size": a.size}
                        for a in complaint.attachments],
        "events": [{"at": _iso(e.at), "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
                    "reason": e.reason, "user": names.get(e.user_id) if e.user_id else None}
                   for e in complaint.events],
    }


@roles_required(*access.QUEUE_ROLES)
def pakn_list() -> Any:
    """The caller's queue, the most urgent first."""
    f, errors = parse_filter(request.args)
    if f is None:
        return _bad(errors)
    items, total = queue_page(current_user, f)
    return _with_token(jsonify(items=[item_json(current_user, c) for c in items], total=total, page=f.page,
                               page_size=PAGE_SIZE, pages=max(1, -(-total // PAGE_SIZE))))


def _readable(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or not access.can_read(current_user, complaint):
        abort(404)  # outside the scope looks exactly like missing
    return complaint


@roles_required(*access.QUEUE_ROLES)
def pakn_detail(complaint_id: int) -> Any:
    """One item with its history."""
    return _with_token(jsonify(detail_json(current_user, _readable(complaint_id))))


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise ComplaintInputError({name: _("Phải là một chuỗi ký tự.")})
    return value


def _assign(u: User, c: Complaint, v: int | None, b: Mapping[str, Any]) -> Any:
    if not access.can(u, "assign", c):
        raise NotAllowed("assign")
    unit = parse_id(b.get("unit"))  # 10**30 or "²" is no unit: a 400 naming the field, not an overflow
    if unit is None:
        raise ComplaintInputError({"unit": _("Hãy chọn một đơn vị thuộc cơ quan.")})
    if v is not None and v != c.version:
        raise StaleComplaint(c.code)
    return actions.assign(u, [c], unit)


def _extend(u: User, c: Complaint, v: int | None, b: Mapping[str, Any]) -> Any:
    return actions.extend(u, c, v, parse_day(_text(b, "new_date")), _text(b, "reason"))


def _share(u: User, c: Complaint, v: int | None, b: Mapping[str, Any]) -> Any:
    if not isinstance(b.get("share"), bool):
        raise ComplaintInputError({"share": _("Phải là true hoặc false.")})
    return actions.share_identity(u, c, v, b["share"])


# action in the URL -> the service with the body's fields (the same services as the queue's pages)
ACTIONS: dict[str, Callable[[User, Complaint, int | None, Mapping[str, Any]], Any]] = {
    "classify": lambda u, c, v, b: actions.classify(u, c, v, _text(b, "decision"), _text(b, "reason"),
                                                   _text(b, "forwarded_to")),
    "assign": _assign,
    "draft": lambda u, c, v, b: actions.draft(u, c, v, _text(b, "answer_text")),
    "approve": lambda u, c, v, b: actions.approve(u, c, v),
    "return": lambda u, c, v, b: actions.return_draft(u, c, v, _text(b, "reason")),
    "notify": lambda u, c, v, b: actions.notify_sender(u, c, v),
    "publish": lambda u, c, v, b: actions.publish(u, c, v, _text(b, "published_text"),
                                                 _text(b, "published_answer")),
    "close": lambda u, c, v, b: actions.close(u, c, v),
    "extend": _extend,
    "duplicate": lambda u, c, v, b: actions.mark_duplicate(u, c, v, _text(b, "main_code")),
    "withdraw": lambda u, c, v, b: actions.withdraw(u, c, v, _text(b, "reason")),
    "share": _share,
    "note": lambda u, c, v, b: actions.add_note(u, c, _text(b, "note")),
    "erase": lambda u, c, v, b: actions.erase_personal(u, c, v, _text(b, "reason")),
}


def _csrf_refused() -> Any:
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError:
        return problem(400, "CSRF", _("Thiếu hoặc sai mã chống giả mạo (tiêu đề X-CSRFToken). Hãy lấy mã mới từ "
                                      "một yêu cầu GET rồi gửi lại."))
    return None


@roles_required(*access.QUEUE_ROLES)
def pakn_action(complaint_id: int, action: str) -> Any:
    """One action on one item: 200 with the item, 400 bad input, 403 no right, 404 outside scope, 409 stale or
    not allowed in the item's state."""
    refused = _csrf_refused()
    if refused is not None:
        return refused
    service = ACTIONS.get(action)
    if service is None:
        abort(404)
    complaint = _readable(complaint_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad({"body": _("Hãy gửi một đối tượng JSON (Content-Type: application/json).")})
    version = body.get("version")
    if action != "note" and parse_id(version) != version:  # a JSON integer that a database column can hold
        return _bad({"version": _("Hãy gửi phiên bản (version) của mục như khi bạn đọc nó.")})
    try:
        service(current_user, complaint, version if isinstance(version, int) else None, body)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except ComplaintInputError as error:
        db.session.rollback()
        return _bad(error.errors)
    except StaleComplaint:
        db.session.rollback()
        return problem(409, "Conflict", _("Mục này vừa được người khác thay đổi. Hãy đọc lại rồi thực hiện lại."))
    except IllegalTransition:
        db.session.rollback()
        return problem(409, "Conflict", _("Không thực hiện được thao tác này ở trạng thái hiện tại của mục."))
    db.session.expire_all()
    return _with_token(jsonify(detail_json(current_user, _readable(complaint_id))))


def register_pakn_api(bp: Blueprint) -> None:
    bp.add_url_rule("/pakn", "pakn_list", pakn_list)
    bp.add_url_rule("/pakn/<int:complaint_id>", "pakn_detail", pakn_detail)
    bp.add_url_rule("/pakn/<int:complaint_id>/<action>", "pakn_action", pakn_action, methods=["POST"])
