"""/admin/sms: each agency's SMS settings, templates (with segment count and campaign cost), the funnel."""

from __future__ import annotations

from flask import Blueprint


def register_sms_views(bp: Blueprint) -> None:
    """Attach the SMS settings pages to the admin blueprint."""
