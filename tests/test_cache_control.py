"""Nothing a logged-in user sees, nor any API answer, stays in a browser's or a proxy's cache."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/results", "/admin/", "/admin/audit", "/api/v1/sipas", "/api/v1/counters",
                                  "/", "/phan-anh"])
def test_pages_and_answers_for_a_logged_in_user_are_not_stored(client, world, login_as, path):
    login_as("admin")
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers.get("Cache-Control") == "no-store", path


@pytest.mark.parametrize(("path", "status"), [("/login", 200), ("/api/v1/sipas", 401), ("/api/v1/counters", 200),
                                              ("/results", 302), ("/admin/users", 302)])
def test_login_api_and_staff_addresses_are_not_stored_for_visitors_either(client, world, path, status):
    response = client.get(path)
    assert response.status_code == status, path
    assert response.headers.get("Cache-Control") == "no-store", path


def test_public_pages_images_and_static_files_keep_their_own_caching(client, world, login_as):
    code = world.counter_a.code
    assert client.get(f"/q/{code}").headers["Cache-Control"] == "no-store"  # the survey page's own header
    assert "Cache-Control" not in client.get("/").headers  # the public home, for a visitor
    login_as("admin")
    assert client.get(f"/qr/{code}.png").headers["Cache-Control"].endswith("max-age=86400")  # see test_qrcodes
    static = client.get("/static/css/staff.css")
    assert "no-store" not in (static.headers.get("Cache-Control") or "")
    static.close()
