"""/s/<token>: open, save a draft, resume, submit once; answered, expired and unknown links; no personal data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import Response
from feedback_app.sms.invitations import answer_invitation, survey_target
from feedback_app.surveys.submission import DuplicateSubmission, invitation_key, parse_values
from feedback_app.timeutil import utcnow

from . import factories
from .invitation_helpers import invite


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _scale_ids(world) -> list[int]:
    return [q.id for q in world.version.questions if q.is_scale]


@pytest.fixture
def link(world, db_session):
    invitation, token = invite(world.agency.id, counter=world.counter_a, officer=world.officer_a,
                               service=world.service_a)
    db_session.commit()
    return invitation, token


def test_open_draft_resume_submit_then_used(client, world, link):
    invitation, token = link
    page = client.get(f"/s/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # Tied to the dossier's counter, officer and service; never the phone or the citizen's name.
    assert world.officer_a.full_name in html and world.service_a.name in html and world.counter_a.name in html
    assert "0905123456" not in html and "0905" not in html and "Nguyễn Văn Dân" not in html
    db.session.refresh(invitation)
    opened = invitation.opened_at
    assert opened is not None
    client.get(f"/s/{token}")
    db.session.refresh(invitation)
    assert invitation.opened_at == opened  # the first opening only

    first, second = _scale_ids(world)[:2]
    token_field = _csrf(html)
    saved = client.post(f"/s/{token}/luu", data={"csrf_token": token_field, "version_id": world.version.id,
                                                 f"q{first}": "4", f"q{second}": "2", "officer": "999"},
                        headers={"Accept": "application/json"})
    assert saved.status_code == 200 and saved.get_json() == {"saved": True}
    db.session.refresh(invitation)
    assert invitation.draft["values"] == {f"q{first}": ["4"], f"q{second}": ["2"]}  # nothing but answers
    assert invitation.status == "scheduled"

    resumed = client.get(f"/s/{token}").get_data(as_text=True)
    assert re.search(rf'name="q{first}" value="4" checked', resumed)
    assert re.search(rf'name="q{second}" value="2" checked', resumed)

    # Half answered: the submission shows what to fix and spends nothing.
    half = client.post(f"/s/{token}", data={"csrf_token": token_field, "version_id": world.version.id,
                                            f"q{first}": "4"})
    assert half.status_code == 400
    db.session.refresh(invitation)
    assert invitation.status == "scheduled" and invitation.answered_at is None

    answers = factories.full_answers(world.version, 4)
    done = client.post(f"/s/{token}", data={"csrf_token": token_field, "version_id": world.version.id, **answers})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/s/{token}/cam-on")
    db.session.refresh(invitation)
    assert invitation.status == "answered" and invitation.answered_via == "link"
    assert invitation.draft is None and invitation.answered_at is not None
    response = db.session.scalar(select(Response).where(Response.idempotency_key == invitation_key(invitation.id)))
    assert response.channel == "sms" and response.verified and response.review_status == "none"
    assert response.counter_id == world.counter_a.id and response.officer_id == world.officer_a.id
    assert response.service_id == world.service_a.id and response.dossier_code is None and response.client_key is None

    assert "Cảm ơn" in client.get(f"/s/{token}/cam-on").get_data(as_text=True)
    used = client.get(f"/s/{token}")
    assert used.status_code == 200
    assert "đã đánh giá hồ sơ này rồi" in used.get_data(as_text=True)
    again = client.post(f"/s/{token}", data={"csrf_token": token_field, "version_id": world.version.id, **answers})
    assert again.status_code == 409
    assert db.session.scalar(select(func.count(Response.id)).where(
        Response.idempotency_key == invitation_key(invitation.id))) == 1


def test_link_and_sms_reply_count_once(client, world, link):
    invitation, token = link
    counter, version = survey_target(invitation)
    parsed = parse_values(counter, version, factories.full_answers(world.version, 5))
    answer_invitation(invitation, parsed, via="reply", version=version, counter=counter)
    db.session.commit()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "đã đánh giá hồ sơ này rồi" in html
    invitation.status = "sent"  # as if the link's page had been open before the reply arrived
    with pytest.raises(DuplicateSubmission):
        answer_invitation(invitation, parsed, via="link", version=version, counter=counter)


def test_expired_and_unknown(client, world, link):
    invitation, token = link
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    expired = client.get(f"/s/{token}")
    assert expired.status_code == 410
    assert "đã hết hạn" in expired.get_data(as_text=True)
    posted = client.post(f"/s/{token}", data=factories.full_answers(world.version, 5))
    assert posted.status_code == 410
    unknown = client.get("/s/AAAAAAAAAAAA")
    assert unknown.status_code == 404 and "Không tìm thấy" in unknown.get_data(as_text=True)
    assert client.get("/s/short").status_code == 404
    assert client.post("/s/AAAAAAAAAAAA/luu", data={}).status_code == 404


def test_csrf_required_and_answers_kept(client, world, link):
    _invitation, token = link
    first = _scale_ids(world)[0]
    refused = client.post(f"/s/{token}", data={"version_id": world.version.id, f"q{first}": "3"})
    assert refused.status_code == 400
    assert re.search(rf'name="q{first}" value="3" checked', refused.get_data(as_text=True))
    assert client.post(f"/s/{token}/luu", data={f"q{first}": "3"},
                       headers={"Accept": "application/json"}).status_code == 400


def test_no_js_save_button_and_language_switch(client, world, link):
    invitation, token = link
    html = client.get(f"/s/{token}").get_data(as_text=True)
    first = _scale_ids(world)[0]
    saved = client.post(f"/s/{token}/luu", data={"csrf_token": _csrf(html), "version_id": world.version.id,
                                                 f"q{first}": "5"})
    assert saved.status_code == 303 and "da_luu=1" in saved.headers["Location"]
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu các câu trả lời" in page
    switched = client.post(f"/s/{token}/luu?lang=en", data={"csrf_token": _csrf(page), "version_id": world.version.id,
                                                            f"q{first}": "2"})
    assert switched.status_code == 303 and "lang=en" in switched.headers.get("Set-Cookie", "")
    english = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'lang="en"' in english and re.search(rf'name="q{first}" value="2" checked', english)


def test_no_ip_burst_rule_for_links(app, client, world, db_session):
    """Many invitations answered from one address (a family's shared phone, a carrier's NAT): none is flagged."""
    app.config["BURST_MAX_PER_IP"], before = 2, app.config["BURST_MAX_PER_IP"]
    try:
        for _ in range(4):
            invitation, token = invite(world.agency.id, counter=world.counter_a, phone=None)
            assert token is None  # no phone: skipped
            invitation, token = invite(world.agency.id, counter=world.counter_a,
                                       phone=f"09{next(factories._seq):08d}")
            db_session.commit()
            html = client.get(f"/s/{token}").get_data(as_text=True)
            done = client.post(f"/s/{token}", data={"csrf_token": _csrf(html), "version_id": world.version.id,
                                                    **factories.full_answers(world.version, 5)})
            assert done.status_code == 303
    finally:
        app.config["BURST_MAX_PER_IP"] = before
    flagged = db.session.scalar(select(func.count(Response.id)).where(Response.counter_id == world.counter_a.id,
                                                                      Response.review_status != "none"))
    assert flagged == 0


def test_counterless_dossier_is_answered_for_the_agency(client, world, db_session):
    invitation, token = invite(world.agency.id, counter=None, officer=world.officer_b)
    db_session.commit()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert world.agency.name in html and world.officer_b.full_name in html
    done = client.post(f"/s/{token}", data={"csrf_token": _csrf(html), "version_id": world.version.id,
                                            **factories.full_answers(world.version, 3)})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    response = db.session.scalar(select(Response).where(Response.idempotency_key == invitation_key(invitation.id)))
    assert response.counter_id is None and response.unit_id == world.agency.id
    assert response.officer_id == world.officer_b.id


def test_the_invitation_keeps_only_the_hour_it_was_answered(world, link):
    # The exact second would pair the invitation (and so the phone) with the response stored in that second.
    invitation, _token = link
    counter, version = survey_target(invitation)
    parsed = parse_values(counter, version, factories.full_answers(world.version, 4))
    response_id = answer_invitation(invitation, parsed, via="link", version=version, counter=counter)
    response = db.session.get(Response, response_id)
    answered = invitation.answered_at
    assert (answered.minute, answered.second, answered.microsecond) == (0, 0, 0)
    assert response.dossier_code is None and response.client_key is None


def test_the_response_does_not_name_its_invitation(world, link):
    # Its idempotency key is the invitation's (the link and a reply count once) but keyed: the invitation's id in
    # clear would join the anonymous response to the dossier and the phone.
    invitation, _token = link
    counter, version = survey_target(invitation)
    parsed = parse_values(counter, version, factories.full_answers(world.version, 4))
    response = db.session.get(Response, answer_invitation(invitation, parsed, via="link", version=version,
                                                          counter=counter))
    assert f"{invitation.id:012d}" not in response.idempotency_key
    assert not response.idempotency_key.startswith("invitation-")
    assert response.idempotency_key == invitation_key(invitation.id)
