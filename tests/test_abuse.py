"""Ballot stuffing: bursts from one IP are flagged for review; the rate limit answers kindly."""

from __future__ import annotations

from sqlalchemy import select

from feedback_app.extensions import limiter
from feedback_app.models import Response

from .test_kiosk import _payload, _post, _token


def test_burst_from_one_ip_is_stored_but_flagged(client, world, db_session, app):
    token = _token(client, world.counter_a.code)
    limit = app.config["BURST_MAX_PER_IP"]
    for _ in range(limit + 2):
        assert _post(client, world, _payload(world), token).status_code == 201
    statuses = [r.review_status for r in db_session.scalars(select(Response).order_by(Response.id))]
    assert statuses == ["none"] * limit + ["pending", "pending"]
    flagged = db_session.scalars(select(Response).where(Response.review_status == "pending")).all()
    assert {r.flag_reason for r in flagged} == {"ip_burst"}
    # The address itself is not stored, only a keyed hash of it.
    assert all(r.client_key and "127.0.0.1" not in r.client_key for r in flagged)


def test_flagged_responses_wait_for_a_decision(client, world, db_session, login_as, app):
    token = _token(client, world.counter_a.code)
    for _ in range(app.config["BURST_MAX_PER_IP"] + 1):
        _post(client, world, _payload(world), token)
    login_as("office")
    page = client.get("/admin/review").get_data(as_text=True)
    assert "Nhiều phiếu từ một địa chỉ mạng" in page
    flagged = db_session.scalar(select(Response).where(Response.review_status == "pending"))
    from .factories import csrf_token

    response = client.post("/admin/review", data={"csrf_token": csrf_token(client, "/admin/review"),
                                                  "decision": "accepted", "response_id": str(flagged.id)})
    assert response.status_code == 303
    db_session.refresh(flagged)
    assert flagged.review_status == "accepted"


def test_rate_limit_gives_a_friendly_429(client, world, app):
    app.config["SURVEY_SUBMIT_LIMIT"] = "3 per minute"
    limiter.reset()
    try:
        token = _token(client, world.counter_a.code)
        codes = [_post(client, world, _payload(world), token).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        page = client.post(f"/q/{world.counter_a.code}", data={}).get_data(as_text=True)
        assert "Bạn đã gửi quá nhiều lần" in page
    finally:
        app.config["SURVEY_SUBMIT_LIMIT"] = "1000 per minute"
        limiter.reset()
