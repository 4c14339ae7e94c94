"""Deny by default, roles and unit scoping, headers, login, append-only audit."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import AuditEvent, User
from feedback_app.models.audit import AuditImmutableError
from feedback_app.security import PUBLIC_ENDPOINTS

from . import factories

EXPECTED_PUBLIC = {
    "static", "public.home", "public.set_language", "public.feedback_channels", "kiosk.kiosk_page",
    "kiosk.kiosk_submit", "kiosk.kiosk_token", "kiosk.officer_photo",
    "phone.form", "phone.submit", "phone.switch_language", "phone.thanks",
    "qrcodes.counter_svg", "qrcodes.counter_png", "api.counters", "api.openapi", "auth.login", "health.health",
    "api.calendar_year", "api.calendar_deadline", "api.dossiers_import",
    "open311.services_list", "open311.service_definition", "open311.requests_list", "open311.request_one",
    "open311.create_request",
    "pakn.new", "pakn.receipt", "pakn.lookup", "pakn.satisfaction", "pakn.published",
    "sms.twilio_status", "sms.twilio_inbound", "sms.gateway_status", "sms.gateway_inbound",
    "survey_links.survey", "survey_links.save_draft", "survey_links.thanks",
}


def test_public_allowlist_is_exactly_what_we_expect(app):
    assert PUBLIC_ENDPOINTS == EXPECTED_PUBLIC
    assert set(app.view_functions) >= PUBLIC_ENDPOINTS


def _sample_url(rule) -> str:
    values = {arg: ("1" if "id" in arg else "SXD-Q20") for arg in rule.arguments}
    return rule.build(values)[1] if hasattr(rule, "build") else str(rule)


def test_every_other_endpoint_needs_a_login(app, client, world):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # <any(csv,xlsx):fmt> -> csv
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "X")
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method)
        assert response.status_code in (302, 401), f"{rule.endpoint} answered {response.status_code} to a visitor"
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("role", "path", "status"), [
    ("viewer", "/admin/", 403), ("unit", "/admin/units", 403), ("office", "/admin/units", 200),
    ("office", "/admin/users", 403), ("office", "/admin/org-events", 403), ("office", "/admin/fields", 403),
    ("office", "/admin/refused", 200), ("unit", "/admin/refused", 403),
    ("office", "/admin/kiosks", 200), ("office", "/admin/review", 200), ("counter", "/admin/review", 403),
    ("admin", "/admin/units", 200), ("admin", "/admin/audit", 200), ("viewer", "/results", 200),
])
def test_roles(login_as, client, role, path, status, world):
    officer = world.officer_a if role == "counter" else None
    login_as(role, officer=officer)
    assert client.get(path).status_code == status


def test_unit_user_never_reads_another_units_figures(login_as, client, world):
    factories.response(world.counter_a, {"TCDV1": 5})
    factories.response(world.counter_b, {"TCDV1": 1})
    db.session.commit()
    login_as("unit", unit=world.unit_a)
    own = client.get("/api/v1/sipas?from=01/10/2026&to=31/10/2026").get_json()
    assert (own["responses"], own["overall_pct"]) == (1, 100.0)
    grouped = client.get("/api/v1/sipas?from=2026-10-01&to=2026-10-31&group_by=counter").get_json()
    assert [g["label"] for g in grouped["groups"]] == [world.counter_a.name]
    other = client.get(f"/api/v1/sipas?unit={world.unit_b.code}")
    assert other.status_code == 400
    assert other.get_json()["errors"][0]["field"] == "unit"
    page = client.get(f"/results?counter={world.counter_b.code}")
    assert page.status_code == 400 and "phạm vi bạn được xem" in page.get_data(as_text=True)


def test_counter_officer_sees_only_their_own_ratings(login_as, client, world):
    other = factories.officer(world.unit_a, "Lê Văn Khác")
    world.counter_a.officers.append(other)
    factories.response(world.counter_a, {"TCDV1": 5}, officer_=world.officer_a)
    factories.response(world.counter_a, {"TCDV1": 1}, officer_=other)
    db.session.commit()
    login_as("counter", unit=world.unit_a, officer=world.officer_a)
    body = client.get("/api/v1/sipas?from=01/10/2026&to=31/10/2026").get_json()
    assert (body["responses"], body["overall_pct"]) == (1, 100.0)


def test_security_headers(client, world):
    response = client.get(f"/q/{world.counter_a.code}")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in tests
    secure = client.get(f"/q/{world.counter_a.code}", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_login_renews_the_session_and_is_audited(client, world):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    user = factories.user("viewer", world.agency)
    db.session.commit()
    response = client.post("/login", data={"email": user.email.upper(), "password": factories.PASSWORD,
                                           "csrf_token": factories.csrf_token(client, "/login")})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login")).user_id == user.id


def test_login_refuses_an_outside_next_url(client, world):
    user = factories.user("viewer", world.agency)
    db.session.commit()
    response = client.post("/login?next=https://evil.example/", data={
        "email": user.email, "password": factories.PASSWORD, "csrf_token": factories.csrf_token(client, "/login")})
    assert response.headers["Location"] == "/results"


def test_inactive_user_cannot_log_in(client, world):
    user = factories.user("viewer", world.agency)
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "csrf_token": factories.csrf_token(client, "/login")})
    assert response.status_code == 400


def test_audit_rows_are_append_only_in_code_and_in_the_database(db_session, world):
    event = AuditEvent(action="test", entity_type="X", details={})
    db_session.add(event)
    db_session.flush()
    event.action = "changed"
    with pytest.raises(AuditImmutableError):
        db_session.flush()
    db_session.rollback()
    event = AuditEvent(action="test", entity_type="X", details={})
    db_session.add(event)
    db_session.commit()
    with pytest.raises(sa.exc.DatabaseError), db_session.begin_nested():
        db_session.execute(sa.text("UPDATE audit_events SET action = 'x'"))
    with pytest.raises(sa.exc.DatabaseError), db_session.begin_nested():
        db_session.execute(sa.text("DELETE FROM audit_events"))


def test_passwords_are_argon2_hashes(world):
    user = factories.user("viewer", world.agency)
    assert user.password_hash.startswith("$argon2")
    assert user.check_password(factories.PASSWORD) and not user.check_password("nope")
    assert db.session.get(User, user.id).email == user.email


def test_a_new_password_or_role_ends_the_users_other_sessions(app, client, world, login_as):
    victim = factories.user("office", world.agency)
    db.session.commit()
    other_browser = app.test_client()
    other_browser.post("/login", data={"email": victim.email, "password": factories.PASSWORD,
                                       "csrf_token": factories.csrf_token(other_browser, "/login")})
    assert other_browser.get("/admin/review").status_code == 200
    login_as("admin")
    path = f"/admin/users/{victim.id}"
    response = client.post(path, data={
        "csrf_token": factories.csrf_token(client, path), "email": victim.email, "full_name": victim.full_name,
        "role": "viewer", "org_unit_id": world.agency.id, "officer_id": "", "active": "y"})
    assert response.status_code == 302
    assert other_browser.get("/admin/review").status_code == 302  # back to the login page
    # The administrator's own session survives a change of their own password.
    me = db.session.scalar(select(User).where(User.role == "admin"))
    own = f"/admin/users/{me.id}"
    response = client.post(own, data={
        "csrf_token": factories.csrf_token(client, own), "email": me.email, "full_name": me.full_name,
        "role": "admin", "org_unit_id": world.agency.id, "officer_id": "", "active": "y",
        "new_password": "mot-mat-khau-moi-dai"})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_a_counter_officer_reads_nothing_a_caller_cannot_tie_to_an_officer(world):
    from feedback_app.models import Response
    from feedback_app.scoping import scope_condition

    factories.response(world.counter_a, {"TCDV1": 5}, officer_=world.officer_a)
    officer_user = factories.user("counter", world.unit_a, officer=world.officer_a)
    # Without the officer column the condition must not fall back to the whole unit.
    assert db.session.scalars(select(Response.id).where(scope_condition(officer_user, Response.unit_id))).all() == []
    own = scope_condition(officer_user, Response.unit_id, Response.officer_id)
    assert len(db.session.scalars(select(Response.id).where(own)).all()) == 1
    unlinked = factories.user("counter", world.unit_a)
    assert db.session.scalars(select(Response.id).where(
        scope_condition(unlinked, Response.unit_id, Response.officer_id))).all() == []
