"""What the review of the survey half found on the citizen's paths, each fixed with its test."""

from __future__ import annotations

import re

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from feedback_app.extensions import db, limiter
from feedback_app.models import Answer, RefusedSubmission, Response

from . import factories
from .test_kiosk import _payload, _post, _register_device, _token


def _phone_form(client, code):
    html = client.get(f"/q/{code}").get_data(as_text=True)
    return {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
            for name in ("csrf_token", "key", "version_id")}


def _count(model=Response):
    return db.session.scalar(select(func.count(model.id)))


# --- The phone form ------------------------------------------------------------------------------------------

def test_another_questionnaires_version_is_refused(client, world):
    """A version the counter never shows (another questionnaire's) is not stored under this counter."""
    quick = factories.quick_version()
    data = {**_phone_form(client, world.counter_a.code), "version_id": str(quick.id),
            **factories.full_answers(quick, 3)}
    response = client.post(f"/q/{world.counter_a.code}", data=data)
    assert response.status_code == 409
    assert _count() == 0
    body = {**_payload(world), "version_id": quick.id, "answers": factories.full_answers(quick, 3)}
    assert _post(client, world, body).status_code == 409
    assert _count() == 0


def test_one_mistake_on_a_page_of_a_retired_version_keeps_every_answer(client, world, db_session):
    from feedback_app.surveys.questionnaires import new_draft_from, publish

    page = _phone_form(client, world.counter_a.code)  # made from version 1
    publish(new_draft_from(world.version))  # version 1 retires while the citizen answers
    db_session.commit()
    answers = factories.full_answers(world.version, 4)
    missing = next(q for q in world.version.questions if q.kind == "criterion")
    del answers[f"q{missing.id}"]
    response = client.post(f"/q/{world.counter_a.code}", data={**page, **answers})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'name="version_id" value="{world.version.id}"' in html  # still the version answered
    kept = [q for q in world.version.questions if q.is_scale and q.id != missing.id]
    assert all(re.search(rf'name="q{q.id}" value="4" checked', html) for q in kept)
    assert _count() == 0


