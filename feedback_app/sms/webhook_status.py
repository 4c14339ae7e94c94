"""Delivery reports: POST /webhooks/twilio/status and the generic gateway's POST /webhooks/sms/status."""

from __future__ import annotations

from .blueprint import bp  # noqa: F401 - routes attach to the shared webhook blueprint
