"""Staff sessions kept on the server: started at login, checked on every request, ended at logout or expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, g, request, session
from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import StaffSession, User
from ..parsing import parse_id
from ..timeutil import as_utc, utcnow

SESSION_KEY = "staff_session"  # in Flask's signed cookie: the secret whose hash names the row
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often: one UPDATE a minute per user
KEEP_ENDED = timedelta(days=30)  # ended rows stay this long to show recent logins, then go


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(_sender: Any = None, user: User | None = None, **_extra: Any) -> None:
    """On every Flask-Login login_user(): a new session row, its secret put into the signed cookie."""
    if user is None:
        return
    now = utcnow()
    end_current_session("renewed")  # the one this browser had before, if any
    db.session.execute(delete(StaffSession).where(StaffSession.user_id == user.id,
                                                  StaffSession.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    row = StaffSession(user_id=user.id, token_hash=_hash(token), created_at=now, last_seen_at=now,
                       expires_at=now + current_app.permanent_session_lifetime,
                       ip=(request.remote_addr or "")[:45] or None,
                       user_agent=(request.user_agent.string or "")[:200] or None)
    db.session.add(row)
    db.session.flush()
    session[SESSION_KEY] = token
    g.staff_session_id = row.id


def current_session_id() -> int | None:
    """The id of this request's live session row (set when the user was loaded)."""
    return g.get("staff_session_id")


def end_current_session(reason: str) -> None:
    """End the session this browser carries (logout); flushes, the request commits."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        db.session.execute(update(StaffSession)
                           .where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
                           .values(ended_at=utcnow(), ended_reason=reason))
    session.pop(SESSION_KEY, None)


def load_session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user only while their session row is live (not ended, idle or expired)."""
    user_pk = parse_id(user_id)
    token = session.get(SESSION_KEY)
    if user_pk is None or not isinstance(token, str):
        return None  # a cookie from before server-side sessions, or a remember-me cookie: log in again
    found = db.session.execute(select(StaffSession, User).join(User, User.id == StaffSession.user_id)
                               .where(StaffSession.token_hash == _hash(token))).first()
    if found is None:
        return None
    row, user = found
    if row.user_id != user_pk or row.ended_at is not None or not user.active:
        return None
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    reason = row.ending_reason(now, idle)
    # The security gate loads the user before any view runs, so these commits carry nothing else.
    if reason:
        row.ended_at, row.ended_reason = now, reason
        db.session.commit()
        return None
    if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    g.staff_session_id = row.id
    return user
