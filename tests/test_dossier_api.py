"""POST /api/v1/dossiers: API keys by scope (a dossier key is no Open311 key and back), per-item results,
idempotency by code, refused requests as problem+json."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from feedback_app import security
from feedback_app.extensions import db
from feedback_app.models import ApiKey, AuditEvent, Dossier

from . import factories

URL = "/api/v1/dossiers"
ALLOWLIST = security.PUBLIC_ENDPOINTS  # as shipped, before the fixture below widens it


@pytest.fixture(autouse=True)
def feed_is_public(monkeypatch):
    # Until feedback_app/security.py names the feed (see test_the_feed_is_on_the_public_allowlist).
    if "api.dossiers_import" not in security.PUBLIC_ENDPOINTS:
        monkeypatch.setattr(security, "PUBLIC_ENDPOINTS", security.PUBLIC_ENDPOINTS | {"api.dossiers_import"})


def issue(agency=None, scope: str = "dossiers") -> tuple[ApiKey, str]:
    key, plain = ApiKey.issue("Một cửa điện tử", agency.id if agency else None, scope=scope)
    db.session.add(key)
    db.session.commit()
    return key, plain


def item(n: int, **overrides) -> dict:
    body = {"code": f"H34-260306-{n:04d}", "procedure_code": "1.009796", "procedure_name": "Cấp chứng chỉ hành nghề",
            "citizen_name": "Phạm Thị Dung", "phone": "0901815908", "counter": "Quầy 20",
            "officer": "Nguyễn Thị Mai", "received_date": "06/03/2026", "appointment_date": "2026-04-03",
            "returned_date": "01/04/2026", "supplement_count": 0, "channel": "online", "status": "Đã trả kết quả"}
    body.update(overrides)
    return body


def post(client, plain: str | None, payload, header: str = "bearer"):
    headers = {}
    if plain is not None:
        headers = {"Authorization": f"Bearer {plain}"} if header == "bearer" else {"X-API-Key": plain}
    return client.post(URL, json=payload, headers=headers)


def test_the_feed_is_on_the_public_allowlist():
    """The feed authenticates by its key: the login gate must let it through (feedback_app/security.py)."""
    assert "api.dossiers_import" in ALLOWLIST


@pytest.mark.parametrize("presented", [None, "", "fk_made-up-key"])
def test_without_a_valid_key_401(client, world, presented):
    response = post(client, presented, {"dossiers": [item(1)]})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.session.scalar(select(func.count(Dossier.id))) == 0


def test_a_revoked_key_401_and_an_open311_key_403(client, world):
    key, plain = issue(world.agency)
    key.revoke()
    db.session.commit()
    assert post(client, plain, {"dossiers": [item(1)]}).status_code == 401
    _key, open311 = issue(world.agency, scope="open311")
    refused = post(client, open311, {"dossiers": [item(1)]})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count(Dossier.id))) == 0


def test_a_dossier_key_files_no_open311_request(client, world):
    _key, plain = issue(world.agency)
    response = client.post("/open311/v2/requests.json", data={"api_key": plain, "service_code": "gop_y",
                                                              "description": "Góp ý về thời gian chờ tại quầy."})
    assert response.status_code == 403


def test_a_staff_session_is_not_a_key(client, login_as):
    login_as("admin")
    assert client.post(URL, json={"dossiers": [item(1)]}).status_code == 401


def test_batch_answers_each_item_and_is_idempotent(client, world):
    world.counter_a.name = "Quầy 20"
    db.session.commit()
    key, plain = issue(world.agency)
    payload = {"dossiers": [item(1), item(2, received_date="32/03/2026", code="H34-BAD"),
                            item(3, phone="12345"), "not an object"]}
    response = post(client, plain, payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["created"], body["updated"], body["errors"], body["warnings"]) == (2, 0, 2, 1)
    results = body["results"]
    assert [r["result"] for r in results] == ["created", "error", "created", "error"]
    assert results[1]["errors"] == [{"field": "received_date", "message": results[1]["errors"][0]["message"]}]
    assert "32/03/2026" in results[1]["errors"][0]["message"]
    assert results[2]["warnings"][0]["field"] == "phone" and results[2]["id"]
    stored = db.session.get(Dossier, results[0]["id"])
    assert stored.source == "api" and stored.agency_id == world.agency.id and stored.counter_id == world.counter_a.id
    assert stored.channel == "online" and stored.status == "returned"
    db.session.refresh(key)
    assert key.last_used_at is not None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.import")).all()[-1]
    assert audit.details["api_key_id"] == key.id and audit.details["created"] == 2

    again = post(client, plain, {"dossiers": [item(1), item(3, phone="12345", supplement_count=2)]}, header="x")
    body = again.get_json()
    assert [r["result"] for r in body["results"]] == ["unchanged", "updated"]
    assert db.session.scalar(select(func.count(Dossier.id))) == 2


@pytest.mark.parametrize("payload", [[], {}, {"dossiers": []}, {"dossiers": "H34"}, {"ho_so": [{}]}])
def test_a_body_that_is_not_a_batch_400(client, world, payload):
    _key, plain = issue(world.agency)
    response = post(client, plain, payload)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_a_body_that_is_not_json_400(client, world):
    _key, plain = issue(world.agency)
    response = client.post(URL, data="{not json", headers={"Authorization": f"Bearer {plain}",
                                                            "Content-Type": "application/json"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_too_many_items_413(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "DOSSIER_API_MAX_BATCH", 3)
    _key, plain = issue(world.agency)
    response = post(client, plain, {"dossiers": [item(n) for n in range(4)]})
    assert response.status_code == 413 and "3" in response.get_json()["detail"]


def test_a_key_without_agency_needs_a_single_agency(client, world):
    _key, plain = issue(None)
    factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    response = post(client, plain, {"dossiers": [item(1)]})
    assert response.status_code == 403 and "cơ quan" in response.get_json()["detail"]


def test_the_feed_is_documented(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/dossiers"]["post"]
    assert operation["security"] == [{"dossierKey": []}]
    assert "401" in operation["responses"] and "403" in operation["responses"]


def test_an_administrator_issues_a_dossier_key_and_sees_its_scope(client, login_as, world):
    login_as("admin")
    csrf = factories.csrf_token(client, "/admin/api-keys")
    page = client.post("/admin/api-keys", data={"csrf_token": csrf, "name": "Một cửa điện tử tỉnh",
                                                "scope": "dossiers", "agency": str(world.agency.id)})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Hồ sơ một cửa" in html
    plain = html.split('id="issued-key">', 1)[1].split("<", 1)[0]
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "Một cửa điện tử tỉnh"))
    assert key.scope == "dossiers" and key.agency_id == world.agency.id
    assert post(client, plain, {"dossiers": [item(1)]}).status_code == 200
    refused = client.post("/admin/api-keys", data={"csrf_token": csrf, "name": "X", "scope": "everything"})
    assert refused.status_code == 400


def test_the_command_issues_a_key_of_a_scope(app, db_session, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-keys", "create", "Một cửa", "--agency", world.agency.code, "--scope",
                                 "dossiers"])
    assert result.exit_code == 0 and "scope dossiers" in result.output
    assert db_session.scalar(select(ApiKey).where(ApiKey.name == "Một cửa")).scope == "dossiers"
    assert "scope=dossiers" in runner.invoke(args=["api-keys", "list"]).output
    assert runner.invoke(args=["api-keys", "create", "X", "--scope", "all"]).exit_code != 0
