"""Citizens' messages: POST /webhooks/twilio/sms and the generic gateway's POST /webhooks/sms/inbound.

Each webhook checks its gateway's signature before reading anything (Twilio's X-Twilio-Signature over the public
URL and the form; the generic gateway's HMAC-SHA256 over timestamp and raw body; both in sms/signing.py, shared
with the delivery-report webhooks) and answers 404 while its gateway is not configured, so unsigned input is
never taken. The message is then handed to
sms/inbound.py, which stores it first and handles it once (a retry of the same message id does nothing twice).
Answers to the citizen go through the outbox, so Twilio gets an empty TwiML <Response/> and the generic gateway
a small JSON acknowledgement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _

from ..errors import problem
from ..extensions import limiter
from ..timeutil import utcnow
from .blueprint import bp
from .inbound import IncomingSms, receive
from .signing import gateway_request_valid, twilio_request_valid

MAX_BODY_BYTES = 64 * 1024  # an SMS is at most a few kilobytes, even concatenated
MAX_TEXT = 10_000
MAX_ID = 80  # InboundSms.provider_message_id
MAX_NUMBER = 40
CLOCK_SKEW = timedelta(minutes=5)


def _limit() -> str:
    return current_app.config["SMS_WEBHOOK_LIMIT"]


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _twiml() -> Response:
    from twilio.twiml.messaging_response import MessagingResponse

    return Response(str(MessagingResponse()), mimetype="text/xml")


@bp.post("/twilio/sms")
@limiter.limit(_limit)
def twilio_inbound() -> Any:
    """A message Twilio received for us (form-encoded, signed): stored, handled once, answered by the outbox."""
    if not current_app.config.get("TWILIO_AUTH_TOKEN"):
        return _plain(404, "Twilio is not configured")
    if not twilio_request_valid(current_app.config, request):
        return _plain(403, "Invalid X-Twilio-Signature")
    form = request.form
    message_id = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    sender = (form.get("From") or "").strip()
    if not message_id or len(message_id) > MAX_ID or not sender or len(sender) > MAX_NUMBER:
        return _plain(400, "MessageSid and From are required")
    receive(IncomingSms(provider="twilio", provider_message_id=message_id, sender=sender,
                        body=(form.get("Body") or "")[:MAX_TEXT], to_number=form.get("To")))
    return _twiml()


def _received_at(raw: object) -> datetime | None:
    """The gateway's ISO 8601 time of receipt when it is one, with a zone, and not in the future; else None."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        return None
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    when = when.astimezone(UTC)
    return when if when <= utcnow() + CLOCK_SKEW else None


def _gateway_message(payload: Any) -> tuple[IncomingSms | None, dict[str, str]]:
    """The message in the generic gateway's JSON, or what is wrong with it, by field."""
    errors: dict[str, str] = {}
    if not isinstance(payload, dict):
        return None, {"body": _("Nội dung phải là một đối tượng JSON.")}
    raw_id = payload.get("id")
    message_id = str(raw_id).strip() if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    if not message_id or len(message_id) > MAX_ID:
        errors["id"] = _("Thiếu mã tin nhắn (id), hoặc dài quá %(n)d ký tự.", n=MAX_ID)
    sender = payload.get("from")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_NUMBER:
        errors["from"] = _("Thiếu số điện thoại người gửi (from).")
    text = payload.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        errors["text"] = _("Nội dung tin nhắn (text) phải là chuỗi, tối đa %(n)d ký tự.", n=MAX_TEXT)
    to_number = payload.get("to")
    if to_number is not None and not isinstance(to_number, str):
        errors["to"] = _("Số nhận (to) phải là chuỗi.")
    if errors:
        return None, errors
    return IncomingSms(provider="http", provider_message_id=message_id, sender=str(sender).strip(), body=str(text),
                       to_number=to_number, received_at=_received_at(payload.get("received_at"))), {}


@bp.post("/sms/inbound")
@limiter.limit(_limit)
def gateway_inbound() -> Any:
    """A message the generic gateway received for us (JSON, HMAC-signed): stored, handled once."""
    if not current_app.config.get("SMS_HTTP_SECRET"):
        return problem(404, _("Cổng SMS chưa được cấu hình."))
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return problem(413, _("Nội dung quá lớn."))
    if not gateway_request_valid(current_app.config, request):  # HMAC over the raw body (read once, kept)
        return problem(403, _("Chữ ký không hợp lệ."))
    try:
        # The app's JSON provider: lone surrogates and deep nesting are a 400 naming the problem.
        payload = current_app.json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        return problem(400, _("Nội dung không phải JSON hợp lệ."))
    message, errors = _gateway_message(payload)
    if message is None:
        return problem(400, _("Tin nhắn thiếu hoặc sai trường."), errors=errors)
    handled = receive(message)
    return jsonify(status="ok", id=message.provider_message_id, duplicate=handled.duplicate)
