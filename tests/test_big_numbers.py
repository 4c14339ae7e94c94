"""Numbers too large for any id: in a path (every `<int:…>` route) they are a plain 404, in the queue API's
JSON body a 400 naming the field; never an OverflowError (SQLite) or a DataError (PostgreSQL)."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from feedback_app import MAX_ID
from feedback_app.complaints import actions
from feedback_app.complaints.intake import Intake, Sender, submit
from feedback_app.extensions import db
from feedback_app.models import Complaint

from . import factories

HUGE = ("9" * 25, str(MAX_ID + 1))


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            yield rule


def _path(rule, number: str) -> str:
    """The rule's path with the number for every int and an action's name for anything else."""
    path = rule.rule
    for part in rule.rule.split("<")[1:]:
        spec = part.partition(">")[0]
        name = spec.rpartition(":")[2]
        path = path.replace(f"<{spec}>", number if isinstance(rule._converters[name], IntegerConverter) else "classify")
    return path


def test_every_int_route_is_bounded(app):
    rules = list(_int_rules(app))
    assert len(rules) > 20  # the queue, the hotline, the admin's CRUD pages, the API, …
    for rule in rules:
        for converter in rule._converters.values():
            if isinstance(converter, IntegerConverter):
                assert converter.max is not None and converter.max <= MAX_ID, rule.rule


@pytest.mark.parametrize("number", HUGE)
def test_a_huge_id_in_any_path_is_not_found(app, client, login_as, number):
    login_as("admin")
    for rule in _int_rules(app):
        path = _path(rule, number)
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(path, method=method)
        assert response.status_code == 404, (path, response.status_code)


def test_the_largest_id_is_still_an_id(client, login_as, world):
    login_as("office")
    for path in (f"/xu-ly/pakn/{MAX_ID}", f"/api/v1/pakn/{MAX_ID}", f"/duong-day-nong/{MAX_ID}"):
        assert client.get(path).status_code == 404  # looked up (nothing there), not refused by the route


# --- the queue API's JSON ----------------------------------------------------------------------------------------

def _classified(world) -> Complaint:
    complaint, _secret = submit(Intake(agency_id=world.agency.id, kind="phan_anh", content="Quầy 3 trả hồ sơ trễ.",
                                       channel="web", consent=True,
                                       sender=Sender(name="Lê Văn Tám", address="12 Yersin, Nha Trang",
                                                     phone="0905 123 456")))
    office = factories.user("office", world.agency)
    db.session.commit()
    actions.classify(office, complaint, complaint.version, "handle")
    return complaint


@pytest.mark.parametrize(("body", "field"), [
    ({"unit": 10**30}, "unit"), ({"unit": 2**63}, "unit"), ({"unit": "²"}, "unit"), ({"unit": -1}, "unit"),
    ({"unit": True}, "unit"), ({"unit": 1.5}, "unit"), ({"version": 10**30, "unit": 1}, "version"),
])
def test_a_number_no_column_holds_is_a_400_with_its_field(client, login_as, world, body, field):
    complaint = _classified(world)
    login_as("office")
    token = client.get("/api/v1/pakn").headers["X-CSRFToken"]
    db.session.refresh(complaint)
    before = complaint.version
    answer = client.post(f"/api/v1/pakn/{complaint.id}/assign", json={"version": before, **body},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert field in [e["field"] for e in answer.get_json()["errors"]]
    db.session.refresh(complaint)
    assert complaint.version == before and complaint.unit_id is None


def test_a_unit_id_as_text_still_assigns(client, login_as, world):
    complaint = _classified(world)
    login_as("office")
    token = client.get("/api/v1/pakn").headers["X-CSRFToken"]
    db.session.refresh(complaint)
    answer = client.post(f"/api/v1/pakn/{complaint.id}/assign",
                         json={"version": complaint.version, "unit": str(world.unit_a.id)},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.get_json()["unit"]["id"] == world.unit_a.id
