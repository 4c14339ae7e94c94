"""PAKN settings: deadline policies (administrators) and answer templates (office, scoped)."""

from __future__ import annotations

from sqlalchemy import select

from feedback_app.complaints import actions
from feedback_app.complaints.intake import Intake, Sender, submit
from feedback_app.extensions import db
from feedback_app.models import AnswerTemplate, DeadlinePolicy

from . import factories


def _policy_form(**over):
    data = {"kind": "kien_nghi", "legal_basis": "Quyết định của UBND tỉnh (thử nghiệm)", "classify_days": "3",
            "answer_days": "12", "remind_before_days": "1", "remind_on_due": "y", "office_head_after_days": "2",
            "max_extension_days": "5", "active": "y"}
    data.update(over)
    return data


def test_an_administrator_sets_a_policy_with_its_reminder_steps(client, login_as, db_session):
    login_as("admin")
    token = factories.csrf_token(client, "/admin/deadline-policies/new")
    response = client.post("/admin/deadline-policies/new", data={"csrf_token": token, **_policy_form()})
    assert response.status_code == 302
    policy = db.session.scalar(select(DeadlinePolicy).where(DeadlinePolicy.answer_days == 12))
    assert policy.reminders == [{"offset_days": -1, "to": "handler"}, {"offset_days": 0, "to": "unit_head"},
                                {"offset_days": 2, "to": "office_head"}]
    page = client.get(f"/admin/deadline-policies/{policy.id}").get_data(as_text=True)
    assert 'value="12"' in page


def test_the_office_cannot_change_deadline_rules(client, login_as):
    login_as("office")
    assert client.get("/admin/deadline-policies").status_code == 403


def test_a_policy_in_use_keeps_its_days(client, login_as, world, db_session):
    login_as("admin")
    submit(Intake(agency_id=world.agency.id, kind="phan_anh", content="Trễ hẹn", channel="web",
                  sender=Sender(name="A", address="B", phone="0905123456"), consent=True))
    policy = db.session.scalar(select(DeadlinePolicy).where(DeadlinePolicy.kind == "phan_anh",
                                                            DeadlinePolicy.active.is_(True)))
    token = factories.csrf_token(client, f"/admin/deadline-policies/{policy.id}")
    response = client.post(f"/admin/deadline-policies/{policy.id}", data={
        "csrf_token": token, **_policy_form(kind="phan_anh", answer_days="20")})
    assert response.status_code == 400 and "tạo chính sách mới" in response.get_data(as_text=True)
    db.session.refresh(policy)
    assert policy.answer_days == 10


def test_office_templates_are_their_agencys_and_show_in_the_answer_form(app, client, login_as, world, db_session):
    office = login_as("office")
    token = factories.csrf_token(client, "/admin/answer-templates/new")
    refused = client.post("/admin/answer-templates/new", data={"csrf_token": token, "title": "Chung", "kind": "",
                                                               "agency_id": "", "body": "x", "active": "y"})
    assert refused.status_code == 400
    response = client.post("/admin/answer-templates/new", data={
        "csrf_token": token, "title": "Xin lỗi trễ hẹn", "kind": "phan_anh", "agency_id": str(world.agency.id),
        "body": "Cơ quan xin lỗi Ông/Bà vì đã trả kết quả trễ hẹn.", "active": "y"})
    assert response.status_code == 302
    assert db.session.scalar(select(AnswerTemplate.agency_id).where(AnswerTemplate.title == "Xin lỗi trễ hẹn")) \
        == world.agency.id
    complaint, _ = submit(Intake(agency_id=world.agency.id, kind="phan_anh", content="Trễ hẹn", channel="web"))
    actions.classify(office, complaint, None, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    page = client.get(f"/xu-ly/pakn/{complaint.id}").get_data(as_text=True)
    assert "Xin lỗi trễ hẹn" in page and "Cơ quan xin lỗi Ông/Bà" in page
