"""One service function per action on a PAKN: check the user's right, apply the model's transition, write the
history and audit rows, queue the notifications, commit once. Views only parse the form and call these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..audit import record
from ..calendar_service import current_calendar
from ..extensions import db
from ..models import Complaint, ComplaintEvent, DeadlinePolicy, HotlineCall, OrgUnit, User
from ..models.messaging import OutboxMessage
from ..models.survey import IllegalTransition
from ..timeutil import as_utc, to_local, utcnow
from . import access
from .errors import ComplaintInputError, NotAllowed, StaleComplaint
from .intake import find_by_code
from .notices import email_outcome, office_staff, tell_staff, unit_staff
from .transaction import one_commit

TEXT_MAX = 10000


def _clean(text: str | None, field: str, required: bool = True, limit: int = TEXT_MAX) -> str:
    from ..parsing import clean_text

    value, refused = clean_text(text or "")
    if refused:
        raise ComplaintInputError({field: _("Có ký tự điều khiển hoặc ký tự ẩn không hợp lệ. Hãy gõ lại.")})
    if required and not value:
        raise ComplaintInputError({field: _("Vui lòng nhập nội dung này.")})
    if len(value) > limit:
        raise ComplaintInputError({field: _("Dài quá %(limit)d ký tự. Hãy rút gọn.", limit=limit)})
    return value


def _allowed(user: User, action: str, complaint: Complaint) -> None:
    """Rights before anything else: a refused user learns nothing about the input or the state."""
    if not access.can(user, action, complaint):
        raise NotAllowed(action)


def _act(user: User, complaint: Complaint, action: str, version: int | None, change: Callable[[], Any],
         reason: str | None = None, **details: Any) -> Complaint:
    """The pattern every action follows; `change` applies the transition and queues what it must."""
    _allowed(user, action, complaint)
    if version is not None and version != complaint.version:
        raise StaleComplaint(complaint.code)
    before = complaint.state
    with one_commit(complaint.code):
        change()
        db.session.add(ComplaintEvent(complaint=complaint, user_id=user.id, action=action, from_state=before,
                                      to_state=complaint.state, reason=reason, details=details))
        record(user, f"complaint.{action}", complaint, code=complaint.code, from_state=before,
               to_state=complaint.state, reason=reason, **details)
    return complaint


def classify(user: User, complaint: Complaint, version: int | None, decision: str, reason: str = "",
             forwarded_to: str = "") -> Complaint:
    """Handle here, not accepted (reason), forwarded to another authority, or referred (khiếu nại / tố cáo)."""
    _allowed(user, "classify", complaint)
    reason = _clean(reason, "reason", required=decision == "not_accepted")
    forwarded_to = _clean(forwarded_to, "forwarded_to", required=decision in ("forwarded", "referred"), limit=255)
    return _act(user, complaint, "classify", version,
                lambda: complaint.classify(decision, reason or None, forwarded_to or None),
                reason=reason or None, decision=decision, forwarded_to=forwarded_to or None)


def assign(user: User, complaints: list[Complaint], unit_id: int) -> list[Complaint]:
    """Give one or several items to a unit: all or none (a refused item names itself), one commit."""
    unit = db.session.get(OrgUnit, unit_id)
    scope = access.scope_units(user)
    if unit is None or (scope is not None and unit_id not in scope):
        raise ComplaintInputError({"unit": _("Hãy chọn một đơn vị thuộc cơ quan.")})
    with one_commit(",".join(c.code or "" for c in complaints)):
        _assign_all(user, complaints, unit)
    return complaints


def _assign_all(user: User, complaints: list[Complaint], unit: OrgUnit) -> None:
    refused = []
    for complaint in complaints:
        _allowed(user, "assign", complaint)
        try:
            before = complaint.state
            complaint.assign(unit.id)
        except IllegalTransition:
            refused.append(complaint.code)
            continue
        db.session.add(ComplaintEvent(complaint=complaint, user_id=user.id, action="assign", from_state=before,
                                      to_state=complaint.state, details={"unit": unit.name}))
        record(user, "complaint.assign", complaint, code=complaint.code, unit_id=unit.id)
    if refused:
        raise ComplaintInputError({"items": _("Không giao được %(codes)s: chỉ giao được mục đã phân loại là xử lý "
                                              "tại cơ quan và chưa duyệt trả lời.", codes=", ".join(refused))})
    for complaint in complaints:
        tell_staff(unit_staff(unit.id), _l("Đơn vị được giao xử lý PAKN %(code)s", code=complaint.code), complaint)


def draft(user: User, complaint: Complaint, version: int | None, text: str) -> Complaint:
    """The unit writes the answer; the office is told it waits for approval."""
    _allowed(user, "draft", complaint)
    text = _clean(text, "answer_text")

    def change() -> None:
        complaint.draft_answer(text, user.id)
        tell_staff(office_staff(complaint.agency_id), _l("Dự thảo trả lời PAKN %(code)s chờ duyệt",
                                                        code=complaint.code), complaint)

    return _act(user, complaint, "draft", version, change)


def approve(user: User, complaint: Complaint, version: int | None) -> Complaint:
    """The office approves the draft."""
    return _act(user, complaint, "approve", version, lambda: complaint.approve(user.id))


def return_draft(user: User, complaint: Complaint, version: int | None, reason: str) -> Complaint:
    """The office sends the draft back to the unit with the reason."""
    _allowed(user, "return", complaint)
    reason = _clean(reason, "reason")

    def change() -> None:
        complaint.return_draft(reason)
        tell_staff(unit_staff(complaint.unit_id) if complaint.unit_id else [],
                   _l("Dự thảo trả lời PAKN %(code)s bị trả lại: %(reason)s", code=complaint.code, reason=reason[:200]),
                   complaint)

    return _act(user, complaint, "return", version, change, reason=reason)


def notify_sender(user: User, complaint: Complaint, version: int | None) -> Complaint:
    """The sender is told (by e-mail when given); every duplicate's sender gets the same answer."""
    followers = _followers(complaint)

    def change() -> None:
        complaint.notify()
        email_outcome(complaint)
        for duplicate in followers:
            before = duplicate.state
            duplicate.follow(complaint)
            email_outcome(duplicate)
            db.session.add(ComplaintEvent(complaint=duplicate, user_id=user.id, action="follow", from_state=before,
                                          to_state=duplicate.state, details={"main": complaint.code}))

    return _act(user, complaint, "notify", version, change, emailed=bool(complaint.sender_email),
                duplicates=[d.code for d in followers])


