"""The staff results page: whose figures they are, and targets compared as the plan words them."""

from __future__ import annotations

import re
from decimal import Decimal

from feedback_app.extensions import db
from feedback_app.models import Target

from . import factories

PERIOD = "from=01/10/2026&to=31/10/2026"


def _row(html: str, factor: str) -> str:
    return re.search(rf'<tr data-factor="{factor}">(.*?)</tr>', html, re.S).group(1)


def _nine_of_ten(world) -> None:
    """TCDV at exactly 90%: nine satisfied answers out of ten."""
    for value in [5] * 9 + [2]:
        factories.response(world.counter_a, {"TCDV1": value})


def test_above_90_is_not_met_by_90_exactly_but_90_or_more_is(client, world, login_as):
    _nine_of_ten(world)
    target = Target(org_unit=world.agency, year=2026, factor_code="TCDV", target_pct=Decimal(90), comparison="gt")
    db.session.add(target)
    db.session.commit()
    login_as("admin")
    row = _row(client.get(f"/results?unit={world.agency.code}&{PERIOD}").get_data(as_text=True), "TCDV")
    assert "90,00%" in row and "&gt; 90,00%" in row and "Chưa đạt" in row
    target.comparison = "gte"
    db.session.commit()
    row = _row(client.get(f"/results?unit={world.agency.code}&{PERIOD}").get_data(as_text=True), "TCDV")
    assert "≥ 90,00%" in row and "Đạt" in row and "Chưa đạt" not in row


def test_a_counter_officer_is_told_the_figures_are_their_own(client, world, login_as):
    factories.response(world.counter_a, {"TCDV1": 5}, officer_=world.officer_a)
    db.session.add(Target(org_unit=world.agency, year=2026, factor_code=None, target_pct=Decimal(90)))
    db.session.commit()
    login_as("counter", unit=world.unit_a, officer=world.officer_a)
    html = client.get(f"/results?{PERIOD}").get_data(as_text=True)
    subject = re.search(r'data-testid="subject">(.*?)</p>', html).group(1)
    assert subject == f"Số liệu của các đánh giá về công chức {world.officer_a.full_name}"
    assert f"mục tiêu chung (của {world.agency.name}): &gt; 90,00%" in html  # whose target it is, named


def test_a_unit_user_sees_the_name_of_the_unit_whose_figures_these_are(client, world, login_as):
    login_as("unit", unit=world.unit_b)
    html = client.get(f"/results?{PERIOD}").get_data(as_text=True)
    assert f"Số liệu của {world.unit_b.name} và các đơn vị trực thuộc" in html
    html = client.get(f"/results?counter={world.counter_b.code}&{PERIOD}").get_data(as_text=True)
    assert f"Số liệu của {world.counter_b.name}" in html
