"""Ballot stuffing: bursts from one IP are flagged for review; the rate limit answers kindly."""

from __future__ import annotations

import pytest
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


REDIS_CHECK = """
import json, sys
from feedback_app import create_app
from feedback_app.extensions import db, limiter
# One app server: two submissions against a ceiling of three, counted in the storage given.
app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_STORAGE_URI=sys.argv[1],
                 RATELIMIT_KEY_PREFIX=sys.argv[2], SURVEY_SUBMIT_LIMIT="3 per minute")
with app.app_context():
    db.create_all()
codes = [app.test_client().post("/q/NO-SUCH-COUNTER", data={}).status_code for _ in range(2)]
print(json.dumps({"codes": codes, "storage": type(limiter.storage).__name__}))
"""


def test_limits_are_shared_through_redis_when_configured():
    """RATELIMIT_STORAGE_URI=redis://... (several workers or servers) works with the shipped dependencies."""
    import json
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("no Redis on 127.0.0.1:6379")
    import uuid

    root = Path(__file__).resolve().parent.parent
    prefix = uuid.uuid4().hex

    def server(storage: str) -> dict:
        """One app server in a process of its own."""
        result = subprocess.run([sys.executable, "-c", REDIS_CHECK, storage, prefix],  # noqa: S603
                                env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
                                timeout=60, cwd=root)
        assert result.returncode == 0, result.stderr[-800:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    first, second = server("redis://127.0.0.1:6379/15"), server("redis://127.0.0.1:6379/15")
    assert first == {"codes": [404, 404], "storage": "RedisStorage"}
    assert second["codes"] == [404, 429]  # the second server counts what the first one saw
    # Memory storage, for contrast: each process counts alone, and the same address gets through again.
    assert server("memory://")["codes"] == [404, 404]
