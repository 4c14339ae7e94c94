"""One password rule everywhere (admin form, create-user, the user's own page), and users change their own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_app.auth.passwords import common_passwords, password_problem
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, StaffSession, User

from . import factories

NEW = "ngay-mai-troi-nang-8"


@pytest.mark.parametrize(("password", "says"), [
    ("aaaaaaaaaa", "ít nhất 12 ký tự"),
    ("mk-ngan-9", "ít nhất 12 ký tự"),
    ("aaaaaaaaaaaa", "5 ký tự khác nhau"),
    ("abababababab", "5 ký tự khác nhau"),
    ("1234567890ab", "dãy ký tự"),
    ("poiuytrewq12", "dãy ký tự"),
    ("987654321xyz", "dãy ký tự"),
    ("Password1234", "quá phổ biến"),
    ("matkhau@2024!", "quá phổ biến"),
    ("AnhYeuEm-123456", "quá phổ biến"),
    ("Khanh Hoa 2025!!", "quá phổ biến"),
    ("nguyenvanan1990", "tên hoặc địa chỉ email"),
    ("NguyễnVănAn!x7", "tên hoặc địa chỉ email"),
    ("tung.ha-2026-ok", "tên hoặc địa chỉ email"),
    ("Summer-Summer-1", "dễ đoán"),
    ("x" * 129 + "abcdefgh", "tối đa 128 ký tự"),
])
def test_weak_passwords_are_refused_with_the_reason(app, password, says):
    with app.test_request_context():
        problem = password_problem(password, email="tung.ha@example.gov.vn", full_name="Nguyễn Văn An")
    assert problem is not None and says in problem, (password, problem)


@pytest.mark.parametrize("password", [NEW, "correct horse battery", "mot-mat-khau-moi-dai", "Tr0ub4dor&3-xyz-q",
                                      "cây-bàng-đầu-ngõ-47"])
def test_strong_passwords_pass(app, password):
    with app.test_request_context():
        assert password_problem(password, email="tung.ha@example.gov.vn", full_name="Nguyễn Văn An") is None


def test_a_few_hundred_common_passwords_are_shipped():
    assert 300 <= len(common_passwords()) <= 1000
    assert {"123456", "password", "matkhau", "anhyeuem"} <= common_passwords()


def test_the_admin_form_refuses_a_weak_password(client, world, login_as):
    login_as("admin")
    victim = factories.user("viewer", world.agency)
    db.session.commit()
    path = f"/admin/users/{victim.id}"
    response = client.post(path, data={
        "csrf_token": factories.csrf_token(client, path), "email": victim.email, "full_name": victim.full_name,
        "role": "viewer", "org_unit_id": world.agency.id, "officer_id": "", "active": "y",
        "new_password": "aaaaaaaaaa"})
    assert response.status_code == 400
    assert "ít nhất 12 ký tự" in response.get_data(as_text=True)
    db.session.refresh(victim)
    assert victim.check_password(factories.PASSWORD)


def test_create_user_refuses_a_weak_password(app, db_session, world):
    result = app.test_cli_runner().invoke(args=["create-user", "giamdoc@example.gov.vn", "--role", "viewer",
                                                "--password", "giamdoc-123456"])
    assert result.exit_code != 0 and "tên hoặc địa chỉ email" in result.output
    assert db.session.scalar(select(User).where(User.email == "giamdoc@example.gov.vn")) is None


def _change(client, current: str, new: str, confirm: str | None = None):
    token = factories.csrf_token(client, "/account/password")
    return client.post("/account/password", data={"csrf_token": token, "current_password": current,
                                                  "new_password": new, "confirm": new if confirm is None else confirm})


def test_every_role_reaches_its_password_page_from_the_header(client, world, login_as):
    login_as("counter", officer=world.officer_a)
    page = client.get("/results").get_data(as_text=True)
    assert 'href="/account/password"' in page
    assert client.get("/account/password").status_code == 200


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(app, client, world, login_as):
    user = login_as("viewer")
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                               "csrf_token": factories.csrf_token(other, "/login")})
    assert other.get("/results").status_code == 200
    response = _change(client, factories.PASSWORD, NEW)
    assert response.status_code == 303
    assert "Đã đổi mật khẩu" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/results").status_code == 200  # this browser stays logged in
    assert other.get("/results").status_code == 302  # the other one is out
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(NEW)
    reasons = {s.ended_reason for s in db.session.scalars(select(StaffSession).where(StaffSession.user_id == user.id))}
    assert reasons == {None, "password"}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.password")).user_id == user.id


@pytest.mark.parametrize(("current", "new", "confirm", "field_says"), [
    ("wrong password", NEW, None, "Mật khẩu hiện tại không đúng"),
    (factories.PASSWORD, "aaaaaaaaaaaa", None, "5 ký tự khác nhau"),
    (factories.PASSWORD, NEW, NEW + "x", "không khớp"),
    (factories.PASSWORD, factories.PASSWORD, None, "phải khác mật khẩu hiện tại"),
    ("", NEW, None, "Vui lòng nhập mật khẩu hiện tại"),
])
def test_a_refused_change_says_why_and_changes_nothing(client, world, login_as, current, new, confirm, field_says):
    user = login_as("office")
    response = _change(client, current, new, confirm)
    assert response.status_code == 400
    assert field_says in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(factories.PASSWORD)
    assert client.get("/results").status_code == 200


def test_the_password_page_needs_a_login(client, world):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_guessing_the_current_password_is_throttled_like_a_login(app, client, world, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_DELAY_SECONDS", 60)  # no slow run outlasts the wait by chance
    user = login_as("viewer")
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        assert "Mật khẩu hiện tại không đúng" in _change(client, "a wrong guess", NEW).get_data(as_text=True)
    refused = _change(client, factories.PASSWORD, NEW)  # even the right one waits now
    assert refused.status_code == 400 and "thử lại sau" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(factories.PASSWORD)