def _followers(complaint: Complaint) -> list[Complaint]:
    """Open duplicates that follow this item."""
    if complaint.id is None:
        return []
    return list(db.session.scalars(select(Complaint).where(Complaint.duplicate_of_id == complaint.id,
                                                           Complaint.state != "closed")))


def publish(user: User, complaint: Complaint, version: int | None, text: str, answer: str) -> Complaint:
    """Publish the matter and its answer, both as staff made them fit to publish (the originals are kept)."""
    _allowed(user, "publish", complaint)
    text, answer = _clean(text, "published_text"), _clean(answer, "published_answer")
    return _act(user, complaint, "publish", version, lambda: complaint.publish(text, answer))


def close(user: User, complaint: Complaint, version: int | None) -> Complaint:
    """End the item."""
    return _act(user, complaint, "close", version, complaint.close)


def extend(user: User, complaint: Complaint, version: int | None, new_day: date | None, reason: str) -> Complaint:
    """Move the answer deadline to the close of a later working day, within the policy's limit; who, why, the old
    and the new date are kept."""
    _allowed(user, "extended", complaint)
    reason = _clean(reason, "reason")
    if complaint.answer_due_at is None or not complaint.is_open or complaint.notified_at is not None:
        raise IllegalTransition(f"extend: complaint {complaint.code} has no running answer deadline")
    if new_day is None:
        raise ComplaintInputError({"new_date": _("Hãy nhập ngày hạn mới dạng dd/mm/yyyy.")})
    calendar = current_calendar(complaint.agency_id)
    old = as_utc(complaint.answer_due_at)
    if not calendar.is_working_day(new_day):
        raise ComplaintInputError({"new_date": _("Ngày %(day)s không phải ngày làm việc.",
                                                 day=f"{new_day:%d/%m/%Y}")})
    new_due = calendar.add_working_days(datetime.combine(new_day, datetime.min.time(), to_local(old).tzinfo), 0)
    if new_due <= old:
        raise ComplaintInputError({"new_date": _("Hạn mới phải sau hạn hiện tại (%(day)s).",
                                                 day=f"{to_local(old):%d/%m/%Y}")})
    policy = db.session.get(DeadlinePolicy, complaint.policy_id) if complaint.policy_id else None
    limit = policy.max_extension_days if policy else 10  # the item's own policy, as given at receipt
    if new_due > calendar.add_working_days(old, limit):
        raise ComplaintInputError({"new_date": _("Chỉ gia hạn được tối đa %(n)d ngày làm việc.", n=limit)})

    def change() -> None:
        complaint.answer_due_at = new_due

    return _act(user, complaint, "extended", version, change, reason=reason, old=old.isoformat(),
                new=new_due.isoformat())