def test_the_language_switch_brings_the_answers_back_in_the_other_language(client, world):
    page = _phone_form(client, world.counter_a.code)
    first = next(q for q in world.version.questions if q.kind == "criterion")
    data = {**page, f"q{first.id}": "2", "dossier_code": "000.00.17.H42-261120-0001"}
    response = client.post(f"/q/{world.counter_a.code}/ngon-ngu?lang=en", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="en">' in html
    assert re.search(rf'name="q{first.id}" value="2" checked', html)
    assert 'value="000.00.17.H42-261120-0001"' in html
    assert "The waiting area has enough seats" in html and 'class="err"' not in html
    assert "lang=en" in response.headers["Set-Cookie"]
    assert f'value="{page["key"]}"' not in html  # a posted key is never taken over: a new one
    assert re.search(r'name="key" value="[0-9a-f]{32}"', html)
    assert _count() == 0


def test_the_intro_is_honest_about_length_and_the_dossier_code(client, world):
    html = client.get(f"/q/{world.counter_a.code}").get_data(as_text=True)
    assert "Gồm 28 câu chọn mức, mất khoảng 5 phút" in html
    assert "khoảng 2 phút" not in html
    assert "Khi ghi mã hồ sơ, phiếu không còn ẩn danh" in html


def test_a_citizen_who_gave_no_feedback_is_not_asked_about_its_handling(client, world, db_session):
    screening = next(q for q in world.version.questions if q.kind == "screening")
    pakn = [q for q in world.version.questions if q.factor_id == screening.factor_id and q.is_scale]
    answers = factories.full_answers(world.version, 5, screening="0")
    for q in pakn:
        del answers[f"q{q.id}"]
    assert client.post(f"/q/{world.counter_a.code}",
                       data={**_phone_form(client, world.counter_a.code), **answers}).status_code == 303
    stored = db_session.scalars(select(Answer.question_id)).all()
    assert screening.id in stored and not set(stored) & {q.id for q in pakn}
    # Answers sent anyway for a factor the citizen said "Không" to are not stored either.
    answers = factories.full_answers(world.version, 5, screening="0")
    assert client.post(f"/q/{world.counter_a.code}",
                       data={**_phone_form(client, world.counter_a.code), **answers}).status_code == 303
    assert not set(db_session.scalars(select(Answer.question_id)).all()) & {q.id for q in pakn}


def test_the_screening_question_must_be_answered(client, world):
    screening = next(q for q in world.version.questions if q.kind == "screening")
    answers = factories.full_answers(world.version, 5)
    del answers[f"q{screening.id}"]
    response = client.post(f"/q/{world.counter_a.code}", data={**_phone_form(client, world.counter_a.code),
                                                                **answers})
    assert response.status_code == 400
    assert "Vui lòng chọn “Có” hoặc “Không” cho câu này." in response.get_data(as_text=True)


def test_comment_controls_and_bidi_overrides_are_refused_invisible_characters_dropped(client, world, db_session):
    comment = next(q for q in world.version.questions if q.kind == "comment")
    for bad in ("Tốt\x85lắm", "Tốt \u202elắm", "Tốt \u2066lắm\u2069", "\x9bTốt"):
        body = _payload(world)
        body["answers"][f"q{comment.id}"] = bad
        response = _post(client, world, body)
        assert response.status_code == 400, repr(bad)
        assert response.get_json()["errors"][0]["field"] == f"q{comment.id}"
    body = _payload(world)
    body["answers"][f"q{comment.id}"] = "Cán\u200b bộ\ufeff tốt\u200d"
    assert _post(client, world, body).status_code == 201
    assert db_session.scalar(select(Answer.text).where(Answer.question_id == comment.id)) == "Cán bộ tốt"


def test_a_database_outage_keeps_the_answers_and_says_nothing_was_stored(client, world):
    page = _phone_form(client, world.counter_a.code)
    answers = factories.full_answers(world.version, 4)

    def server_gone(_conn, _cursor, statement, *_args):
        # What psycopg raises when the server goes away mid-request, at the driver's level.
        if statement.lstrip().upper().startswith(("INSERT", "WITH")):
            raise OperationalError(statement, {}, Exception("server closed the connection unexpectedly"))

    event.listen(db.engine, "before_cursor_execute", server_gone)
    try:
        response = client.post(f"/q/{world.counter_a.code}", data={**page, **answers})
    finally:
        event.remove(db.engine, "before_cursor_execute", server_gone)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "CHƯA được lưu" in html and "chưa bị mất" not in html
    first = next(q for q in world.version.questions if q.is_scale)
    assert re.search(rf'name="q{first.id}" value="4" checked', html)
    assert f'name="key" value="{page["key"]}"' in html  # the same response when sent again


# --- The kiosk -----------------------------------------------------------------------------------------------

def test_a_random_device_cookie_does_not_escape_the_address_limit(client, world, app):
    app.config["SURVEY_SUBMIT_LIMIT"] = "3 per minute"
    limiter.reset()
    try:
        token = _token(client, world.counter_a.code)
        codes = []
        for n in range(5):
            client.set_cookie("kiosk_device", f"made-up-{n}")
            codes.append(_post(client, world, _payload(world), token).status_code)
        assert codes == [201, 201, 201, 429, 429]
    finally:
        app.config["SURVEY_SUBMIT_LIMIT"] = "1000 per minute"
        limiter.reset()


def test_a_registered_kiosk_has_its_own_ceiling_and_marks_its_responses_verified(client, world, app, login_as,
                                                                                 db_session):
    _register_device(client, world, login_as)
    app.config["SURVEY_SUBMIT_LIMIT"] = "2 per minute"
    limiter.reset()
    try:
        token = _token(client, world.counter_a.code)
        assert [_post(client, world, _payload(world), token).status_code for _ in range(3)] == [201, 201, 429]
        other_browser = app.test_client()  # same address, no device: its own ceiling
        assert _post(other_browser, world, _payload(world)).status_code == 201
    finally:
        app.config["SURVEY_SUBMIT_LIMIT"] = "1000 per minute"
        limiter.reset()
    rows = db_session.scalars(select(Response).order_by(Response.id)).all()
    assert [(r.device_id is not None, r.verified) for r in rows] == [(True, True), (True, True), (False, False)]


def test_a_registered_kiosks_refused_response_is_kept_for_staff_once(client, world, login_as, db_session):
    device = _register_device(client, world, login_as)
    body = _payload(world)
    first = next(q for q in world.version.questions if q.is_scale)
    del body["answers"][f"q{first.id}"]
    response = _post(client, world, body)
    assert response.status_code == 400 and response.get_json()["kept"] is True
    assert _post(client, world, body).get_json()["kept"] is True  # its reply was lost: sent again, kept once
    stale = {**_payload(world), "version_id": 999_999}
    assert _post(client, world, stale).status_code == 409
    kept = db_session.scalars(select(RefusedSubmission).order_by(RefusedSubmission.id)).all()
    assert [(r.reason, r.counter_id, r.device_id) for r in kept] == [
        ("invalid", world.counter_a.id, device.id), ("unknown_version", world.counter_a.id, device.id)]
    assert kept[0].payload["key"] == body["key"] and f"q{first.id}" in kept[0].errors
    assert _count() == 0  # kept apart: nothing counts
    login_as("office")
    page = client.get("/admin/refused").get_data(as_text=True)
    assert "Thiếu hoặc sai câu trả lời" in page and world.counter_a.name in page
    token = factories.csrf_token(client, "/admin/refused")
    done = client.post("/admin/refused", data={"csrf_token": token, "refused_id": [str(r.id) for r in kept],
                                               "note": "Đã liên hệ quầy"})
    assert done.status_code == 303
    db_session.expire_all()
    assert {r.status for r in db_session.scalars(select(RefusedSubmission))} == {"resolved"}


def test_an_open_pages_refused_response_is_not_stored(client, world, db_session):
    """Anyone can load a kiosk page: what an unregistered browser sends wrong is refused, not queued for staff."""
    body = _payload(world)
    del body["answers"][next(iter(body["answers"]))]
    response = _post(client, world, body)
    assert response.status_code == 400 and response.get_json()["kept"] is False
    assert _count(RefusedSubmission) == 0


def test_refused_responses_of_another_agency_stay_out_of_sight(client, world, login_as, db_session):
    _register_device(client, world, login_as)
    body = _payload(world)
    del body["answers"][next(iter(body["answers"]))]
    _post(client, world, body)
    login_as("office", unit=world.unit_b)
    assert world.counter_a.name not in client.get("/admin/refused").get_data(as_text=True)
    row = db_session.scalar(select(RefusedSubmission))
    token = factories.csrf_token(client, "/admin/refused")
    client.post("/admin/refused", data={"csrf_token": token, "refused_id": str(row.id)})
    db_session.refresh(row)
    assert row.status == "open"


def test_the_heartbeat_records_when_the_device_was_last_seen(client, world, login_as, db_session):
    device = _register_device(client, world, login_as)
    assert client.get(f"/k/{world.counter_a.code}/token?pending=2").status_code == 200
    db_session.refresh(device)
    assert device.last_seen_at is not None and device.queue_empty_at is None
    client.get(f"/k/{world.counter_a.code}/token?pending=0")
    db_session.refresh(device)
    assert device.queue_empty_at is not None


# --- Public pages of an inactive counter ------------------------------------------------------------------------

def test_an_inactive_counter_has_no_qr_image_nor_feedback_page(client, world, db_session):
    world.counter_a.active = False
    db_session.commit()
    assert client.get(f"/q/{world.counter_a.code}").status_code == 404
    for path in (f"/qr/{world.counter_a.code}.svg", f"/qr/{world.counter_a.code}.png",
                 f"/phan-anh?quay={world.counter_a.code}", "/phan-anh?quay=NOPE"):
        assert client.get(path).status_code == 404, path
    assert client.get("/phan-anh").status_code == 200


def test_heartbeats_write_at_most_every_ten_seconds_per_device(client, world, login_as, db_session):
    device = _register_device(client, world, login_as)
    client.get(f"/k/{world.counter_a.code}/token?pending=0")
    db_session.refresh(device)
    first = device.queue_empty_at
    assert first is not None
    client.get(f"/k/{world.counter_a.code}/token?pending=0")  # a moment later: nothing to write
    db_session.refresh(device)
    assert device.queue_empty_at == first


def test_a_plain_token_request_is_not_counted_but_a_device_cookie_is(client, world, app):
    app.config["KIOSK_TOKEN_LIMIT"] = "2 per minute"
    limiter.reset()
    try:
        assert [client.get(f"/k/{world.counter_a.code}/token").status_code for _ in range(4)] == [200] * 4
        client.set_cookie("kiosk_device", "not-a-registered-one")
        codes = [client.get(f"/k/{world.counter_a.code}/token").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        app.config["KIOSK_TOKEN_LIMIT"] = "30 per minute"
        limiter.reset()


def test_the_kiosk_list_shows_when_each_tablet_last_called_in(client, world, login_as):
    _register_device(client, world, login_as)
    login_as("office")
    assert "Chưa" in client.get("/admin/kiosks").get_data(as_text=True)  # never called in yet
    client.get(f"/k/{world.counter_a.code}/token?pending=0")
    assert "Chưa" not in client.get("/admin/kiosks").get_data(as_text=True)
