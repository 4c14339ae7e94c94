"""Staff JSON API over the PAKN queue: every role on the list, one item and an action; a unit's scope; the CSRF
header; 400 with a field list, 403, 404, 409; the OpenAPI document."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from feedback_app.complaints import actions
from feedback_app.complaints.intake import Intake, Sender, submit
from feedback_app.extensions import db
from feedback_app.models import Complaint

from . import factories

SENDER = Sender(name="Lê Văn Tám", address="12 Yersin, Nha Trang", phone="0905 123 456", email="tam@example.vn")


def _file(world, content="Quầy 3 trả hồ sơ trễ hẹn 5 ngày.") -> Complaint:
    complaint, _secret = submit(Intake(agency_id=world.agency.id, kind="phan_anh", content=content, channel="web",
                                       sender=SENDER, consent=True))
    return complaint


def _assigned(world, unit) -> Complaint:
    complaint = _file(world)
    office = factories.user("office", world.agency)
    db.session.commit()
    actions.classify(office, complaint, complaint.version, "handle")
    actions.assign(office, [complaint], unit.id)
    return complaint


def _token(client) -> str:
    return client.get("/api/v1/pakn").headers.get("X-CSRFToken", "")


def _post(client, complaint: Complaint, action: str, token: str | None = None, **body):
    db.session.refresh(complaint)
    body.setdefault("version", complaint.version)
    return client.post(f"/api/v1/pakn/{complaint.id}/{action}", json=body,
                       headers={"X-CSRFToken": _token(client) if token is None else token})


def _login(login_as, world, role):
    if role == "unit":
        return login_as(role, unit=world.unit_a)
    return login_as(role, officer=world.officer_a if role == "counter" else None)


# Every role ------------------------------------------------------------------------------------------------------

ROLES = [  # role, reads the queue, may draft, sees the sender
    ("admin", True, True, True), ("office", True, True, True), ("unit", True, True, False),
    ("viewer", True, False, False), ("counter", False, False, False), ("hotline", False, False, False),
]


@pytest.mark.parametrize(("role", "reads", "drafts", "sees_sender"), ROLES)
def test_every_role_on_the_list_one_item_and_an_action(client, login_as, world, role, reads, drafts, sees_sender):
    complaint = _assigned(world, world.unit_a)
    _login(login_as, world, role)
    listed = client.get("/api/v1/pakn")
    assert listed.status_code == (200 if reads else 403)
    assert listed.mimetype == ("application/json" if reads else "application/problem+json")
    one = client.get(f"/api/v1/pakn/{complaint.id}")
    assert one.status_code == (200 if reads else 403)
    if reads:
        items = listed.get_json()["items"]
        assert [i["code"] for i in items] == [complaint.code]
        item = items[0]
        assert (item["state"], item["unit"]["id"], item["kind"], item["channel"]) == (
            "assigned", world.unit_a.id, "phan_anh", "web")
        assert item["due_status"] in ("on_time", "due_soon") and item["working_days_left"] >= 0
        assert item["due_at"].endswith("Z") and item["received_at"].endswith("Z")
        detail = one.get_json()
        assert [e["action"] for e in detail["events"]] == ["received", "classify", "assign"]
        assert ("sender" in item) is sees_sender and ("sender" in detail) is sees_sender
        text = json.dumps([listed.get_json(), detail], ensure_ascii=False)
        assert ("0905123456" in text) is sees_sender and ("Lê Văn Tám" in text) is sees_sender
    token = _token(client) if reads else "none"
    answer = _post(client, complaint, "draft", token=token, answer_text="Đơn vị xin lỗi, đã trả kết quả.")
    assert answer.status_code == (200 if drafts else 403), answer.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.state == ("drafted" if drafts else "assigned")
    if drafts:
        body = answer.get_json()
        assert body["state"] == "drafted" and body["version"] == complaint.version
        assert body["events"][-1]["action"] == "draft"


def test_a_unit_never_sees_another_units_items(client, login_as, world):
    other = _assigned(world, world.unit_b)
    own = _assigned(world, world.unit_a)
    unassigned = _file(world)
    _login(login_as, world, "unit")
    codes = [i["code"] for i in client.get("/api/v1/pakn?state=all").get_json()["items"]]
    assert codes == [own.code]
    assert client.get(f"/api/v1/pakn?unit={world.unit_b.id}").get_json()["items"] == []
    for hidden in (other, unassigned):
        assert client.get(f"/api/v1/pakn/{hidden.id}").status_code == 404
        refused = _post(client, hidden, "draft", answer_text="Trả lời")
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    db.session.refresh(other)
    assert other.state == "assigned" and other.answer_text is None


def test_the_sender_is_shown_to_the_unit_once_the_office_shares_it(client, login_as, world):
    complaint = _assigned(world, world.unit_a)
    office = factories.user("office", world.agency)
    db.session.commit()
    actions.share_identity(office, complaint, complaint.version, True)
    _login(login_as, world, "unit")
    assert client.get(f"/api/v1/pakn/{complaint.id}").get_json()["sender"]["phone"] == "0905123456"


# The whole way, and refusals -----------------------------------------------------------------------------------

def test_the_whole_way_through_the_api(client, login_as, world):
    complaint = _file(world)
    _login(login_as, world, "office")
    assert _post(client, complaint, "classify", decision="handle").status_code == 200
    assigned = _post(client, complaint, "assign", unit=world.unit_a.id)
    assert assigned.status_code == 200 and assigned.get_json()["unit"]["id"] == world.unit_a.id
    assert _post(client, complaint, "draft", answer_text="Hồ sơ trễ do thiếu xác nhận của xã.").status_code == 200
    assert _post(client, complaint, "approve").status_code == 200
    assert _post(client, complaint, "notify").status_code == 200
    published = _post(client, complaint, "publish", published_text="Quầy 3 trả hồ sơ trễ hẹn.",
                      published_answer="Đơn vị đã xin lỗi và trả kết quả.")
    assert published.status_code == 200
    body = published.get_json()
    assert body["state"] == "published" and body["due_at"] is None and body["due_status"] is None
    assert [e["action"] for e in body["events"]] == ["received", "classify", "assign", "draft", "approve", "notify",
                                                     "publish"]
    note = client.post(f"/api/v1/pakn/{complaint.id}/note", json={"note": "Đã gọi điện cho người gửi."},
                       headers={"X-CSRFToken": _token(client)})
    assert note.status_code == 200 and note.get_json()["events"][-1]["reason"] == "Đã gọi điện cho người gửi."


def test_a_stale_version_or_an_illegal_move_is_a_409(client, login_as, world):
    complaint = _file(world)
    _login(login_as, world, "office")
    version = complaint.version
    assert _post(client, complaint, "classify", decision="handle").status_code == 200
    stale = _post(client, complaint, "withdraw", version=version, reason="Người gửi rút.")
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    db.session.refresh(complaint)
    assert complaint.state == "classified" and complaint.outcome is None
    illegal = _post(client, complaint, "publish", published_text="Chưa có trả lời.", published_answer="Chưa có.")
    assert illegal.status_code == 409
    assert client.get(f"/api/v1/pakn/{complaint.id}").get_json()["state"] == "classified"


@pytest.mark.parametrize(("action", "body", "field"), [
    ("classify", {"decision": "not_accepted", "reason": "  "}, "reason"),
    ("classify", {"decision": "forwarded"}, "forwarded_to"),
    ("classify", {"decision": "handle", "version": "1"}, "version"),
    ("classify", {"decision": 5}, "decision"),
    ("assign", {"unit": "Cảng vụ"}, "unit"),
    ("duplicate", {"main_code": "PA-2000-000001"}, "main_code"),
    ("share", {"share": "yes"}, "share"),
])
def test_bad_input_is_a_400_with_the_field_and_nothing_changes(client, login_as, world, action, body, field):
    complaint = _file(world)
    _login(login_as, world, "office")
    answer = _post(client, complaint, action, **body)
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert field in [e["field"] for e in answer.get_json()["errors"]]
    db.session.refresh(complaint)
    assert complaint.state == "received" and len(complaint.events) == 1


def test_a_post_without_the_csrf_header_or_a_json_body_is_refused(client, login_as, world):
    complaint = _file(world)
    _login(login_as, world, "office")
    for token in ("", "forged-token"):
        refused = _post(client, complaint, "classify", token=token, decision="handle")
        assert refused.status_code == 400 and refused.get_json()["title"] == "CSRF"
    not_json = client.post(f"/api/v1/pakn/{complaint.id}/classify", data={"decision": "handle", "version": "1"},
                           headers={"X-CSRFToken": _token(client)})
    assert not_json.status_code == 400 and not_json.get_json()["errors"][0]["field"] == "body"
    assert _post(client, complaint, "explode").status_code == 404
    db.session.refresh(complaint)
    assert complaint.state == "received"


def test_filters_pages_and_unknown_parameters(client, login_as, world):
    first, second = _file(world), _file(world, "Thái độ cán bộ chưa đúng mực.")
    _login(login_as, world, "office")
    body = client.get("/api/v1/pakn?kind=phan_anh&state=received&page=1").get_json()
    assert {i["code"] for i in body["items"]} == {first.code, second.code}
    assert (body["total"], body["page"], body["page_size"], body["pages"]) == (2, 1, 50, 1)
    assert [i["code"] for i in client.get(f"/api/v1/pakn?q={second.code}").get_json()["items"]] == [second.code]
    bad = client.get("/api/v1/pakn?state=lost&colour=red&page=x")
    assert bad.status_code == 400
    assert {e["field"] for e in bad.get_json()["errors"]} == {"state", "colour", "page"}


def test_a_visitor_gets_401_and_the_openapi_document_describes_the_queue(client, world):
    assert client.get("/api/v1/pakn").status_code == 401
    complaint = _file(world)
    assert client.post(f"/api/v1/pakn/{complaint.id}/classify", json={"version": 1}).status_code == 401
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/pakn", "/api/v1/pakn/{complaint_id}", "/api/v1/pakn/{complaint_id}/{action}"} <= set(paths)
    assert "X-CSRFToken" in str(paths["/api/v1/pakn/{complaint_id}/{action}"]["post"]["parameters"])
    assert db.session.scalar(select(Complaint.state).where(Complaint.id == complaint.id)) == "received"
