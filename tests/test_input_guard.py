"""Text no database can store (NUL, lone surrogates) and JSON nested past reason get a 400, never a 500."""

from __future__ import annotations

import json

import pytest

from . import factories
from .test_kiosk import _payload, _token


@pytest.mark.parametrize("path", ["/k/%00", "/q/%00", "/qr/%00.svg", "/k/Q%00/token", "/lang/vi?next=/%00"])
def test_nul_in_a_public_address_is_a_400_page(client, world, path):
    response = client.get(path)
    assert response.status_code == 400, path
    assert response.mimetype == "text/html"
    assert "ký tự không hợp lệ" in response.get_data(as_text=True)


def test_nul_in_a_staff_query_is_a_400_page(client, world, login_as):
    login_as("office")
    response = client.get("/results?unit=%00")
    assert response.status_code == 400
    assert "ký tự không hợp lệ" in response.get_data(as_text=True)


def test_nul_in_an_api_query_is_a_400_problem(client, world, login_as):
    login_as("office")
    for query in ("counter=X%00", "unit%00=X"):
        response = client.get(f"/api/v1/sipas?{query}")
        assert response.status_code == 400, query
        assert response.mimetype == "application/problem+json"
        assert "ký tự không hợp lệ" in response.get_json()["detail"]


def test_nul_in_a_form_field_is_a_400(client, world, login_as):
    login_as("admin")
    response = client.post("/admin/units/new", data={
        "csrf_token": factories.csrf_token(client, "/admin/units/new"), "code": "U-NUL", "name": "Phòng\x00Một",
        "unit_type": "phong", "parent_id": "", "valid_from": "01/01/2026"})
    assert response.status_code == 400
    assert "ký tự không hợp lệ" in response.get_data(as_text=True)


def _submit_raw(client, world, body: str):
    token = _token(client, world.counter_a.code)
    return client.post(f"/k/{world.counter_a.code}/submit", data=body, content_type="application/json",
                       headers={"X-CSRFToken": token})


def test_lone_surrogate_in_a_json_body_is_a_400_problem(client, world):
    comment = next(q for q in world.version.questions if q.kind == "comment")
    body = _payload(world)
    body["answers"][f"q{comment.id}"] = "Tốt \ud800 lắm"
    response = _submit_raw(client, world, json.dumps(body))  # ASCII JSON: the surrogate travels as \ud800
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert "Unicode" in problem["detail"]
    assert problem["errors"][0]["field"] == f"answers.q{comment.id}"


def test_lone_surrogate_in_a_json_key_is_a_400_problem(client, world):
    body = _payload(world)
    body["\udc00"] = "x"
    response = _submit_raw(client, world, json.dumps(body))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("depth", [5000, 40])
def test_json_nested_too_deep_is_a_400_problem(client, world, depth):
    response = _submit_raw(client, world, "[" * depth + "]" * depth)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "lồng nhau" in response.get_json()["detail"]


def test_a_normal_submission_still_passes_the_guard(client, world):
    response = _submit_raw(client, world, json.dumps(_payload(world), ensure_ascii=False))
    assert response.status_code == 201
