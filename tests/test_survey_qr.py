"""The phone form at /q/<counter>: storing, validation, replays and forged forms."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from feedback_app.models import Answer, Response

from . import factories


def _form(client, world, **extra):
    html = client.get(f"/q/{world.counter_a.code}").get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
        "key": re.search(r'name="key" value="([^"]+)"', html).group(1),
        **factories.full_answers(world.version, 4),
    }
    data.update(extra)
    return data


def _count(db_session, model=Response):
    return db_session.scalar(select(func.count(model.id)))


def test_page_shows_every_question_and_the_counter(client, world):
    response = client.get(f"/q/{world.counter_a.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert world.counter_a.name in html
    assert "Tiếp cận dịch vụ" in html and "Không có ý kiến" in html
    assert html.count('type="radio"') >= 28 * 5
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in html  # the phone page needs no script at all


def test_complete_form_is_stored_with_one_row_per_answer(client, world, db_session):
    expectations = next(q for q in world.version.questions if q.kind == "expectations")
    comment = next(q for q in world.version.questions if q.kind == "comment")
    data = _form(client, world, officer=str(world.officer_a.id), service=str(world.service_a.id))
    data[f"q{expectations.id}"] = [str(expectations.options[0].id), str(expectations.options[3].id)]
    data[f"q{comment.id}"] = "  Cán bộ rất nhiệt tình  "
    response = client.post(f"/q/{world.counter_a.code}", data=data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/q/{world.counter_a.code}/cam-on")
    stored = db_session.scalar(select(Response))
    assert (stored.channel, stored.counter_id, stored.unit_id) == ("qr", world.counter_a.id, world.unit_a.id)
    assert (stored.officer_id, stored.service_id, stored.review_status) == (world.officer_a.id, world.service_a.id,
                                                                             "none")
    answers = stored.answers
    scale_answers = [a for a in answers if a.value is not None and a.question.kind != "screening"]
    assert len(scale_answers) == len([q for q in world.version.questions if q.is_scale])
    assert [a.value for a in answers if a.question.kind == "screening"] == [1]  # "Có": the PAKN factor asked
    assert sorted(a.option_id for a in answers if a.option_id) == sorted(
        [expectations.options[0].id, expectations.options[3].id])
    assert [a.text for a in answers if a.text] == ["Cán bộ rất nhiệt tình"]
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cảm ơn" in thanks and "Gửi phản ánh, kiến nghị" in thanks


def test_missing_answers_get_a_message_and_keep_the_others(client, world, db_session):
    first, second = [q for q in world.version.questions if q.is_scale][:2]
    data = _form(client, world)
    del data[f"q{first.id}"]
    data[f"q{second.id}"] = "na"
    response = client.post(f"/q/{world.counter_a.code}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vui lòng chọn một mức đánh giá cho câu này." in html
    assert f'href="#q{first.id}"' in html
    # The citizen's other answers are still chosen.
    assert re.search(rf'name="q{second.id}" value="na" checked', html)
    third = [q for q in world.version.questions if q.is_scale][2]
    assert re.search(rf'name="q{third.id}" value="4" checked', html)
    assert _count(db_session) == 0 and _count(db_session, Answer) == 0


def test_value_off_the_scale_is_refused(client, world, db_session):
    question = next(q for q in world.version.questions if q.is_scale)
    response = client.post(f"/q/{world.counter_a.code}", data=_form(client, world, **{f"q{question.id}": "7"}))
    assert response.status_code == 400
    assert "Mức đánh giá không hợp lệ" in response.get_data(as_text=True)
    assert _count(db_session) == 0


def test_no_opinion_is_refused_on_satisfaction_questions(client, world, db_session):
    question = next(q for q in world.version.questions if q.kind == "factor_satisfaction")
    response = client.post(f"/q/{world.counter_a.code}", data=_form(client, world, **{f"q{question.id}": "na"}))
    # "No opinion" is offered for criteria only; the satisfaction question of a factor needs a level.
    assert response.status_code == 400
    assert _count(db_session) == 0


def test_too_many_expectations_are_refused(client, world, db_session):
    expectations = next(q for q in world.version.questions if q.kind == "expectations")
    data = _form(client, world)
    data[f"q{expectations.id}"] = [str(o.id) for o in expectations.options[:4]]
    response = client.post(f"/q/{world.counter_a.code}", data=data)
    assert response.status_code == 400
    assert "Vui lòng chọn tối đa 3 nội dung." in response.get_data(as_text=True)
    assert _count(db_session) == 0


def test_officer_from_another_counter_is_refused(client, world, db_session):
    response = client.post(f"/q/{world.counter_a.code}", data=_form(client, world, officer=str(world.officer_b.id)))
    assert response.status_code == 400
    assert "không làm việc tại quầy này" in response.get_data(as_text=True)
    assert _count(db_session) == 0


def test_unknown_counter_is_a_clear_404(client, world):
    response = client.get("/q/KHONG-CO")
    assert response.status_code == 404
    assert "Không tìm thấy quầy này" in response.get_data(as_text=True)
    assert client.post("/q/KHONG-CO", data={}).status_code in (400, 404)


def test_replayed_form_is_counted_once(client, world, db_session):
    data = _form(client, world)
    assert client.post(f"/q/{world.counter_a.code}", data=data).status_code == 303
    replay = client.post(f"/q/{world.counter_a.code}", data=data)
    assert replay.status_code == 409
    assert "đã được ghi nhận trước đó" in replay.get_data(as_text=True)
    assert _count(db_session) == 1


def test_forged_form_without_token_keeps_answers_and_stores_nothing(client, world, db_session):
    data = _form(client, world)
    question = next(q for q in world.version.questions if q.is_scale)
    data[f"q{question.id}"] = "2"
    data["csrf_token"] = "forged"
    response = client.post(f"/q/{world.counter_a.code}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in html
    assert re.search(rf'name="q{question.id}" value="2" checked', html)
    assert _count(db_session) == 0
    # The page carries a fresh token: sending again works.
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    data["csrf_token"] = fresh
    assert client.post(f"/q/{world.counter_a.code}", data=data).status_code == 303
    assert _count(db_session) == 1


def test_malformed_key_is_refused(client, world, db_session):
    response = client.post(f"/q/{world.counter_a.code}", data=_form(client, world, key="x"))
    assert response.status_code == 400
    assert _count(db_session) == 0


def test_english_switch(client, world):
    html = client.get(f"/q/{world.counter_a.code}?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "The waiting area has enough seats" in html
    assert "Tiếng Việt" in html
    # The choice sticks in a cookie for the next page.
    again = client.get(f"/q/{world.counter_a.code}").get_data(as_text=True)
    assert "The waiting area has enough seats" in again


def test_language_switch_only_redirects_within_the_site(client, world):
    response = client.get("/lang/en?next=https://evil.example/x")
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_counter_with_the_quick_rating(client, world, db_session):
    version = factories.quick_version()
    world.counter_b.questionnaire_id = version.questionnaire_id
    db_session.commit()
    html = client.get(f"/q/{world.counter_b.code}").get_data(as_text=True)
    assert "Rất hài lòng" in html and "Rất không hài lòng" not in html
    assert 'value="na"' not in html and "Không có ý kiến" not in html
    kiosk = client.get(f"/k/{world.counter_b.code}").get_data(as_text=True)
    assert 'class="lv f1"' in kiosk and 'class="lv f3"' in kiosk and 'class="lv f5"' in kiosk
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    key = re.search(r'name="key" value="([^"]+)"', html).group(1)
    question = version.questions[0]
    response = client.post(f"/q/{world.counter_b.code}", data={
        "csrf_token": token, "key": key, f"q{question.id}": "3", "officer": str(world.officer_b.id),
        "dossier_code": "000.00.17.H34-260306-1001"})
    assert response.status_code == 303
    stored = db_session.scalar(select(Response))
    assert (stored.version_id, stored.dossier_code, stored.officer_id) == (
        version.id, "000.00.17.H34-260306-1001", world.officer_b.id)