def mark_duplicate(user: User, complaint: Complaint, version: int | None, main_code: str) -> Complaint:
    """This item follows another open item with the same matter."""
    _allowed(user, "duplicate", complaint)
    main = find_by_code(main_code or "")
    if main is None or not access.can_read(user, main):
        raise ComplaintInputError({"main_code": _("Không tìm thấy PAKN có mã %(code)s.", code=main_code[:30])})
    if _followers(complaint):
        raise ComplaintInputError({"main_code": _("Mục này đang có mục trùng theo nó; không đánh dấu trùng được. "
                                                  "Hãy đánh dấu mục %(code)s là trùng với mục này.", code=main.code)})
    return _act(user, complaint, "duplicate", version, lambda: complaint.mark_duplicate(main), main=main.code)


def withdraw(user: User, complaint: Complaint, version: int | None, reason: str) -> Complaint:
    """The sender withdrew it (by phone, letter or in person): closed with that outcome."""
    _allowed(user, "withdraw", complaint)
    reason = _clean(reason, "reason")
    if _followers(complaint):
        # Their senders still wait for an answer: the office handles one of them as the main item first.
        raise ComplaintInputError({"reason": _("Có mục trùng đang theo mục này; hãy xử lý các mục đó trước khi ghi "
                                               "nhận rút lại.")})
    return _act(user, complaint, "withdraw", version, lambda: complaint.withdraw(reason), reason=reason)


def share_identity(user: User, complaint: Complaint, version: int | None, share: bool) -> Complaint:
    """Let the assigned unit see the sender's identity for this item (or stop it)."""

    def change() -> None:
        complaint.share_identity = share

    return _act(user, complaint, "share", version, change, share=share)


def add_note(user: User, complaint: Complaint, text: str) -> Complaint:
    """An internal note in the item's history (never shown to the sender)."""
    _allowed(user, "note", complaint)
    text = _clean(text, "note", limit=2000)
    return _act(user, complaint, "note", None, lambda: None, reason=text)


def erase_personal(user: User, complaint: Complaint, version: int | None, reason: str) -> Complaint:
    """Erase the sender's personal data on request (Nghị định 13/2023); the matter stays."""
    _allowed(user, "erase", complaint)
    reason = _clean(reason, "reason")
    return _act(user, complaint, "erase", version, lambda: erase_copies(complaint), reason=reason)


def erase_copies(complaint: Complaint) -> None:
    """Erase the sender's identity from the item and from every copy: the hotline call it came from and the
    e-mails written to the sender (kept as sent or not, without address or text). Flushes, never commits."""
    complaint.erase_personal_data()
    db.session.execute(update(HotlineCall).where(HotlineCall.complaint_id == complaint.id)
                       .values(caller_name=None, caller_phone=None, personal_erased_at=utcnow())
                       .execution_options(synchronize_session=False))
    messages = update(OutboxMessage).where(OutboxMessage.entity_type == "complaints",
                                           OutboxMessage.entity_id == complaint.id)
    # A message not sent yet is not sent any more: its recipient asked to be forgotten.
    db.session.execute(messages.where(OutboxMessage.status.in_(("pending", "failed")))
                       .values(status="dead", last_error="erased").execution_options(synchronize_session=False))
    db.session.execute(messages.values(recipient="", body="").execution_options(synchronize_session=False))
