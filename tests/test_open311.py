"""Open311 GeoReport v2: services, filing with an API key, following in JSON and XML, errors in the spec's
format, no personal data in any answer; the administrators' API keys page and the api-keys commands."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from feedback_app.complaints import actions
from feedback_app.complaints.intake import Intake, Sender, submit
from feedback_app.extensions import db
from feedback_app.models import ApiKey, AuditEvent, Complaint
from feedback_app.models.api_key import hash_key
from feedback_app.timeutil import as_utc, to_local

from . import factories

PERSON = {"first_name": "Lê Văn", "last_name": "Tám", "phone": "0905 123 456", "email": "tam.le@example.vn",
          "address_string": "12 Yersin, phường Nha Trang"}
PERSONAL_TRACES = ("Lê Văn Tám", "Tám", "0905", "123 456", "905123456", "tam.le@example.vn", "Yersin")
CONTENT = "Quầy 3 trả hồ sơ trễ hẹn 5 ngày, không có phiếu xin lỗi."


def _key(world, agency=True) -> str:
    row, plain = ApiKey.issue("Ứng dụng phản ánh của tỉnh", world.agency.id if agency else None)
    db.session.add(row)
    db.session.commit()
    return plain


def _file(client, key, fmt="json", headers=None, **fields):
    data = {"service_code": "phan_anh", "description": CONTENT, **PERSON, "attribute[consent]": "true",
            "attribute[dossier_code]": "000.00.12.H34-260101-0001", **fields}
    if key is not None and headers is None:
        data["api_key"] = key
    return client.post(f"/open311/v2/requests.{fmt}", data=data, headers=headers or {})


def _xml(data: bytes) -> ET.Element:
    """Parse our own answer, as a client would with the standard library."""
    return ET.fromstring(data)  # noqa: S314 - the app's own output in a test, not untrusted input


def _count() -> int:
    return db.session.scalar(select(func.count(Complaint.id))) or 0


def _office(world):
    user = factories.user("office", world.agency)
    db.session.commit()
    return user


def _answer_and_publish(world, complaint: Complaint, published: str) -> None:
    office, unit = _office(world), factories.user("unit", world.unit_a)
    db.session.commit()
    actions.classify(office, complaint, complaint.version, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    actions.draft(unit, complaint, complaint.version, "Đơn vị xin lỗi; hồ sơ đã trả kết quả ngày 05/11.")
    actions.approve(office, complaint, complaint.version)
    actions.notify_sender(office, complaint, complaint.version)
    actions.publish(office, complaint, complaint.version, published, complaint.answer_text)


# Services ------------------------------------------------------------------------------------------------------

def test_services_list_one_service_per_pakn_kind_in_json_and_xml(client, world):
    services = client.get("/open311/v2/services.json").get_json()
    assert [s["service_code"] for s in services] == ["phan_anh", "kien_nghi", "gop_y"]
    assert services[0]["service_name"] == "Phản ánh" and services[0]["metadata"] is True
    assert {s["type"] for s in services} == {"realtime"} and all(s["keywords"] and s["group"] for s in services)
    response = client.get("/open311/v2/services.xml")
    assert response.mimetype == "text/xml" and response.data.startswith(b"<?xml")
    root = _xml(response.data)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == ["phan_anh", "kien_nghi", "gop_y"]
    assert root.find("service").findtext("metadata") == "true"


def test_a_service_definition_names_its_attributes(client, world):
    definition = client.get("/open311/v2/services/kien_nghi.json").get_json()
    assert definition["service_code"] == "kien_nghi"
    codes = {a["code"]: a for a in definition["attributes"]}
    assert {"consent", "dossier_code"} <= set(codes) and codes["consent"]["values"][0]["key"] == "true"
    root = _xml(client.get("/open311/v2/services/kien_nghi.xml").data)
    assert root.tag == "service_definition"
    assert {a.findtext("code") for a in root.find("attributes").findall("attribute")} >= {"consent", "dossier_code"}
    missing = client.get("/open311/v2/services/khieu_nai.json")
    assert missing.status_code == 404 and missing.get_json()[0]["code"] == 404


# Filing and following ------------------------------------------------------------------------------------------

def test_file_with_a_key_then_follow_it_in_json_and_xml(client, world):
    key = _key(world)
    response = _file(client, key)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    code = answer[0]["service_request_id"]
    assert answer[0]["account_id"] is None and code in answer[0]["service_notice"]
    complaint = db.session.scalar(select(Complaint).where(Complaint.code == code))
    assert (complaint.channel, complaint.agency_id, complaint.legal) == ("open311", world.agency.id, True)
    assert complaint.dossier_code == "000.00.12.H34-260101-0001" and complaint.consent_at is not None

    one = client.get(f"/open311/v2/requests/{code}.json").get_json()
    assert len(one) == 1
    item = one[0]
    assert (item["service_request_id"], item["status"], item["service_code"]) == (code, "open", "phan_anh")
    assert item["service_name"] == "Phản ánh" and item["agency_responsible"] == world.agency.name
    assert item["description"] == ""  # the content as written is never shown
    assert item["status_notes"] == "Đã tiếp nhận, chờ phân loại."
    # The deadline from the working-time calendar, local time with its offset.
    assert item["expected_datetime"] == to_local(complaint.answer_due_at).isoformat(timespec="seconds")
    assert item["expected_datetime"].endswith("+07:00") and item["requested_datetime"].endswith("+07:00")
    assert datetime.fromisoformat(item["expected_datetime"]) == as_utc(complaint.answer_due_at)
    assert (item["address"], item["lat"], item["long"]) == ("", "", "")

    root = _xml(client.get(f"/open311/v2/requests/{code}.xml").data)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request.findtext("service_request_id") == code and request.findtext("status") == "open"
    assert request.findtext("expected_datetime") == item["expected_datetime"]
    listed = client.get("/open311/v2/requests.json").get_json()
    assert code in [r["service_request_id"] for r in listed]


def test_the_key_may_come_in_a_header_and_the_single_agency_is_used_when_the_key_names_none(client, world):
    key = _key(world, agency=False)
    response = _file(client, None, headers={"X-Api-Key": key}, fmt="xml")
    assert response.status_code == 200, response.get_data(as_text=True)
    code = _xml(response.data).find("request").findtext("service_request_id")
    complaint = db.session.scalar(select(Complaint).where(Complaint.code == code))
    assert complaint.agency_id == world.agency.id
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    first_use = row.last_used_at
    assert first_use is not None
    _file(client, None, headers={"X-Api-Key": key})
    db.session.refresh(row)
    assert row.last_used_at == first_use  # written at most once a minute


def test_status_notes_and_description_appear_only_after_publication(client, world):
    code = _file(client, _key(world)).get_json()[0]["service_request_id"]
    complaint = db.session.scalar(select(Complaint).where(Complaint.code == code))
    office = _office(world)
    actions.classify(office, complaint, complaint.version, "handle")
    actions.assign(office, [complaint], world.unit_a.id)
    unit = factories.user("unit", world.unit_a)
    db.session.commit()
    actions.draft(unit, complaint, complaint.version, "Đơn vị xin lỗi; hồ sơ đã trả kết quả ngày 05/11.")
    actions.approve(office, complaint, complaint.version)
    item = client.get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert item["status_notes"] == "Đang xử lý." and "xin lỗi" not in str(item)
    actions.notify_sender(office, complaint, complaint.version)
    item = client.get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert item["status"] == "closed" and item["status_notes"] == "Đã trả lời người gửi." and item["description"] == ""
    actions.publish(office, complaint, complaint.version, "Quầy trả hồ sơ trễ hẹn, không có phiếu xin lỗi.",
                    complaint.answer_text)
    item = client.get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert item["status_notes"] == "Đơn vị xin lỗi; hồ sơ đã trả kết quả ngày 05/11."
    assert item["description"] == "Quầy trả hồ sơ trễ hẹn, không có phiếu xin lỗi."
    request = _xml(client.get(f"/open311/v2/requests/{code}.xml").data).find("request")
    assert request.findtext("status_notes") == item["status_notes"]


def test_no_personal_data_in_any_answer_json_or_xml(client, world):
    key = _key(world)
    filed = _file(client, key)
    code = filed.get_json()[0]["service_request_id"]
    complaint = db.session.scalar(select(Complaint).where(Complaint.code == code))
    # Staff left the sender's name and phone in the published text: Open311 still never shows them.
    _answer_and_publish(world, complaint, "Ông Lê Văn Tám (0905 123 456) phản ánh quầy 3 trả hồ sơ trễ hẹn.")
    answers = [filed.get_data(as_text=True)]
    for fmt in ("json", "xml"):
        for path in (f"/open311/v2/requests.{fmt}", f"/open311/v2/requests/{code}.{fmt}",
                     f"/open311/v2/requests.{fmt}?service_request_id={code}",
                     f"/open311/v2/requests.{fmt}?status=closed&service_code=phan_anh"):
            response = client.get(path)
            assert response.status_code == 200
            assert code in response.get_data(as_text=True), path
            answers.append(response.get_data(as_text=True))
    for text in answers:
        for trace in PERSONAL_TRACES:
            assert trace not in text
        assert CONTENT not in text  # the raw content is never shown either
    assert "quầy 3 trả hồ sơ trễ hẹn" in answers[-1]


def test_forged_or_revoked_keys_are_refused_and_nothing_is_stored(client, world):
    key = _key(world)
    before = _count()
    for fmt in ("json", "xml"):
        forged = _file(client, key[:-2] + "xx", fmt=fmt)
        assert forged.status_code == 403
    assert forged.mimetype == "text/xml" and _xml(forged.data).find("error").findtext("code") == "403"
    nothing = _file(client, None)
    assert nothing.status_code == 403 and nothing.get_json()[0]["code"] == 403
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    row.revoke()
    db.session.commit()
    revoked = _file(client, key)
    assert revoked.status_code == 403 and "thu hồi" in revoked.get_json()[0]["description"]
    assert _count() == before


@pytest.mark.parametrize(("fields", "message"), [
    ({"description": ""}, "description"),
    ({"service_code": "khieu_nai"}, "service_code"),
    ({"phone": "12345"}, "phone"),
    ({"attribute[consent]": ""}, "attribute[consent]"),
])
def test_bad_requests_get_an_open311_error_and_nothing_is_stored(client, world, fields, message):
    key = _key(world)
    before = _count()
    response = _file(client, key, **fields)
    assert response.status_code == 400
    errors = response.get_json()
    assert errors[0]["code"] == 400 and errors[0]["description"].startswith(message)
    assert _count() == before
    xml = _file(client, key, fmt="xml", **fields)
    root = _xml(xml.data)
    assert root.tag == "errors" and root.find("error").findtext("code") == "400"


def test_request_filters_and_the_default_window(client, world):
    def file(kind, days_ago=0):
        complaint, _secret = submit(Intake(agency_id=world.agency.id, kind=kind, content="Nội dung", channel="web",
                                           sender=Sender(), received_at=datetime.now(UTC) - timedelta(days=days_ago)))
        return complaint

    recent, idea, old = file("phan_anh", 1), file("gop_y", 2), file("kien_nghi", 120)
    listed = [r["service_request_id"] for r in client.get("/open311/v2/requests.json").get_json()]
    assert recent.code in listed and idea.code in listed and old.code not in listed  # last 90 days by default
    assert listed.index(recent.code) < listed.index(idea.code)  # newest first
    only = client.get("/open311/v2/requests.json?service_code=gop_y").get_json()
    assert {r["service_request_id"] for r in only} == {idea.code}
    start = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    dated = client.get("/open311/v2/requests.json", query_string={"start_date": start}).get_json()
    assert old.code in [r["service_request_id"] for r in dated]
    ids = client.get(f"/open311/v2/requests.json?service_request_id={old.code},{recent.code}").get_json()
    assert {r["service_request_id"] for r in ids} == {old.code, recent.code}
    assert client.get("/open311/v2/requests.json?status=closed&service_code=gop_y").get_json() == []
    assert ids[0]["expected_datetime"] is None or ids[0]["expected_datetime"].endswith("+07:00")
    bad = client.get("/open311/v2/requests.json?start_date=hôm-qua")
    assert bad.status_code == 400 and bad.get_json()[0]["description"].startswith("start_date")
    assert client.get("/open311/v2/requests.xml?status=pending").status_code == 400
    missing = client.get("/open311/v2/requests/PA-2000-999999.xml")
    assert missing.status_code == 404 and _xml(missing.data).tag == "errors"


def test_reading_is_public_and_filing_needs_no_session_token(app, world):
    anonymous = app.test_client()
    assert anonymous.get("/open311/v2/services.json").status_code == 200
    assert _file(anonymous, _key(world)).status_code == 200  # no CSRF token: the key authenticates


# API keys for administrators -----------------------------------------------------------------------------------

def test_api_keys_page_is_for_administrators_only(client, login_as, world):
    login_as("office")
    assert client.get("/admin/api-keys").status_code == 403
    assert client.post("/admin/api-keys", data={"name": "X"}).status_code in (400, 403)
    assert db.session.scalar(select(func.count(ApiKey.id))) == 0


def test_an_issued_key_is_shown_once_works_and_can_be_revoked(client, login_as, world):
    login_as("admin")
    page = client.get("/admin/api-keys")
    assert page.status_code == 200
    token = factories.csrf_token(client, "/admin/api-keys")
    issued = client.post("/admin/api-keys", data={"csrf_token": token, "name": "Cổng dịch vụ công tỉnh",
                                                  "agency": str(world.agency.id)})
    html = issued.get_data(as_text=True)
    assert issued.status_code == 200 and "sao chép khóa này ngay" in html
    plain = re.search(r'id="issued-key">([^<]+)<', html).group(1)
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plain)))
    assert row.agency_id == world.agency.id and row.prefix == plain[:8]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_key.issue",
                                                      AuditEvent.entity_id == str(row.id)))
    again = client.get("/admin/api-keys").get_data(as_text=True)
    assert plain not in again and "Cổng dịch vụ công tỉnh" in again and row.prefix in again
    assert plain not in client.get("/admin/audit").get_data(as_text=True)
    assert _file(client, plain).status_code == 200

    revoked = client.post(f"/admin/api-keys/{row.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    db.session.refresh(row)
    assert row.revoked_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_key.revoke",
                                                      AuditEvent.entity_id == str(row.id)))
    assert _file(client, plain).status_code == 403
    assert client.post(f"/admin/api-keys/{row.id}/revoke").status_code == 400  # no CSRF token


def test_issuing_without_a_name_is_refused_with_the_message(client, login_as, world):
    login_as("admin")
    token = factories.csrf_token(client, "/admin/api-keys")
    refused = client.post("/admin/api-keys", data={"csrf_token": token, "name": " ", "agency": ""})
    assert refused.status_code == 400 and "Vui lòng nhập mục này." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ApiKey.id))) == 0


def test_the_api_keys_commands_create_list_and_revoke(app, world, db_session):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api-keys", "create", "Hệ thống một cửa", "--agency", world.agency.code])
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plain)))
    assert row.agency_id == world.agency.id and row.name == "Hệ thống một cửa"
    listed = runner.invoke(args=["api-keys", "list"])
    assert listed.exit_code == 0 and row.prefix in listed.output and plain not in listed.output
    assert "active" in listed.output
    unknown = runner.invoke(args=["api-keys", "create", "X", "--agency", "NO-SUCH"])
    assert unknown.exit_code != 0 and "NO-SUCH" in unknown.output
    revoked = runner.invoke(args=["api-keys", "revoke", row.prefix])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    db.session.refresh(row)
    assert row.revoked_at is not None
    assert "revoked" in runner.invoke(args=["api-keys", "list"]).output
    assert runner.invoke(args=["api-keys", "revoke", "999999"]).exit_code != 0


def test_a_to_cao_is_followed_by_its_code_but_never_listed(client, world):
    denunciation, _secret = submit(Intake(agency_id=world.agency.id, kind="phan_anh", nature="to_cao",
                                          content="Tố cáo cán bộ nhận tiền", channel="web", sender=Sender()))
    listed = [r["service_request_id"] for r in client.get("/open311/v2/requests.json").get_json()]
    assert denunciation.code not in listed
    assert client.get(f"/open311/v2/requests/{denunciation.code}.json").status_code == 200
