"""Addresses of our pages for messages: built the same way inside a request and in the worker."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for

from .qrcodes.services import public_base_url


def app_path(endpoint: str, **values: Any) -> str:
    """The path of a page ("/xu-ly/pakn/12"), for in-app links; works without a request (the worker)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute address citizens open (PUBLIC_BASE_URL in production), for e-mails and SMS."""
    return public_base_url() + app_path(endpoint, **values)
