"""Failed logins slow the address that makes them, never the owner elsewhere; every refusal reads and costs the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from feedback_app.auth.throttle import keys_for
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, LoginThrottle
from feedback_app.timeutil import as_utc, utcnow

from . import factories

ATTACKER = "203.0.113.66"
WRONG = "wrong password"
OWNER = "198.51.100.7"
GENERIC = "Email hoặc mật khẩu không đúng."


def _login(client, email: str, password: str, address: str = ATTACKER):
    token = factories.csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def _error(response) -> str:
    html = response.get_data(as_text=True)
    start = html.index('<p class="err"')
    return html[html.index(">", start) + 1:html.index("</p>", start)]


def _pair(email: str, address: str = ATTACKER) -> LoginThrottle | None:
    db.session.expire_all()
    return db.session.scalar(select(LoginThrottle).where(LoginThrottle.key_hash == keys_for(email, address).pair))


def _let_the_wait_pass() -> None:
    """As if the waiting time had gone by (no test sleeps)."""
    db.session.execute(update(LoginThrottle).values(next_allowed_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


@pytest.fixture(autouse=True)
def first_delay_of_a_minute(app, monkeypatch):
    """The first wait is a minute here (1 s by default): a slow test run never outlasts it by chance."""
    monkeypatch.setitem(app.config, "LOGIN_DELAY_SECONDS", 60)


@pytest.fixture
def owner(world):
    user = factories.user("admin", world.agency)  # an administrator: nobody can lock them out either
    db.session.commit()
    return user


def _fail_freely(client, app, email: str) -> None:
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        response = _login(client, email, "wrong password")
        assert response.status_code == 400 and _error(response) == GENERIC


def test_the_owner_logs_in_from_another_address_while_the_attackers_is_delayed(app, client, owner):
    _fail_freely(client, app, owner.email)
    throttled = _login(client, owner.email, factories.PASSWORD)  # even the right password waits
    assert throttled.status_code == 400
    assert 0 < int(re.search(r"thử lại sau (\d+) giây", _error(throttled)).group(1)) <= 60
    assert _login(app.test_client(), owner.email, factories.PASSWORD, OWNER).status_code == 302
    assert _login(client, owner.email, factories.PASSWORD).status_code == 400  # the attacker still waits


def test_the_delay_grows_with_each_failure(app, client, owner):
    _fail_freely(client, app, owner.email)
    delays = []
    for _ in range(4):
        row = _pair(owner.email)
        delays.append((as_utc(row.next_allowed_at) - as_utc(row.last_failure_at)).total_seconds())
        _let_the_wait_pass()
        assert _login(client, owner.email, "wrong password").status_code == 400
    assert delays == [60, 120, 240, 480]


def test_the_delay_is_capped(app, client, owner, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_DELAY_SECONDS", 150)
    _fail_freely(client, app, owner.email)
    for _ in range(3):
        _let_the_wait_pass()
        _login(client, owner.email, "wrong password")
    row = _pair(owner.email)
    assert (as_utc(row.next_allowed_at) - as_utc(row.last_failure_at)).total_seconds() == 150
    assert "thử lại sau 3 phút" in _error(_login(client, owner.email, "wrong password"))


def test_a_success_from_an_address_clears_that_addresss_failures(app, client, owner):
    for _ in range(app.config["LOGIN_FREE_FAILURES"] - 1):
        _login(client, owner.email, "wrong password")
    assert _pair(owner.email).failures == app.config["LOGIN_FREE_FAILURES"] - 1
    assert _login(client, owner.email, factories.PASSWORD).status_code == 302
    assert _pair(owner.email) is None


def test_unknown_wrong_inactive_and_throttled_refusals_read_the_same(app, client, owner, world):
    inactive = factories.user("viewer", world.agency)
    inactive.active = False
    db.session.commit()
    unknown = _error(_login(client, "nobody@example.gov.vn", "wrong password"))
    wrong = _error(_login(client, owner.email, "wrong password"))
    closed = _error(_login(client, inactive.email, factories.PASSWORD))
    assert unknown == wrong == closed == GENERIC
    # Throttled: an unknown e-mail waits exactly as a real one does, so the wait reveals nothing either.
    for email in ("nobody@example.gov.vn", owner.email):
        for _ in range(app.config["LOGIN_FREE_FAILURES"]):
            _login(client, email, "wrong password", "192.0.2.1")
    ghost = _error(_login(client, "nobody@example.gov.vn", "wrong password", "192.0.2.1"))
    real = _error(_login(client, owner.email, "wrong password", "192.0.2.1"))
    # Equal but for the seconds ticking away between the two requests.
    assert re.sub(r"\d+", "N", ghost) == re.sub(r"\d+", "N", real)
    assert ghost.startswith(GENERIC) and "thử lại sau" in ghost


def test_every_refusal_runs_one_argon2_verification(app, client, owner, world, monkeypatch):
    calls = []
    original = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(password)
        return original(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    inactive = factories.user("viewer", world.agency)
    inactive.active = False
    db.session.commit()

    def verifications(email: str, password: str = WRONG, address: str = ATTACKER) -> int:
        calls.clear()
        assert _login(client, email, password, address).status_code == 400
        return len(calls)

    assert verifications("nobody@example.gov.vn") == 1
    assert verifications(owner.email) == 1
    assert verifications(inactive.email, factories.PASSWORD) == 1
    for email in ("ghost@example.gov.vn", owner.email):
        for _ in range(app.config["LOGIN_FREE_FAILURES"]):
            _login(client, email, "wrong password", "192.0.2.9")
        assert verifications(email, address="192.0.2.9") == 1  # throttled: unchecked, same cost


def test_many_accounts_from_one_address_slow_that_address(app, client, owner, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_FREE_FAILURES", 3)
    for n in range(3):
        _login(client, f"user{n}@example.gov.vn", "wrong password")
    refused = _login(client, owner.email, factories.PASSWORD)
    assert refused.status_code == 400 and "thử lại sau" in _error(refused)
    assert _login(app.test_client(), owner.email, factories.PASSWORD, OWNER).status_code == 302


def test_failures_are_audited_with_a_reason_and_no_address_is_stored(app, client, owner):
    _login(client, "nobody@example.gov.vn", "wrong password")
    _fail_freely(client, app, owner.email)
    _login(client, owner.email, "wrong password")
    reasons = [e.details["reason"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.id))]
    assert reasons == ["unknown_email"] + ["bad_password"] * app.config["LOGIN_FREE_FAILURES"] + ["throttled"]
    for row in db.session.scalars(select(LoginThrottle)):
        assert len(row.key_hash) == 64 and ATTACKER not in row.key_hash and owner.email not in row.key_hash


def test_ipv6_addresses_are_counted_by_their_64_block(app, client, owner):
    for n in range(app.config["LOGIN_FREE_FAILURES"]):
        _login(client, owner.email, "wrong password", f"2001:db8:1:2::{n + 1}")
    assert _login(client, owner.email, factories.PASSWORD, "2001:db8:1:2::ff").status_code == 400
    assert _login(app.test_client(), owner.email, factories.PASSWORD, "2001:db8:9:9::1").status_code == 302
