"""JSON API v1."""

from __future__ import annotations

import re
from datetime import date

from feedback_app.extensions import db

from . import factories


def test_counters_are_public_with_page_and_qr_urls(client, world, app):
    body = client.get("/api/v1/counters").get_json()
    codes = {c["code"]: c for c in body["counters"]}
    counter = codes[world.counter_a.code]
    assert counter["qr_page_url"] == f"http://localhost/q/{world.counter_a.code}"  # the address in use
    assert counter["kiosk_url"].endswith(f"/k/{world.counter_a.code}")
    assert counter["qr_svg_url"].endswith(f"/qr/{world.counter_a.code}.svg")
    assert counter["agency"]["name"] == world.unit_a.name
    assert client.get(counter["qr_png_url"].replace("http://localhost", "")).status_code == 200


def test_sipas_requires_login_with_problem_json(client, world):
    response = client.get("/api/v1/sipas")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401


def test_sipas_figures_and_grouping(client, world, login_as):
    factories.response(world.counter_a, {"TCDV1": 5, "TCDV2": 3, "CCPV1": 4}, day=date(2026, 9, 10))
    factories.response(world.counter_b, {"TCDV1": 4, "CCPV1": "na"}, day=date(2026, 10, 10), channel="qr")
    db.session.commit()
    login_as("office")
    body = client.get("/api/v1/sipas?from=2026-09-01&to=2026-10-31").get_json()
    factors = {f["code"]: f for f in body["factors"]}
    assert factors["TCDV"]["satisfied_pct"] == 66.67 and factors["TCDV"]["answers"] == 3
    assert factors["CCPV"]["satisfied_pct"] == 100.0 and factors["CCPV"]["no_opinion"] == 1
    assert factors["TTHC"]["satisfied_pct"] is None
    assert body["overall_pct"] == 83.33 and body["responses"] == 2
    months = client.get("/api/v1/sipas?from=2026-09-01&to=2026-10-31&group_by=month").get_json()["groups"]
    assert [(m["key"], m["responses"]) for m in months] == [("2026-09", 1), ("2026-10", 1)]
    for group in ("unit", "counter", "officer", "service", "channel"):
        response = client.get(f"/api/v1/sipas?from=2026-09-01&to=2026-10-31&group_by={group}")
        assert response.status_code == 200, group
    by_counter = client.get(f"/api/v1/sipas?from=2026-09-01&to=2026-10-31&counter={world.counter_b.code}").get_json()
    assert by_counter["responses"] == 1 and by_counter["counter"] == world.counter_b.code


def test_sipas_bad_parameters_name_each_field(client, world, login_as):
    login_as("office")
    response = client.get("/api/v1/sipas?from=32/13/2026&to=2026-01-01&group_by=planet&unit=NOPE")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"from", "group_by", "unit"}
    reversed_period = client.get("/api/v1/sipas?from=2026-10-31&to=2026-10-01").get_json()
    assert reversed_period["errors"][0]["field"] == "to"
    unknown = client.get("/api/v1/sipas?foo=1")
    assert unknown.status_code == 400 and unknown.get_json()["errors"][0]["field"] == "foo"


def test_openapi_document_describes_every_path(app, client, world):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    # Every route of the API (in OpenAPI's {name} form), and nothing else.
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"}
    assert set(doc["paths"]) == routes
    assert {"/api/v1/counters", "/api/v1/sipas", "/api/v1/calendar/{year}", "/api/v1/calendar/deadline",
            "/api/v1/pakn", "/api/v1/pakn/{complaint_id}", "/api/v1/pakn/{complaint_id}/{action}"} <= routes
    params = {p["name"] for p in doc["paths"]["/api/v1/sipas"]["get"]["parameters"]}
    assert {"from", "to", "unit", "counter", "group_by"} <= params


def test_unknown_api_path_is_problem_json(client, world, login_as):
    login_as("viewer")
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_results_page_shows_figures_target_and_last_year(client, world, login_as):
    from decimal import Decimal

    from feedback_app.models import Target

    factories.response(world.counter_a, {"TCDV1": 5, "TCDV2": 2}, day=date(2026, 10, 5))
    factories.response(world.counter_a, {"TCDV1": 5}, day=date(2025, 10, 5))
    db.session.add(Target(org_unit=world.agency, year=2026, factor_code="TCDV", target_pct=Decimal(90)))
    db.session.commit()
    login_as("viewer")
    html = client.get("/results?from=01/10/2026&to=31/10/2026").get_data(as_text=True)
    row = html[html.index('data-factor="TCDV"'):]
    row = row[:row.index("</tr>")]
    assert "50,00%" in row and "1 / 2" in row  # this year
    assert "100,00%" in row  # the same period last year
    assert "90,00%" in row and "Chưa đạt" in row
    bad = client.get("/results?from=hôm qua")
    assert bad.status_code == 400 and "dd/mm/yyyy" in bad.get_data(as_text=True)


def test_results_of_a_quick_rating_counter_use_its_questionnaire(client, world, login_as):
    version = factories.quick_version()
    world.counter_b.questionnaire_id = version.questionnaire_id
    factories.response(world.counter_b, {"NHANH1": 3}, version=version)
    factories.response(world.counter_b, {"NHANH1": 1}, version=version)
    db.session.commit()
    login_as("office")
    html = client.get(f"/results?from=01/10/2026&to=31/10/2026&counter={world.counter_b.code}").get_data(as_text=True)
    assert "50,00%" in html and 'value="DANHGIA-NHANH" selected' in html
