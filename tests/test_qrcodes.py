"""QR codes and posters for counters."""

from __future__ import annotations

import io
from xml.etree import ElementTree

import pytest
from PIL import Image


def test_png_and_svg_are_real_images(client, world):
    png = client.get(f"/qr/{world.counter_a.code}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert image.size[0] == image.size[1] >= 250
    svg = client.get(f"/qr/{world.counter_a.code}.svg")
    assert svg.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(svg.data)  # noqa: S314 - our own output
    assert root.tag.endswith("svg")
    assert client.get("/qr/NOPE.png").status_code == 404


def test_qr_decodes_to_the_public_survey_url(client, world, app):
    zxingcpp = pytest.importorskip("zxingcpp")
    png = client.get(f"/qr/{world.counter_a.code}.png").data
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]
    assert decoded == [f"{app.config['PUBLIC_BASE_URL']}/q/{world.counter_a.code}"]


def test_poster_is_for_staff_and_shows_the_short_url(client, world, login_as, app):
    assert client.get(f"/admin/counters/{world.counter_a.code}/poster").status_code == 302
    login_as("office")
    html = client.get(f"/admin/counters/{world.counter_a.code}/poster").get_data(as_text=True)
    assert world.unit_a.name in html and world.counter_a.name in html
    assert f"{app.config['PUBLIC_BASE_URL']}/q/{world.counter_a.code}" in html
    assert "<svg" in html and "Quét mã QR" in html


def test_poster_of_another_agencys_counter_is_not_found(client, world, login_as):
    login_as("office", unit=world.unit_b)
    assert client.get(f"/admin/counters/{world.counter_a.code}/poster").status_code == 404
    assert client.get(f"/admin/counters/{world.counter_b.code}/poster").status_code == 200
