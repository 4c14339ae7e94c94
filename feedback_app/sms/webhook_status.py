"""Delivery reports: POST /webhooks/twilio/status and the generic gateway's POST /webhooks/sms/status.

Each checks its own signature (403 without a valid one), then hands the report to sms/status.py. Both answer
204 with an empty body, also for a message we do not know (a gateway would otherwise retry it forever).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request

from ..extensions import limiter
from ..parsing import parse_id
from .blueprint import bp
from .gateways import generic_status, twilio_status
from .signing import gateway_request_valid, twilio_request_valid
from .status import record_delivery


def _limit() -> str:
    return current_app.config["SMS_WEBHOOK_LIMIT"]


@bp.post("/twilio/status", endpoint="twilio_status")
@limiter.limit(_limit)
def twilio_status_report() -> Any:
    """Twilio's status callback (form fields MessageSid, MessageStatus, ErrorCode; our outbox id in ?m=)."""
    if not twilio_request_valid(current_app.config, request):
        abort(403)
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "").strip()
    if not sid:
        abort(400)
    status = twilio_status(request.form.get("MessageStatus") or request.form.get("SmsStatus"))
    if status is not None:  # 'receiving', 'received' … are not about delivery
        record_delivery("twilio", sid, status, request.form.get("ErrorCode") or None,
                        message_id=parse_id(request.args.get("m")))
    return "", 204


@bp.post("/sms/status", endpoint="gateway_status")
@limiter.limit(_limit)
def gateway_status_report() -> Any:
    """The generic gateway's report: JSON {"id", "reference", "status", "error_code"}, signed with HMAC-SHA256."""
    if not gateway_request_valid(current_app.config, request):
        abort(403)
    report = request.get_json(silent=True)
    if not isinstance(report, dict):
        abort(400)
    provider_id = report.get("id")
    status = generic_status(report.get("status") if isinstance(report.get("status"), str) else None)
    if not isinstance(provider_id, str | int) or isinstance(provider_id, bool) or not str(provider_id).strip() \
            or status is None:
        abort(400)
    code = report.get("error_code")
    record_delivery("http", str(provider_id), status, str(code)[:20] if code not in (None, "") else None,
                    message_id=parse_id(report.get("reference")))
    return "", 204
