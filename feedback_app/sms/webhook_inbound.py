"""Citizens' messages: POST /webhooks/twilio/sms and the generic gateway's POST /webhooks/sms/inbound."""

from __future__ import annotations

from .blueprint import bp  # noqa: F401 - routes attach to the shared webhook blueprint
