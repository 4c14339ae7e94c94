"""The gateways' webhooks (/webhooks/…): each checks its own signature (no session, no CSRF token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/webhooks")
