"""Staff sessions live on the server: logging out, idling or a password change ends them for every copy."""

from __future__ import annotations

from datetime import timedelta

from flask_login.utils import encode_cookie
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import StaffSession
from feedback_app.timeutil import as_utc, utcnow

from . import factories


def _copy_of_the_cookie(app, client):
    """A second browser holding a copy of the session cookie, as a thief who captured it would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _only_session(user) -> StaffSession:
    db.session.expire_all()
    return db.session.scalars(select(StaffSession).where(StaffSession.user_id == user.id)).one()


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, client, world, login_as):
    user = login_as("office")
    thief = _copy_of_the_cookie(app, client)
    assert thief.get("/results").status_code == 200
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/results")})
    assert client.get("/results").status_code == 302
    after = thief.get("/results")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    assert thief.get("/api/v1/sipas").status_code == 401
    row = _only_session(user)
    assert row.ended_reason == "logout" and row.ended_at is not None


def test_a_login_is_a_session_row_holding_only_a_hash_of_the_cookie_secret(client, world, login_as):
    user = login_as("viewer")
    row = _only_session(user)
    assert row.ended_at is None and len(row.token_hash) == 64
    assert row.ip == "127.0.0.1" and row.user_agent
    assert row.token_hash not in client.get_cookie("session").value
    lifetime = as_utc(row.expires_at) - as_utc(row.created_at)
    assert lifetime == client.application.permanent_session_lifetime


def test_an_idle_session_ends(app, client, world, login_as):
    user = login_as("office")
    row = _only_session(user)
    row.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1)
    db.session.commit()
    assert client.get("/results").status_code == 302
    assert _only_session(user).ended_reason == "idle"
    assert client.get("/api/v1/sipas").status_code == 401  # and it stays ended


def test_a_session_ends_at_its_lifetime_even_when_in_use(client, world, login_as):
    user = login_as("office")
    row = _only_session(user)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/results").status_code == 302
    assert _only_session(user).ended_reason == "expired"


def test_last_seen_is_written_at_most_once_a_minute(client, world, login_as):
    user = login_as("viewer")
    row = _only_session(user)
    recent = utcnow() - timedelta(seconds=30)
    row.last_seen_at = recent
    db.session.commit()
    client.get("/results")
    assert as_utc(_only_session(user).last_seen_at) == recent
    row = _only_session(user)
    row.last_seen_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    client.get("/results")
    assert utcnow() - as_utc(_only_session(user).last_seen_at) < timedelta(seconds=30)


def test_an_admins_change_ends_the_users_sessions_in_the_database(app, client, world, login_as):
    victim = factories.user("office", world.agency)
    db.session.commit()
    browser = app.test_client()
    browser.post("/login", data={"email": victim.email, "password": factories.PASSWORD,
                                 "csrf_token": factories.csrf_token(browser, "/login")})
    assert browser.get("/results").status_code == 200
    login_as("admin")
    path = f"/admin/users/{victim.id}"
    client.post(path, data={"csrf_token": factories.csrf_token(client, path), "email": victim.email,
                            "full_name": victim.full_name, "role": "viewer", "org_unit_id": world.agency.id,
                            "officer_id": "", "active": "y"})
    assert browser.get("/results").status_code == 302
    assert _only_session(victim).ended_reason == "changed"


def test_a_remember_me_cookie_logs_nobody_in(app, client, world):
    user = factories.user("admin", world.agency)
    db.session.commit()
    with app.test_request_context():
        remember = encode_cookie(user.get_id())
    client.set_cookie("remember_token", remember)
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_visitors_session_is_left_alone(client, world):
    """A kiosk or phone holds a session for its form token only: no login machinery rewrites it."""
    client.get(f"/k/{world.counter_a.code}/token")
    for path in ("/", "/api/v1/counters", f"/q/{world.counter_a.code}", "/phan-anh"):
        cookies = client.get(path).headers.getlist("Set-Cookie")
        assert not any(c.startswith(("session=", "remember_token=")) for c in cookies), (path, cookies)
