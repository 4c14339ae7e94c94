"""Who is told what, and when: the sender by e-mail (outbox), staff in the app. Always inside the caller's
transaction, so nothing is sent for a change that is rolled back."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db
from ..models import Complaint, User
from ..outbox import enqueue_email, notify_user
from ..scoping import unit_with_descendants
from ..urls import app_path, public_url
from .secrets import link_token


def office_staff(agency_id: int, heads_only: bool = False) -> list[User]:
    """Active office staff of an agency (its Văn phòng), or only its head(s)."""
    stmt = select(User).where(User.role == "office", User.active.is_(True),
                              User.org_unit_id.in_(sorted(unit_with_descendants([agency_id], include_history=False))))
    if heads_only:
        stmt = stmt.where(User.is_head.is_(True))
    return list(db.session.scalars(stmt.order_by(User.id)))


def unit_staff(unit_id: int, heads_only: bool = False) -> list[User]:
    """Active staff of the unit an item is assigned to, or only its head(s)."""
    stmt = select(User).where(User.role == "unit", User.active.is_(True), User.org_unit_id == unit_id)
    if heads_only:
        stmt = stmt.where(User.is_head.is_(True))
    return list(db.session.scalars(stmt.order_by(User.id)))


def tell_staff(users: list[User], message: str, complaint: Complaint, dedupe: str | None = None) -> int:
    """An in-app notification with a link to the item, to each user once (dedupe per user when given). The text
    (best a lazy one) is written in Vietnamese, whatever language the person who caused it reads."""
    with force_locale("vi"):
        text = str(message)
    link = app_path("complaints.detail", complaint_id=complaint.id)
    told = 0
    for user in users:
        key = f"{dedupe}:u{user.id}" if dedupe else None
        if notify_user(user.id, text, link, dedupe_key=key) is not None:
            told += 1
    return told


def lookup_url(complaint: Complaint, secret: str) -> str:
    """The sender's private page for this item."""
    return public_url("pakn.lookup", code=complaint.code, secret=secret)


def lookup_url_for(complaint: Complaint) -> str:
    """The sender's private page, by a signed token (the secret itself is not kept): for later messages."""
    return public_url("pakn.lookup", code=complaint.code, secret=link_token(complaint))


def email_receipt(complaint: Complaint, secret: str) -> None:
    """The sender's receipt: the code, the private link, the deadline (if any)."""
    if not complaint.sender_email:
        return
    body = render_template("email/pakn_receipt.txt", complaint=complaint, link=lookup_url(complaint, secret))
    enqueue_email(complaint.sender_email, f"Đã tiếp nhận phản ánh, kiến nghị {complaint.code}", body,
                  kind="pakn_receipt", entity=complaint, dedupe_key=f"pakn-receipt:{complaint.id}")


def email_outcome(complaint: Complaint) -> bool:
    """The answer (or why it is not handled here) to the sender, with a link to the private page."""
    if not complaint.sender_email:
        return False
    body = render_template("email/pakn_outcome.txt", complaint=complaint,
                           link=lookup_url_for(complaint))
    enqueue_email(complaint.sender_email, f"Kết quả xử lý phản ánh, kiến nghị {complaint.code}", body,
                  kind="pakn_outcome", entity=complaint, dedupe_key=f"pakn-outcome:{complaint.id}")
    return True
