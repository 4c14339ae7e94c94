"""Citizens' SMS through both webhooks: signatures, idempotency, replies that become responses, opt-out/in,
complaints into the PAKN queue, help, and nothing lost."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Complaint, Dossier, OutboxMessage, Response, SurveyInvitation
from feedback_app.models.sms import InboundSms, SmsOptOut
from feedback_app.models.survey import Answer, Question
from feedback_app.phones import phone_hash
from feedback_app.sms import inbound, optout
from feedback_app.sms.signing import signed_headers
from feedback_app.surveys.submission import invitation_key
from feedback_app.timeutil import local_today, utcnow

from . import factories
from .conftest import BACKENDS, migrated_app

TOKEN = "twilio-auth-token-for-tests"
SECRET = "gateway-secret-for-tests"
PHONE = "0905123456"
E164 = "+84905123456"
TWILIO_URL = "http://localhost/webhooks/twilio/sms"
_sids = itertools.count(1)


@pytest.fixture
def gateways(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "SMS_HTTP_SECRET", SECRET)


def sid() -> str:
    return f"SM{next(_sids):032d}"


def twilio_params(body: str, *, sender: str = E164, message_sid: str | None = None) -> dict[str, str]:
    return {"MessageSid": message_sid or sid(), "SmsSid": "x", "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": "+84281234567", "Body": body, "NumMedia": "0"}


def twilio_post(client: FlaskClient, params: dict[str, str], *, url: str = TWILIO_URL, path: str | None = None,
                token: str = TOKEN, signature: str | None = None, base_url: str | None = None):
    """POST as Twilio does: form-encoded, signed with Twilio's own RequestValidator over `url`."""
    signature = signature if signature is not None else RequestValidator(token).compute_signature(url, params)
    kwargs = {"base_url": base_url} if base_url else {}
    return client.post(path or "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature},
                       **kwargs)


