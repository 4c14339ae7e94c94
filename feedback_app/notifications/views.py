"""/thong-bao: the logged-in staff member's notifications; the unread count in the staff navigation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select, update

from ..auth.forms import EmptyForm
from ..extensions import db
from ..models import Notification
from ..redirects import safe_local_path
from ..timeutil import utcnow

bp = Blueprint("notifications", __name__, url_prefix="/thong-bao")
PER_PAGE = 30
MAX_PAGE = 1000


@bp.app_template_global()
def unread_notification_count() -> int:
    """One COUNT on (user_id, read_at), called only by the staff layout for a logged-in user."""
    if not current_user.is_authenticated:
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == current_user.id, Notification.read_at.is_(None))) or 0


@bp.get("/")
def index() -> Any:
    """The user's notifications, newest first; unread ones in bold."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    return render_template("notifications/list.html", items=rows[:PER_PAGE], page=page,
                           has_next=len(rows) > PER_PAGE, form=EmptyForm())


@bp.post("/doc-het")
def mark_all_read() -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    done = db.session.execute(
        update(Notification).where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if done:
        flash(_("Đã đánh dấu tất cả thông báo là đã đọc."), "success")
    return redirect(url_for("notifications.index"), 303)


@bp.post("/<int:item_id>/mo")
def open_item(item_id: int) -> Any:
    """Mark one notification read, then go to its page (only a path on this site; else back to the list)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    notification = db.session.scalar(select(Notification).where(
        Notification.id == item_id, Notification.user_id == current_user.id))
    if notification is None:
        abort(404)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return redirect(safe_local_path(notification.link, url_for("notifications.index")), 303)
