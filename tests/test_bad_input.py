"""Bad input anywhere gets a 4xx with a message, never a 500; scope holds on every staff page."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import Campaign, Response, Target

from . import factories
from .test_kiosk import _payload, _post, _token


def _form_post(client, path, data):
    return client.post(path, data={"csrf_token": factories.csrf_token(client, path), **data})


def test_odd_digits_and_huge_numbers_are_refused_kindly(client, world, login_as, db_session):
    question = next(q for q in world.version.questions if q.is_scale)
    body = _payload(world, officer="²")
    body["answers"][f"q{question.id}"] = "²"
    response = _post(client, world, body)
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert response.status_code == 400 and fields == {f"q{question.id}", "officer"}
    login_as("office")
    for query in ("unit=²", "unit=99999999999999999999999", "from=01/01/0001&to=02/01/0001"):
        assert client.get(f"/results?{query}").status_code == 400, query
        assert client.get(f"/api/v1/sipas?{query}").status_code == 400, query
    review = _form_post(client, "/admin/review", {"decision": "accepted", "response_id": "9" * 30})
    assert review.status_code == 303
    assert db_session.scalar(select(func.count(Response.id))) == 0


def test_device_clock_out_of_range_is_ignored(client, world, db_session):
    from datetime import UTC, datetime

    assert _post(client, world, _payload(world, completed_at="0001-01-01T00:00:00+01:00")).status_code == 201
    stored = db_session.scalar(select(Response.completed_at))
    assert abs((stored.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 60  # filed at server time


def test_control_characters_in_a_comment_are_refused(client, world, db_session):
    comment = next(q for q in world.version.questions if q.kind == "comment")
    body = _payload(world)
    body["answers"][f"q{comment.id}"] = "Tốt\x00lắm"
    response = _post(client, world, body)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == f"q{comment.id}"


def test_oversized_body_is_413(client, world):
    token = _token(client, world.counter_a.code)
    response = client.post(f"/k/{world.counter_a.code}/submit", data=b"x" * (4 * 1024 * 1024),
                           content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json" and "quá lớn" in response.get_json()["detail"]


def test_targets_out_of_range_not_a_number_or_twice(client, world, login_as, db_session):
    login_as("admin")
    base = {"org_unit_id": world.agency.id, "year": "2026", "factor_code": ""}
    for bad in ("150", "-1", "NaN", "sNaN"):
        response = _form_post(client, "/admin/targets/new", {**base, "target_pct": bad})
        assert response.status_code == 400, bad
    assert _form_post(client, "/admin/targets/new", {**base, "target_pct": "90"}).status_code == 302
    again = _form_post(client, "/admin/targets/new", {**base, "target_pct": "80"})
    assert again.status_code == 400 and "đã có mục tiêu" in again.get_data(as_text=True)
    assert db_session.scalar(select(func.count(Target.id))) == 1


def test_campaign_numbers_are_bounded(client, world, login_as):
    login_as("office")
    response = _form_post(client, "/admin/campaigns/new", {
        "name": "Đợt lớn", "period_start": "01/10/2026", "period_end": "31/12/2026", "unit_ids": [world.agency.id],
        "channels": ["kiosk"], "expected_transactions": "9" * 30, "margin": "0.05", "target_sample": ""})
    assert response.status_code == 400
    assert "N từ 0 đến 100 triệu." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Campaign.id))) == 0


def test_a_unit_cannot_move_under_its_own_sub_unit(client, world, login_as, db_session):
    login_as("admin")
    path = f"/admin/units/{world.agency.id}"
    response = _form_post(client, path, {"code": world.agency.code, "name": world.agency.name, "unit_type": "so",
                                         "parent_id": world.unit_a.id, "valid_from": "01/01/2000"})
    assert response.status_code == 400
    db_session.refresh(world.agency)
    assert world.agency.parent_id == world.province.id


def test_office_sees_and_edits_only_campaigns_of_its_scope(client, world, login_as, db_session):
    other = factories.unit("Sở khác", "so", parent=world.province)
    outside = Campaign(name="Khảo sát toàn tỉnh", period_start=world.version.created_at.date(),
                       period_end=world.version.created_at.date(), channels=["qr"], target_sample=10,
                       units=[world.province])
    inside = Campaign(name="Khảo sát của Sở", period_start=world.version.created_at.date(),
                      period_end=world.version.created_at.date(), channels=["qr"], target_sample=10,
                      units=[world.agency])
    db_session.add_all([outside, inside, other])
    db_session.commit()
    login_as("office")
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert "Khảo sát của Sở" in listing and "Khảo sát toàn tỉnh" not in listing
    assert client.get(f"/admin/campaigns/{outside.id}").status_code == 404


def test_counter_account_without_an_officer_reads_nothing(client, world, login_as):
    factories.response(world.counter_a, {"TCDV1": 5})  # no officer named
    db.session.commit()
    user = factories.user("counter", world.agency)
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                "csrf_token": factories.csrf_token(client, "/login")})
    body = client.get("/api/v1/sipas?from=01/10/2026&to=31/10/2026").get_json()
    assert body["responses"] == 0


def test_staff_sessions_expire(client, world, login_as, app):
    login_as("viewer")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.expires is not None


def test_kiosks_behind_one_address_are_limited_per_device(client, world, app, login_as):
    from feedback_app.extensions import limiter
    from feedback_app.models import KioskDevice

    login_as("office")
    device = KioskDevice(name="Máy 1", counter=world.counter_a, token_hash=uuid.uuid4().hex * 2)
    db.session.add(device)
    db.session.commit()
    client.post(f"/admin/kiosks/{device.id}/activate",
                data={"csrf_token": factories.csrf_token(client, f"/admin/kiosks/{device.id}/activate")})
    app.config["SURVEY_SUBMIT_LIMIT"] = "2 per minute"
    limiter.reset()
    try:
        token = _token(client, world.counter_a.code)
        assert [_post(client, world, _payload(world), token).status_code for _ in range(3)] == [201, 201, 429]
        # A phone on the same address is another submitter and is not held by the kiosk's ceiling.
        client.delete_cookie("kiosk_device")
        assert _post(client, world, _payload(world), token).status_code == 201
    finally:
        app.config["SURVEY_SUBMIT_LIMIT"] = "1000 per minute"
        limiter.reset()