def gateway_post(client: FlaskClient, payload: object, *, secret: str = SECRET, timestamp: int | None = None,
                 raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post("/webhooks/sms/inbound", data=body, content_type="application/json",
                       headers=signed_headers(secret, body, timestamp))


def sms(client: FlaskClient, body: str, **kw):
    response = twilio_post(client, twilio_params(body, **kw))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def invite(world: factories.World, *, phone: str = PHONE, status: str = "sent", days_left: int = 5,
           counter=None) -> SurveyInvitation:
    """A sent invitation of a returned dossier, written directly with the models."""
    n = next(_sids)
    today = local_today()
    dossier = Dossier(code=f"SMS-IN-{n}", agency_id=world.agency.id, procedure_name="Cấp giấy phép xây dựng",
                      phone=phone, received_date=today - timedelta(days=10), appointment_date=today,
                      returned_date=today, status="returned", source="api",
                      counter_id=(counter or world.counter_a).id, officer_id=world.officer_a.id,
                      service_id=world.service_a.id)
    db.session.add(dossier)
    db.session.flush()
    now = utcnow()
    invitation = SurveyInvitation(
        dossier_id=dossier.id, phone_hash=phone_hash(phone), agency_id=world.agency.id,
        counter_id=dossier.counter_id, officer_id=dossier.officer_id, service_id=dossier.service_id,
        channel="in_person", status=status, created_at=now - timedelta(hours=1), send_at=now - timedelta(hours=1),
        sent_at=now - timedelta(hours=1), expires_at=now + timedelta(days=days_left))
    db.session.add(invitation)
    db.session.commit()
    return invitation


def rows() -> list[InboundSms]:
    return list(db.session.scalars(select(InboundSms).order_by(InboundSms.id)))


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def response_of(invitation: SurveyInvitation) -> Response | None:
    return db.session.scalar(select(Response).where(Response.idempotency_key == invitation_key(invitation.id)))


def answers_by_code(response: Response) -> dict[str, int | None]:
    found = db.session.execute(select(Question.code, Answer.value).join(Question, Question.id == Answer.question_id)
                               .where(Answer.response_id == response.id)).all()
    return {code: value for code, value in found}


# --- signatures --------------------------------------------------------------------------------------------


def test_twilio_signed_message_is_stored_and_answered_with_empty_twiml(client, world, gateways) -> None:
    response = twilio_post(client, twilio_params("xin chào"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Response" in response.get_data(as_text=True) and "<Message" not in response.get_data(as_text=True)
    [row] = rows()
    assert row.provider == "twilio" and row.body == "xin chào" and row.outcome == "help"
    assert row.phone_hash == phone_hash(PHONE) and row.phone_masked == "0905***456" and row.to_number


@pytest.mark.parametrize("signature", ["", "bad", "AAAA" * 7])
def test_twilio_bad_signature_is_403_and_nothing_stored(client, world, gateways, signature) -> None:
    params = twilio_params("4")
    response = client.post("/webhooks/twilio/sms", data=params,
                           headers={"X-Twilio-Signature": signature} if signature else {})
    assert response.status_code == 403
    assert rows() == []


def test_twilio_signature_over_other_params_or_token_is_403(client, world, gateways) -> None:
    params = twilio_params("STOP")
    signature = RequestValidator(TOKEN).compute_signature(TWILIO_URL, {**params, "Body": "4"})
    assert twilio_post(client, params, signature=signature).status_code == 403
    assert twilio_post(client, params, token="another-token").status_code == 403
    assert rows() == []


def test_twilio_webhook_without_auth_token_is_404(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "")
    params = twilio_params("4")
    assert twilio_post(client, params, token="").status_code == 404
    assert twilio_post(client, params, token="anything").status_code == 404
    assert rows() == []


def test_behind_a_proxy_the_public_url_is_validated(app, client, world, gateways, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://phananh.example.gov.vn")
    params = twilio_params("xin chào")
    # Signed by Twilio over the public https address; the app itself sees http://localhost.
    assert twilio_post(client, params, url="https://phananh.example.gov.vn/webhooks/twilio/sms").status_code == 200
    # A signature over the address the app sees is not Twilio's (nobody outside could have called it).
    other = twilio_params("xin chào")
    assert twilio_post(client, other, url=TWILIO_URL).status_code == 403
    # The query string is part of what Twilio signed.
    third = twilio_params("xin chào")
    url = "https://phananh.example.gov.vn/webhooks/twilio/sms?agency=1"
    assert twilio_post(client, third, url=url, path="/webhooks/twilio/sms?agency=1").status_code == 200
    assert len(rows()) == 2


def test_generic_gateway_hmac(client, world, gateways) -> None:
    payload = {"id": "gw-1", "from": E164, "to": "8077", "text": "xin chào", "received_at": "2026-01-05T10:00:00Z"}
    response = gateway_post(client, payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"status": "ok", "id": "gw-1", "duplicate": False}
    [row] = rows()
    assert row.provider == "http" and row.to_number == "8077" and row.outcome == "help"
    assert row.received_at.isoformat().startswith("2026-01-05T10:00:00")
    assert gateway_post(client, {**payload, "id": "gw-2"}, secret="wrong").status_code == 403
    assert gateway_post(client, {**payload, "id": "gw-3"}, timestamp=int(utcnow().timestamp()) - 3600
                        ).status_code == 403
    unsigned = client.post("/webhooks/sms/inbound", data=json.dumps(payload), content_type="application/json")
    assert unsigned.status_code == 403
    # Signed over one body, another body sent.
    headers = signed_headers(SECRET, b'{"id": "gw-4"}')
    tampered = client.post("/webhooks/sms/inbound", data=json.dumps({**payload, "id": "gw-4"}),
                           content_type="application/json", headers=headers)
    assert tampered.status_code == 403
    assert len(rows()) == 1


def test_generic_gateway_not_configured_is_404(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SMS_HTTP_SECRET", "")
    payload = {"id": "gw-x", "from": E164, "text": "4"}
    assert gateway_post(client, payload, secret="").status_code == 404
    assert gateway_post(client, payload, secret="guess").status_code == 404
    assert rows() == []


@pytest.mark.parametrize(("raw", "field"), [
    (b"not json", None), (b"[1, 2]", "body"), (json.dumps({"from": E164, "text": "4"}).encode(), "id"),
    (json.dumps({"id": "a", "text": "4"}).encode(), "from"), (json.dumps({"id": "a", "from": E164, "text": 4}).encode(),
                                                              "text"),
    (json.dumps({"id": "x" * 81, "from": E164}).encode(), "id"),
])
def test_generic_gateway_malformed_message_is_400_naming_the_field(client, world, gateways, raw, field) -> None:
    response = gateway_post(client, None, raw=raw)
    assert response.status_code == 400
    if field:
        assert field in {e["field"] for e in response.get_json()["errors"]}
    assert rows() == []


# --- idempotency ---------------------------------------------------------------------------------------------


def test_same_message_sid_twice_is_one_row_and_one_response(client, world, gateways) -> None:
    invitation = invite(world)
    params = twilio_params("5")
    assert twilio_post(client, params).status_code == 200
    assert twilio_post(client, params).status_code == 200
    assert len(rows()) == 1
    assert db.session.scalar(select(func.count()).select_from(Response).where(
        Response.idempotency_key == invitation_key(invitation.id))) == 1
    assert outbox() == []  # a counted answer gets no SMS (see test_one_digit_is_the_overall_rating)


def test_generic_gateway_retry_is_told_duplicate(client, world, gateways) -> None:
    payload = {"id": 777, "from": E164, "text": "STOP"}
    assert gateway_post(client, payload).get_json()["duplicate"] is False
    assert gateway_post(client, payload).get_json()["duplicate"] is True
    assert len(rows()) == 1 and len(outbox("reply_opt_out")) == 1


def test_same_id_from_two_gateways_is_two_messages(client, world, gateways) -> None:
    sms(client, "xin chào", message_sid="shared-id")
    gateway_post(client, {"id": "shared-id", "from": E164, "text": "xin chào"})
    assert len(rows()) == 2


# --- replies -------------------------------------------------------------------------------------------------


def test_one_digit_is_the_overall_rating(client, world, gateways) -> None:
    invitation = invite(world)
    sms(client, "4")
    response = response_of(invitation)
    assert response is not None
    assert response.channel == "sms" and response.verified and response.counter_id == world.counter_a.id
    assert response.officer_id == world.officer_a.id and response.service_id == world.service_a.id
    assert response.dossier_code is None  # never ties the answers to the dossier (and its phone)
    assert answers_by_code(response) == {"TONGTHE": 4}
    db.session.refresh(invitation)
    assert invitation.status == "answered" and invitation.answered_via == "reply" and invitation.answered_at
    [row] = rows()
    assert row.outcome == "answer" and row.invitation_id == invitation.id
    assert "4" not in row.body  # the digits live on only in the anonymous response
    # Nothing pairs the phone with the response by time: the message and the invitation keep the hour only, and
    # no SMS to the phone is written in the response's second.
    received = row.received_at
    assert (received.minute, received.second, received.microsecond) == (0, 0, 0)
    assert outbox() == []


@pytest.mark.parametrize("text", ["4 5 3 4 5", "45345", "4,5,3,4,5", "４５３４５", " 4、5、3、4、5 ", "4-5-3-4-5."])
def test_one_digit_per_factor(client, world, gateways, text) -> None:
    invitation = invite(world)
    sms(client, text)
    codes = answers_by_code(response_of(invitation))
    # The fifth factor is asked after a screening question: a digit for it is also its "yes".
    assert codes == {"TCDV-HL": 4, "TTHC-HL": 5, "CCPV-HL": 3, "KQGQ-HL": 4, "PAKN-CO": 1, "PAKN-HL": 5}
    assert rows()[0].outcome == "answer"


def test_zero_for_the_screened_factor_means_it_does_not_apply(client, world, gateways) -> None:
    invitation = invite(world)
    sms(client, "4 5 3 4 0")
    values = answers_by_code(response_of(invitation))
    assert values == {"TCDV-HL": 4, "TTHC-HL": 5, "CCPV-HL": 3, "KQGQ-HL": 4, "PAKN-CO": 0}
    assert rows()[0].outcome == "answer"


@pytest.mark.parametrize("text", ["4 5 3", "4 5 3 4 5 6", "6", "0", "4 5 3 4 5 rất tốt", "0 5 3 4 5"])
def test_a_wrong_reply_gets_the_help_and_counts_nothing(client, world, gateways, text) -> None:
    invitation = invite(world)
    sms(client, text)
    assert response_of(invitation) is None
    [row] = rows()
    assert row.outcome == "help" and row.body == text and row.invitation_id == invitation.id
    [help_sms] = outbox("reply_help")
    assert "5 số cho 5 yếu tố" in help_sms.body and "TU CHOI" in help_sms.body and "PAKN" in help_sms.body
    db.session.refresh(invitation)
    assert invitation.status == "sent"


def test_a_second_reply_is_not_counted_twice(client, world, gateways) -> None:
    invitation = invite(world)
    sms(client, "5")
    sms(client, "1 1 1 1 1")
    response = response_of(invitation)
    assert answers_by_code(response) == {"TONGTHE": 5}
    assert db.session.scalar(select(func.count()).select_from(Response).where(Response.channel == "sms")) == 1
    assert [r.outcome for r in rows()] == ["answer", "duplicate_answer"]
    duplicate = outbox("reply_thanks")[-1]
    assert "một lần" in duplicate.body


def test_a_reply_after_the_link_was_used_is_a_duplicate(client, world, gateways) -> None:
    from feedback_app.sms.invitations import answer_invitation, reply_target
    from feedback_app.surveys.submission import ANSWER_DEFAULTS, ParsedResponse

    invitation = invite(world)
    counter, version = reply_target(invitation)
    overall = next(q for q in version.questions if q.kind == "overall")
    answer_invitation(invitation, ParsedResponse([{**ANSWER_DEFAULTS, "question_id": overall.id, "value": 2}]),
                      via="link", version=version, counter=counter)
    db.session.commit()
    sms(client, "5")
    assert answers_by_code(response_of(invitation)) == {"TONGTHE": 2}
    assert rows()[0].outcome == "duplicate_answer"
    db.session.refresh(invitation)
    assert invitation.answered_via == "link"


def test_the_link_key_taken_first_without_the_status_is_still_one_response(client, world, gateways) -> None:
    """The response stored under the invitation's key while the invitation still says 'sent' (a race with the
    link): the reply is a duplicate, not a second response."""
    from feedback_app.sms.invitations import reply_target
    from feedback_app.surveys.submission import ANSWER_DEFAULTS, ParsedResponse, SubmissionContext, submit_parsed

    invitation = invite(world)
    counter, version = reply_target(invitation)
    overall = next(q for q in version.questions if q.kind == "overall")
    submit_parsed(SubmissionContext(channel="sms", counter=counter, version=version, source="invitation"),
                  ParsedResponse([{**ANSWER_DEFAULTS, "question_id": overall.id, "value": 3}]),
                  invitation_key(invitation.id))
    db.session.commit()
    sms(client, "5")
    assert answers_by_code(response_of(invitation)) == {"TONGTHE": 3}
    assert rows()[0].outcome == "duplicate_answer"


@pytest.mark.parametrize("setup", ["none", "expired_by_date", "expired_status", "other_phone"])
def test_digits_without_an_open_invitation(client, world, gateways, setup) -> None:
    if setup == "expired_by_date":
        invite(world, days_left=-1)
    elif setup == "expired_status":
        invite(world, status="expired")
    elif setup == "other_phone":
        invite(world, phone="0912000111")
    sms(client, "5")
    [row] = rows()
    assert row.outcome == "no_invitation" and row.invitation_id is None and row.body == "5"
    assert db.session.scalar(select(func.count()).select_from(Response).where(Response.channel == "sms")) == 0
    [help_sms] = outbox("reply_help")
    assert "không có phiếu khảo sát nào đang mở" in help_sms.body


def test_the_newest_invitation_is_the_one_answered(client, world, gateways) -> None:
    older = invite(world)
    older.created_at = utcnow() - timedelta(days=40)
    db.session.commit()
    newer = invite(world, counter=world.counter_b)
    sms(client, "5")
    assert response_of(newer) is not None and response_of(older) is None


def test_quick_rating_counter_takes_its_own_scale(client, world, gateways) -> None:
    quick = factories.quick_version()
    world.counter_b.questionnaire_id = quick.questionnaire_id
    db.session.commit()
    invitation = invite(world, counter=world.counter_b)
    sms(client, "5")  # the quick rating has 3 levels
    assert response_of(invitation) is None and rows()[0].outcome == "help"
    sms(client, "3")
    response = response_of(invitation)
    assert response is not None and response.version_id == quick.id
    assert list(answers_by_code(response).values()) == [3]


# --- opt-out and opt-in --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["STOP", "stop", "Huy", "HỦY", "huỷ", "TU CHOI", "Từ chối", "  tu   choi ",
                                  "TỪ CHỐI."])
def test_opt_out_keywords(client, world, gateways, text) -> None:
    sms(client, text)
    optout_row = db.session.get(SmsOptOut, phone_hash(PHONE))
    assert optout_row is not None and optout_row.opted_in_at is None and optout_row.source == "sms"
    assert rows()[0].outcome == "opt_out"
    [confirmation] = outbox("reply_opt_out")
    assert confirmation.recipient == PHONE and "DANG KY" in confirmation.body
    assert optout.is_opted_out(phone_hash(PHONE))


def test_the_stop_confirmation_passes_the_send_guard_at_night(app, client, world, gateways, monkeypatch) -> None:
    from datetime import datetime

    from feedback_app.sms.guard import before_send
    from feedback_app.timeutil import LOCAL_TZ

    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "21:00-07:00")
    sms(client, "STOP")
    night = datetime.combine(local_today(), datetime.min.time(), LOCAL_TZ).replace(hour=23)
    assert before_send(outbox("reply_opt_out")[0].id, now=night) is None


@pytest.mark.parametrize("text", ["START", "dang ky", "ĐĂNG KÝ", "Bật lại"])
def test_opt_in_after_opt_out(client, world, gateways, text) -> None:
    sms(client, "TU CHOI")
    sms(client, text)
    row = db.session.get(SmsOptOut, phone_hash(PHONE))
    db.session.refresh(row)
    assert row.opted_in_at is not None
    assert not optout.is_opted_out(phone_hash(PHONE))
    assert [r.outcome for r in rows()] == ["opt_out", "opt_in"]
    assert len(outbox("reply_opt_in")) == 1
    sms(client, "STOP")  # out again: the opt-in is cleared
    db.session.refresh(row)
    assert row.opted_in_at is None and optout.is_opted_out(phone_hash(PHONE))


def test_staff_record_an_opt_out_on_request(world, db_session) -> None:
    office = factories.user("office", world.agency)
    optout.opt_out_on_request(office, "0905 123 456")
    assert optout.is_opted_out(phone_hash(PHONE))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sms.opt_out"))
    assert event.user_id == office.id and event.details["phone"] == "0905***456"
    assert optout.opt_in_on_request(office, "+84905123456") is True
    assert not optout.is_opted_out(phone_hash(PHONE))
    with pytest.raises(optout.OptOutRefused):
        optout.opt_out_on_request(factories.user("viewer", world.agency), PHONE)
    with pytest.raises(optout.NotAPhone):
        optout.opt_out_on_request(office, "12")


# --- complaints ----------------------------------------------------------------------------------------------


def test_complaint_by_sms_goes_to_the_queue_and_the_code_comes_back(client, world, gateways) -> None:
    sms(client, "PAKN: Đường vào trung tâm bị ngập, đề nghị sửa")
    [row] = rows()
    assert row.outcome == "complaint" and row.complaint_id is not None
    complaint = db.session.get(Complaint, row.complaint_id)
    assert complaint.channel == "sms" and complaint.kind == "phan_anh" and complaint.nature == "pakn"
    assert complaint.content == "Đường vào trung tâm bị ngập, đề nghị sửa"
    assert complaint.sender_phone == PHONE and complaint.sender_name is None and not complaint.legal
    assert complaint.agency_id == world.agency.id and complaint.state == "received"
    [receipt] = outbox("reply_complaint_code")
    assert receipt.recipient == PHONE and complaint.code in receipt.body and "góp ý" in receipt.body
    assert "/pakn/" in receipt.body  # the private page to follow it


@pytest.mark.parametrize(("text", "kind"), [
    ("Góp ý: cần thêm ghế chờ", "gop_y"), ("GOP Y can them ghe", "gop_y"), ("kn - Đề nghị mở thêm quầy", "kien_nghi"),
    ("pa nhân viên chậm", "phan_anh")])
def test_complaint_keywords_give_the_kind(client, world, gateways, text, kind) -> None:
    sms(client, text)
    complaint = db.session.get(Complaint, rows()[0].complaint_id)
    assert complaint.kind == kind


def test_complaint_goes_to_the_agency_of_the_phones_invitation(client, world, gateways) -> None:
    other = factories.unit("Sở Tư pháp", "so", parent=world.province)
    db.session.commit()
    invitation = invite(world)
    invitation.agency_id = other.id
    db.session.commit()
    sms(client, "PA Bàn ghế hỏng")
    assert db.session.get(Complaint, rows()[0].complaint_id).agency_id == other.id


def test_complaint_without_invitation_among_several_agencies_goes_to_the_province(client, world, gateways) -> None:
    factories.unit("Sở Tư pháp", "so", parent=world.province)
    db.session.commit()
    sms(client, "PA Bàn ghế hỏng")
    complaint = db.session.get(Complaint, rows()[0].complaint_id)
    assert complaint.agency_id == world.province.id  # the one top-level UBND: its office forwards it


def test_complaint_content_with_control_characters_is_still_filed(client, world, gateways) -> None:
    gateway_post(client, {"id": "ctl-1", "from": E164, "text": "PAKN ghế\x07 hỏng\x00 nhiều"})
    [row] = rows()
    assert row.outcome == "complaint" and "\x00" not in row.body
    # The bell is dropped (refused in free text); the NUL, which no database stores, is kept as U+FFFD.
    assert db.session.get(Complaint, row.complaint_id).content == "ghế hỏng\ufffd nhiều"


def test_complaint_keyword_alone_gets_the_help(client, world, gateways) -> None:
    sms(client, "PAKN")
    assert rows()[0].outcome == "help" and db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_one_phone_cannot_flood_the_queue_with_complaints(client, world, gateways) -> None:
    """Thirty complaints from one phone in a day: the first SMS_COMPLAINTS_PER_DAY are filed (each with its receipt),
    the rest are kept as messages, not filed, and answered with a few notices at most; another phone is unaffected."""
    for n in range(30):
        sms(client, f"PA: ghế phòng chờ bị hỏng, lần {n}")
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == inbound.COMPLAINTS_PER_DAY
    assert len(outbox("reply_complaint_code")) == inbound.COMPLAINTS_PER_DAY
    kept = rows()
    assert len(kept) == 30 and [r.outcome for r in kept].count("complaint") == inbound.COMPLAINTS_PER_DAY
    notices = [m for m in outbox("reply_help") if "24 giờ" in m.body]
    assert 1 <= len(notices) <= inbound.AUTO_REPLY_CAP
    sms(client, "PA: đường ngập", sender="+84905999888")
    assert rows()[-1].outcome == "complaint"


# --- help and nothing lost -----------------------------------------------------------------------------------


def test_unparseable_message_is_kept_and_answered_with_help(client, world, gateways) -> None:
    sms(client, "Cho hỏi bao giờ có kết quả?")
    [row] = rows()
    assert row.body == "Cho hỏi bao giờ có kết quả?" and row.outcome == "help"
    [help_sms] = outbox("reply_help")
    assert "PAKN" in help_sms.body and "DANG KY" in help_sms.body


def test_help_follows_the_ascii_setting(app, client, world, gateways, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SMS_ASCII_ONLY", True)
    invite(world)
    sms(client, "HELP")
    [help_sms] = outbox("reply_help")
    assert help_sms.body.isascii() and "Danh gia" in help_sms.body and "vd 4 5 4 5 4" in help_sms.body


def test_help_replies_are_capped_per_phone(client, world, gateways) -> None:
    for n in range(inbound.AUTO_REPLY_CAP + 3):
        sms(client, f"xin chào {n}")
    assert len(rows()) == inbound.AUTO_REPLY_CAP + 3
    assert len(outbox("reply_help")) == inbound.AUTO_REPLY_CAP
    sms(client, "STOP")  # an opt-out is always confirmed
    assert len(outbox("reply_opt_out")) == 1


def test_a_failed_handling_keeps_the_message_and_a_retry_handles_it(app, client, world, gateways,
                                                                    monkeypatch) -> None:
    invitation = invite(world)
    params = twilio_params("5")

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(inbound, "_handle", broken)
    with pytest.raises(RuntimeError):
        twilio_post(client, params)
    [row] = rows()
    assert row.body == "5" and row.outcome is None
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    assert twilio_post(client, params).status_code == 200
    db.session.refresh(row)
    assert row.outcome == "answer" and response_of(invitation) is not None


def test_foreign_number_is_kept_and_answered(client, world, gateways) -> None:
    sms(client, "hello", sender="+14155550100")
    [row] = rows()
    assert row.outcome == "help" and row.phone_masked.startswith("+141")
    assert outbox("reply_help")[0].recipient == "+14155550100"


# --- concurrency: two deliveries of one message at once (real commits) ---------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_concurrent_deliveries_of_one_message_are_handled_once(backend: str, tmp_root) -> None:
    application = migrated_app(backend, tmp_root, "sms_inbound_race", SMS_HTTP_SECRET=SECRET)
    with application.app_context():
        from feedback_app.complaints.policies import seed_policies
        from feedback_app.surveys.questionnaires import seed_questionnaires

        seed_questionnaires()
        seed_policies()
        factories.build_world()
        db.session.commit()
        db.session.remove()
    body = json.dumps({"id": "race-1", "from": E164, "text": "PAKN ghế chờ bị hỏng"}).encode()
    results: list[int] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        with application.test_client() as c:
            barrier.wait()
            results.append(c.post("/webhooks/sms/inbound", data=body, content_type="application/json",
                                  headers=signed_headers(SECRET, body)).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [200] * 4
    with application.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundSms)) == 1
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "reply_complaint_code")) == 1
        db.session.remove()
        db.engine.dispose()
