"""QR codes and posters for counters."""

from __future__ import annotations

import io
from xml.etree import ElementTree

import pytest
from PIL import Image

from feedback_app.qrcodes.services import survey_url


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


def _decoded(client, path: str, **kwargs) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    png = client.get(path, **kwargs).data
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]


def test_qr_follows_the_address_in_use_when_no_public_address_is_set(client, world, app):
    assert not app.config["PUBLIC_BASE_URL"]  # testing, like development, sets none
    path = f"/qr/{world.counter_a.code}.png"
    assert _decoded(client, path) == [f"http://localhost/q/{world.counter_a.code}"]
    # A tablet on the office network reaches the app at another address: the code leads there too.
    assert _decoded(client, path, base_url="http://192.168.1.20:5000") == [
        f"http://192.168.1.20:5000/q/{world.counter_a.code}"]


def test_qr_encodes_the_public_address_when_set(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://danhgia.khanhhoa.gov.vn")
    assert _decoded(client, f"/qr/{world.counter_a.code}.png", base_url="http://10.0.0.5:8000") == [
        f"https://danhgia.khanhhoa.gov.vn/q/{world.counter_a.code}"]


def test_survey_url_outside_a_request_is_the_local_default(app, world):
    assert survey_url(world.counter_a) == f"http://127.0.0.1:5000/q/{world.counter_a.code}"


def test_poster_is_for_staff_and_shows_the_short_url(client, world, login_as, app):
    assert client.get(f"/admin/counters/{world.counter_a.code}/poster").status_code == 302
    login_as("office")
    html = client.get(f"/admin/counters/{world.counter_a.code}/poster").get_data(as_text=True)
    assert world.unit_a.name in html and world.counter_a.name in html
    assert f"http://localhost/q/{world.counter_a.code}" in html
    assert "<svg" in html and "Quét mã QR" in html
    assert "Mất khoảng 5 phút" in html  # as honest as the form itself


def test_poster_of_another_agencys_counter_is_not_found(client, world, login_as):
    login_as("office", unit=world.unit_b)
    assert client.get(f"/admin/counters/{world.counter_a.code}/poster").status_code == 404
    assert client.get(f"/admin/counters/{world.counter_b.code}/poster").status_code == 200


def test_a_qr_image_of_the_address_in_use_is_not_shared_by_caches(client, world, app):
    """Without PUBLIC_BASE_URL the code follows the Host a visitor used: no shared cache may keep it."""
    app.config["PUBLIC_BASE_URL"] = ""
    try:
        assert client.get(f"/qr/{world.counter_a.code}.png").headers["Cache-Control"].startswith("private")
        app.config["PUBLIC_BASE_URL"] = "https://danhgia.example.gov.vn"
        assert client.get(f"/qr/{world.counter_a.code}.png").headers["Cache-Control"].startswith("public")
    finally:
        app.config["PUBLIC_BASE_URL"] = ""
