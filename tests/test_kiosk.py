"""The kiosk's JSON submission: exactly once, validation, device marking and the gap between citizens."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import KioskDevice, Response
from feedback_app.surveys.specs import counter_info, version_spec
from feedback_app.surveys.submission import DuplicateSubmission, SubmissionContext, submit_response
from feedback_app.timeutil import LOCAL_TZ

from . import factories


def _token(client, code):
    response = client.get(f"/k/{code}/token")
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()["csrf_token"]


def _payload(world, value="5", **extra):
    body = {"key": uuid.uuid4().hex, "version_id": world.version.id, "lang": "vi",
            "completed_at": datetime.now(UTC).isoformat(),
            "answers": factories.full_answers(world.version, value)}
    body.update(extra)
    return body


def _post(client, world, body, token=None, code=None):
    code = code or world.counter_a.code
    return client.post(f"/k/{code}/submit", json=body, headers={"X-CSRFToken": token or _token(client, code)})


def _count(db_session):
    return db_session.scalar(select(func.count(Response.id)))


def test_kiosk_page_has_steps_faces_and_no_cache(client, world):
    response = client.get(f"/k/{world.counter_a.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    steps = re.findall(r'<section class="step[ "]', html)
    assert len(steps) == 1 + 1 + 5 + 1  # start, officer, five factors, closing
    assert 'class="lv f5"' in html and "Nguyễn Thị Mai" in html  # faces are drawn by public.css
    assert 'data-min-gap="5"' in html
    assert "<script src=" in html and "<script>" not in html  # no inline script (CSP)


def test_submit_stores_once_even_when_resent(client, world, db_session):
    body = _payload(world, officer=str(world.officer_a.id))
    token = _token(client, world.counter_a.code)
    first = _post(client, world, body, token)
    assert first.status_code == 201 and first.get_json() == {"status": "stored"}
    again = _post(client, world, body, token)
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    assert _count(db_session) == 1
    stored = db_session.scalar(select(Response))
    assert (stored.channel, stored.officer_id, stored.device_id) == ("kiosk", world.officer_a.id, None)


def test_a_second_copy_of_one_response_is_refused_by_the_unique_key(world, db_session, app):
    """The database decides with ON CONFLICT, not a look-up before the insert."""
    from werkzeug.datastructures import MultiDict

    with app.test_request_context():
        info = counter_info(world.counter_a.code)
        ctx = SubmissionContext(channel="kiosk", counter=info,
                                version=version_spec(info.version_id, info.version_published_at))
        form = MultiDict(factories.full_answers(world.version, 4))
        key = uuid.uuid4().hex
        first = submit_response(ctx, form, key)
        try:
            submit_response(ctx, form, key)
        except DuplicateSubmission as dup:
            assert dup.response.id == first
        else:
            raise AssertionError("the second copy was stored")
    assert _count(db_session) == 1
    assert len(db_session.get(Response, first).answers) == len(form)


def test_pages_of_the_new_and_the_retired_version_are_both_taken(client, world, db_session, app):
    """With the counter cached, a page made from a version published seconds ago is accepted, and so is a
    page still showing the version it replaced; each response keeps the version it answered."""
    from feedback_app.surveys.questionnaires import new_draft_from, publish

    app.config["COUNTER_CACHE_SECONDS"] = 60
    try:
        assert _post(client, world, _payload(world)).status_code == 201  # caches the counter
        draft = new_draft_from(world.version)
        db_session.commit()
        as_draft = _payload(world, version_id=draft.id)
        as_draft["answers"] = factories.full_answers(draft, 5)
        assert _post(client, world, as_draft).status_code == 409  # drafts are for staff only
        publish(draft)
        db_session.commit()
        new_page = _payload(world, version_id=draft.id)
        new_page["answers"] = as_draft["answers"]
        assert _post(client, world, new_page).status_code == 201
        assert _post(client, world, _payload(world)).status_code == 201  # the retired version's page
        versions = db_session.scalars(select(Response.version_id).order_by(Response.id)).all()
        assert versions == [world.version.id, draft.id, world.version.id]
        assert _post(client, world, _payload(world, version_id=999_999)).status_code == 409
    finally:
        app.config["COUNTER_CACHE_SECONDS"] = 0
        app.extensions.pop("survey_specs", None)


def test_missing_answer_is_a_problem_json_with_the_field(client, world, db_session):
    body = _payload(world)
    question = next(q for q in world.version.questions if q.is_scale)
    del body["answers"][f"q{question.id}"]
    response = _post(client, world, body)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert fields == {f"q{question.id}": "Vui lòng chọn một mức đánh giá cho câu này."}
    assert _count(db_session) == 0


def test_garbage_body_and_old_version_are_4xx(client, world, db_session):
    token = _token(client, world.counter_a.code)
    bad = client.post(f"/k/{world.counter_a.code}/submit", data="not json", content_type="application/json",
                      headers={"X-CSRFToken": token})
    assert bad.status_code == 400
    stale = _post(client, world, _payload(world, version_id=world.version.id + 999), token)
    assert stale.status_code == 409
    assert _count(db_session) == 0


def test_submit_without_token_is_refused(client, world, db_session):
    response = client.post(f"/k/{world.counter_a.code}/submit", json=_payload(world))
    assert response.status_code == 400
    assert _count(db_session) == 0


def _register_device(client, world, login_as):
    """A kiosk registered yesterday, activated in this browser (the client now carries its cookie)."""
    login_as("office")
    device = KioskDevice(name="Máy tính bảng quầy A", counter=world.counter_a, token_hash="x" * 64,
                         registered_at=datetime.now(UTC) - timedelta(days=1))
    db.session.add(device)
    db.session.commit()
    token = factories.csrf_token(client, f"/admin/kiosks/{device.id}/activate")
    response = client.post(f"/admin/kiosks/{device.id}/activate", data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "kiosk_device=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/results")})
    return device


def test_registered_kiosk_marks_its_responses(client, world, db_session, login_as):
    device = _register_device(client, world, login_as)
    assert _post(client, world, _payload(world)).status_code == 201
    stored = db_session.scalar(select(Response))
    assert stored.device_id == device.id and stored.review_status == "none"
    html = client.get(f"/k/{world.counter_a.code}").get_data(as_text=True)
    assert "Máy tính bảng quầy A" in html
    # The same device cookie does not mark responses at another counter.
    assert _post(client, world, _payload(world), code=world.counter_b.code).status_code == 201
    other = db_session.scalar(select(Response).where(Response.counter_id == world.counter_b.id))
    assert other.device_id is None


def test_kiosk_responses_closer_than_the_gap_are_flagged_not_dropped(client, world, db_session, login_as):
    _register_device(client, world, login_as)
    start = datetime.now(UTC) - timedelta(minutes=5)
    token = _token(client, world.counter_a.code)
    for offset in (0, 2, 20):  # 2 s after the first is inside the 5 s gap; 20 s is not
        body = _payload(world, completed_at=(start + timedelta(seconds=offset)).isoformat())
        assert _post(client, world, body, token).status_code == 201
    rows = db_session.scalars(select(Response).order_by(Response.completed_at)).all()
    assert [r.review_status for r in rows] == ["none", "pending", "none"]
    assert rows[1].flag_reason == "kiosk_gap"


def _completed(db_session) -> list[datetime]:
    return [r.completed_at.replace(tzinfo=UTC) for r in db_session.scalars(select(Response).order_by(Response.id))]


def test_an_anonymous_page_is_filed_at_server_time_whatever_its_clock(client, world, db_session):
    """Only a registered kiosk may have an offline queue: anyone else claiming an earlier time is filed now."""
    two_days_back = datetime.now(UTC) - timedelta(days=2) + timedelta(minutes=5)
    assert _post(client, world, _payload(world, completed_at=two_days_back.isoformat())).status_code == 201
    stored = db_session.scalar(select(Response))
    assert abs((stored.completed_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 60
    assert stored.local_date == datetime.now(UTC).astimezone(LOCAL_TZ).date()


def test_a_registered_kiosks_queue_keeps_its_times_within_what_the_server_knows(client, world, db_session,
                                                                                login_as):
    _register_device(client, world, login_as)
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    assert _post(client, world, _payload(world, completed_at=three_hours_ago.isoformat())).status_code == 201
    assert abs((_completed(db_session)[-1] - three_hours_ago).total_seconds()) < 1  # queued offline: kept
    # The device said its queue was empty: nothing it sends later was completed before that.
    assert client.get(f"/k/{world.counter_a.code}/token?pending=0").status_code == 200
    before_heartbeat = datetime.now(UTC) - timedelta(minutes=2)
    assert _post(client, world, _payload(world, completed_at=before_heartbeat.isoformat())).status_code == 201
    assert (datetime.now(UTC) - _completed(db_session)[-1]).total_seconds() < 60
    # A clock in the future, or beyond the offline window, is not trusted either.
    for claimed in (datetime.now(UTC) + timedelta(minutes=3), datetime.now(UTC) - timedelta(days=3)):
        _post(client, world, _payload(world, completed_at=claimed.isoformat()))
        assert (datetime.now(UTC) - _completed(db_session)[-1]).total_seconds() < 60


def test_six_responses_in_one_second_cannot_claim_to_be_ten_seconds_apart(client, world, db_session, login_as):
    """A registered kiosk that has just called in cannot spread a burst over past times it was online."""
    _register_device(client, world, login_as)
    assert client.get(f"/k/{world.counter_a.code}/token?pending=0").status_code == 200
    now = datetime.now(UTC)
    token = _token(client, world.counter_a.code)
    for n in range(6):
        claimed = now - timedelta(seconds=60 - 10 * n)
        assert _post(client, world, _payload(world, completed_at=claimed.isoformat()), token).status_code == 201
    statuses = db_session.scalars(select(Response.review_status).order_by(Response.id)).all()
    assert statuses == ["none"] + ["pending"] * 5


def test_a_kiosk_left_open_all_day_gets_a_fresh_token(client, world, app, db_session):
    """An expired form token is refused as CSRF (the kiosk script then fetches a new one and resends)."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    _token(client, world.counter_a.code)
    with client.session_transaction() as session:
        raw = session["csrf_token"]

    class TwoHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * 3600

    expired = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token", signer=TwoHoursAgo).dumps(raw)
    body = _payload(world)
    refused = _post(client, world, body, token=expired)
    assert refused.status_code == 400 and refused.get_json()["title"] == "CSRF"
    assert _count(db_session) == 0
    assert _post(client, world, body).status_code == 201  # same response, fresh token: stored once
    assert _count(db_session) == 1
