"""/admin/outbox: what the worker sent, is retrying or gave up on; administrators may retry a failed message.

Recipients are masked and bodies never shown: the messages hold citizens' personal data. For an SMS the page
also shows the gateway, what it last reported about delivery and the provider's error code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from ..audit import record
from ..auth.forms import EmptyForm
from ..extensions import db
from ..models import OutboxMessage
from ..models.messaging import OUTBOX_CHANNELS, OUTBOX_STATUSES
from ..outbox.masking import mask_recipient
from ..security import roles_required
from ..timeutil import utcnow

STATUS_LABELS = {
    "pending": _l("Chờ gửi"), "sending": _l("Đang gửi"), "sent": _l("Đã gửi"), "failed": _l("Lỗi, sẽ gửi lại"),
    "dead": _l("Đã ngừng gửi"), "cancelled": _l("Đã hủy"),
}
CHANNEL_LABELS = {"email": _l("Thư điện tử"), "sms": _l("Tin nhắn SMS")}
# What the SMS gateway last reported (sms/status.py): carriers' receipts in Vietnam are not always sent.
DELIVERY_LABELS = {
    "queued": _l("Cổng SMS đã nhận"), "sent": _l("Đã chuyển nhà mạng"), "delivered": _l("Đã đến máy người nhận"),
    "undelivered": _l("Không đến được máy"), "failed": _l("Cổng SMS không gửi được"),
}
RETRYABLE = ("failed", "dead")


def outbox_page() -> Any:
    """The latest messages (by status and channel when asked), with the count in each status."""
    status = request.args.get("status")
    status = status if status in OUTBOX_STATUSES else None
    channel = request.args.get("channel")
    channel = channel if channel in OUTBOX_CHANNELS else None
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    count_stmt = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
        count_stmt = count_stmt.where(OutboxMessage.channel == channel)
    counts = dict(db.session.execute(count_stmt).all())
    return render_template("admin/outbox.html", messages=db.session.scalars(stmt).all(), counts=counts,
                           status=status, channel=channel, labels=STATUS_LABELS, channels=CHANNEL_LABELS,
                           delivery=DELIVERY_LABELS, mask=mask_recipient, retryable=RETRYABLE, form=EmptyForm())


def outbox_retry(message_id: int) -> Any:
    """Send a failed or dead message again now (a dead one gets its attempts back)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.status not in RETRYABLE:
        flash(_("Chỉ gửi lại được thư bị lỗi hoặc đã ngừng gửi."), "error")
        return redirect(url_for("admin.outbox"), 303)
    record(current_user, "outbox.retry", message, status=message.status, attempts=message.attempts,
           kind=message.kind)
    if message.status == "dead":
        message.attempts = 0
    message.status, message.available_at, message.locked_until, message.locked_by = "pending", utcnow(), None, None
    db.session.commit()
    flash(_("Thư sẽ được gửi lại trong lần chạy tới của tiến trình gửi thư."), "success")
    return redirect(url_for("admin.outbox"), 303)


def register_outbox_views(bp: Blueprint) -> None:
    bp.add_url_rule("/outbox", "outbox", roles_required("admin")(outbox_page), methods=["GET"])
    bp.add_url_rule("/outbox/<int:message_id>/retry", "outbox_retry", roles_required("admin")(outbox_retry),
                    methods=["POST"])
