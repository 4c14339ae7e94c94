"""The way back after a language switch or a login stays on this site, whatever the address says."""

from __future__ import annotations

import pytest

from feedback_app.extensions import db
from feedback_app.redirects import safe_local_path

from . import factories

# Each of these, put in a Location header, sends a browser to another host (or is not a path at all).
OUTSIDE = [
    "////evil.example",
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nLocation: https://evil.example",
    "/\x00/evil.example",
    "evil.example",
    "",
]
# A NUL never reaches the views: the input guard answers 400 first (tests/test_input_guard.py).
OUTSIDE_VIEWS = [t for t in OUTSIDE if "\x00" not in t]


@pytest.mark.parametrize("target", OUTSIDE)
def test_helper_refuses_what_is_not_a_plain_path_on_this_site(target):
    assert safe_local_path(target, "/fallback") == "/fallback"


@pytest.mark.parametrize(("target", "expected"), [
    ("/results", "/results"),
    ("/results?unit=U1&from=01/10/2026", "/results?unit=U1&from=01/10/2026"),
    ("/q/SXD-Q1?lang=en", "/q/SXD-Q1"),
    ("/q/SXD-Q1?via=qr&lang=vi", "/q/SXD-Q1?via=qr"),
    ("/admin/units#top", "/admin/units"),
])
def test_helper_keeps_local_paths_and_drops_lang(target, expected):
    assert safe_local_path(target, "/fallback") == expected


@pytest.mark.parametrize("target", OUTSIDE_VIEWS)
def test_language_switch_goes_back_only_within_the_site(client, world, target):
    response = client.get("/lang/vi", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/", target


def test_language_switch_uses_the_referrer_of_this_site_only(client, world):
    page = f"/q/{world.counter_a.code}"
    back = client.get("/lang/en", headers={"Referer": f"http://localhost{page}?lang=vi&via=qr"})
    assert back.headers["Location"] == f"{page}?via=qr"
    away = client.get("/lang/en", headers={"Referer": "http://evil.example/q/X"})
    assert away.headers["Location"] == "/"
    sneaky = client.get("/lang/en", headers={"Referer": "http://localhost//evil.example"})
    assert sneaky.headers["Location"] == "/"


@pytest.mark.parametrize("target", OUTSIDE_VIEWS)
def test_login_goes_back_only_within_the_site(client, world, target):
    user = factories.user("viewer", world.agency)
    db.session.commit()
    token = factories.csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/results", target
    # Already logged in: the login page sends the user on, by the same rule.
    again = client.get("/login", query_string={"next": target})
    assert again.headers["Location"] == "/results", target


def test_login_goes_back_to_the_page_asked_for(client, world):
    user = factories.user("viewer", world.agency)
    db.session.commit()
    token = factories.csrf_token(client, "/login")
    response = client.post("/login?next=/results%3Funit%3DX%26lang%3Den",
                           data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/results?unit=X"
