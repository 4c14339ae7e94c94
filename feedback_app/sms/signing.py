"""HMAC-SHA256 signatures of the generic gateway's webhooks (delivery reports and received messages).

The gateway signs every request it sends us with the shared secret SMS_HTTP_SECRET:

    X-Signature-Timestamp: 1767225600                  (Unix seconds when it signed)
    X-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + raw body bytes)>

The timestamp is inside the signed text, so an old request cannot be given a fresh timestamp; a request whose
timestamp is more than TOLERANCE_SECONDS away from our clock is refused, so a captured request cannot be
replayed later. Inside that window a replay is harmless: both webhooks are idempotent (on the provider's message
id, and delivery statuses never move backwards). Several signatures separated by commas are accepted (a gateway
rotating its secret may send one per secret).

Twilio's webhooks are checked with Twilio's own RequestValidator against the public address (twilio_request_valid);
both checks are here so the delivery-report and the inbound webhooks share them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from flask import Request

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
TOLERANCE_SECONDS = 300
_PREFIX = "sha256="


def sign(secret: str, body: bytes, timestamp: int | str) -> str:
    """The X-Signature value for `body` sent at `timestamp` (Unix seconds): 'sha256=<hex>'."""
    message = str(int(timestamp)).encode() + b"." + body
    return _PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Both headers for a request carrying `body` (what a gateway, or a test, sends)."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, body, stamp)}


def verify(secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether `signature` is ours for `body` at `timestamp`, and `timestamp` is within `tolerance` of now.

    False (never an exception) for anything missing or malformed, and always without a secret configured.
    """
    if not secret or not timestamp or not signature:
        return False
    stamp = timestamp.strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance:
        return False
    expected = sign(secret, body, stamp)
    # compare_digest on every candidate: no early exit that would tell which one came close.
    results = [hmac.compare_digest(expected.encode(), candidate.strip().encode("utf-8", "replace"))
               for candidate in signature.split(",")[:5]]
    return any(results)


def gateway_request_valid(config: Any, request: Request) -> bool:
    """Whether a request to one of the generic gateway's webhooks carries our HMAC over its raw body."""
    return verify(config.get("SMS_HTTP_SECRET") or "", request.get_data(cache=True),
                  request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))


def twilio_public_url(config: Any, request: Request) -> str:
    """The address Twilio called, as it signed it: PUBLIC_BASE_URL + path + query behind a proxy (the app sees
    another host and scheme), the request's own address when PUBLIC_BASE_URL is empty."""
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def twilio_request_valid(config: Any, request: Request) -> bool:
    """Whether X-Twilio-Signature validates (Twilio's RequestValidator, our account's auth token) for the public
    URL and the form parameters. Always False without TWILIO_AUTH_TOKEN."""
    from twilio.request_validator import RequestValidator

    token = config.get("TWILIO_AUTH_TOKEN") or ""
    signature = request.headers.get("X-Twilio-Signature") or ""
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(twilio_public_url(config, request), request.form, signature))
