"""Open311 filing is limited per API key (a province's app server files for all its citizens from one address),
with its own setting; a period outside the calendar's years is a 400 in the spec's format, not a 500."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import ApiKey, Complaint

FIELDS = {"service_code": "phan_anh", "description": "Quầy 3 trả hồ sơ trễ hẹn 5 ngày.", "first_name": "Lê Văn",
          "last_name": "Tám", "phone": "0905 123 456", "address_string": "12 Yersin, Nha Trang",
          "attribute[consent]": "true"}


def _key(world, name: str) -> str:
    row, plain = ApiKey.issue(name, world.agency.id)
    db.session.add(row)
    db.session.commit()
    return plain


def _count() -> int:
    return db.session.scalar(select(func.count(Complaint.id))) or 0


@pytest.fixture
def tiny_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_SUBMIT_LIMIT", "2 per minute")


def test_each_key_has_its_own_budget_and_the_429_is_in_open311s_format(client, world, tiny_limit):
    address = {"REMOTE_ADDR": "203.0.113.7"}  # one server files for both keys
    province, district = _key(world, "Ứng dụng của tỉnh"), _key(world, "Cổng của huyện")
    for _ in range(2):
        filed = client.post("/open311/v2/requests.json", data={**FIELDS, "api_key": province}, environ_base=address)
        assert filed.status_code in (200, 201), filed.get_data(as_text=True)
    before = _count()
    refused = client.post("/open311/v2/requests.json", data={**FIELDS, "api_key": province}, environ_base=address)
    assert refused.status_code == 429 and refused.mimetype == "application/json"
    [error] = refused.get_json()
    assert error["code"] == 429 and error["description"]
    as_xml = client.post("/open311/v2/requests.xml", headers={"X-Api-Key": province}, data=FIELDS,
                         environ_base=address)
    assert as_xml.status_code == 429
    assert ET.fromstring(as_xml.data).find("error").findtext("code") == "429"  # noqa: S314 - our own answer
    assert _count() == before
    # The other key, from the same address, still has its whole budget.
    other = client.post("/open311/v2/requests.json", headers={"X-Api-Key": district}, data=FIELDS,
                        environ_base=address)
    assert other.status_code in (200, 201) and _count() == before + 1


def test_made_up_keys_share_the_addresss_budget(client, world, tiny_limit):
    address = {"REMOTE_ADDR": f"198.51.100.{secrets.randbelow(250) + 1}"}
    answers = [client.post("/open311/v2/requests.json", data={**FIELDS, "api_key": secrets.token_urlsafe(16)},
                           environ_base=address).status_code
               for _ in range(3)]
    assert answers == [403, 403, 429]


def test_the_limit_has_its_own_setting():
    from config import Config, TestingConfig

    assert Config.OPEN311_SUBMIT_LIMIT == "120 per minute;20000 per day"
    assert Config.PAKN_SUBMIT_LIMIT == "5 per minute;30 per day"  # the public form's, per address, unchanged
    assert TestingConfig.OPEN311_SUBMIT_LIMIT == "1000 per minute"


@pytest.mark.parametrize("query", [
    "start_date=0001-01-01T00:00:00%2B07:00", "end_date=0001-01-05T00:00:00Z", "end_date=9999-12-31T23:59:59-05:00",
    "start_date=1900-01-01T00:00:00Z", "end_date=2201-01-01",
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_period_outside_the_calendars_years_is_a_400_saying_which(client, world, query, fmt):
    response = client.get(f"/open311/v2/requests.{fmt}?{query}")
    assert response.status_code == 400
    name = query.partition("=")[0]
    if fmt == "json":
        [error] = response.get_json()
        description = error["description"]
        assert error["code"] == 400
    else:
        description = ET.fromstring(response.data).find("error").findtext("description")  # noqa: S314
    assert description.startswith(name) and "1995–2200" in description


def test_the_calendars_own_years_are_accepted(client, world):
    for query in ("start_date=1995-01-01T00:00:00%2B07:00", "end_date=2200-12-31T23:59:59-05:00"):
        assert client.get(f"/open311/v2/requests.json?{query}").status_code == 200
