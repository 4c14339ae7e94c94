"""SMS gateways behind one interface: Twilio, a generic HTTP gateway (a Vietnamese brandname provider or a relay
in front of one), and the console (development).

    gateway.send(message) -> Accepted(provider_id, delivery_status)   raises SendError(reason, permanent=...)
    gateway.fetch_status(provider_id) -> (delivery_status, error_code) | None   (None: the gateway cannot tell)

Neither HTTP client ever retries a request by itself: a send that timed out may have been accepted, and only
the outbox decides when to try again (with backoff, after recording the attempt). Phones leave as E.164.
`Accepted` and `SendError` live in outbox/senders.py (the worker's side of the interface). A `SendError`'s
reason never holds the recipient or the text (gateways quote the number in their messages).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..models.messaging import DELIVERY_STATUSES
from ..outbox.senders import Accepted, OutgoingMessage, SendError
from ..phones import to_e164

log = logging.getLogger("feedback_app.sms")

TWILIO_STATUS_PATH = "/webhooks/twilio/status"  # the route of sms.twilio_status
GATEWAY_STATUS_PATH = "/webhooks/sms/status"  # the route of sms.gateway_status

# Twilio's message statuses in our five (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values).
_TWILIO_STATUSES = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed",
    "canceled": "failed",
}
# 4xx answers that say our configuration is wrong, not the message: retried (with backoff) rather than given up,
# so fixing the account, the sender or the Messaging Service lets the waiting messages go.
_TWILIO_CONFIG_CODES = {20003, 20005, 20404, 21212, 21606, 21659, 21702, 21703, 21704, 21705, 30002}
_TRANSIENT_HTTP = {401, 403, 404, 408, 409, 425, 429}


def twilio_status(raw: str | None) -> str | None:
    """Twilio's status word in our vocabulary (queued, sent, delivered, undelivered, failed), None if unknown."""
    return _TWILIO_STATUSES.get((raw or "").strip().lower())


def generic_status(raw: str | None) -> str | None:
    """The generic gateway speaks our five words (any case); None for anything else."""
    word = (raw or "").strip().lower()
    return word if word in DELIVERY_STATUSES else None


class SmsGateway(Protocol):
    name: str  # 'twilio', 'http' or 'console' (OutboxMessage.provider)

    def send(self, message: OutgoingMessage) -> Accepted: ...

    def fetch_status(self, provider_id: str) -> tuple[str, str | None] | None: ...


def no_retry_adapter() -> HTTPAdapter:
    """A requests adapter that never retries, not even a connection that broke before an answer."""
    return HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0,
                                         raise_on_status=False))


def prepare_session(session: requests.Session, url: str) -> dict[str, str]:
    """No retries; the environment's proxy and CA bundle for `url` read once, not at every request (requests
    scans the whole environment twice per request otherwise: a tenth of a worker's time per SMS)."""
    for scheme in ("https://", "http://"):
        session.mount(scheme, no_retry_adapter())
    proxies = requests.utils.get_environ_proxies(url)
    session.trust_env = False
    session.proxies.update(proxies)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return proxies


def status_callback_url(config: Any, path: str, message_id: int | None = None) -> str | None:
    """Where the gateway reports delivery: PUBLIC_BASE_URL + path (+ ?m=<outbox id>); None without a public URL
    (development: no gateway could reach us anyway)."""
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return None
    return f"{base}{path}" + (f"?m={message_id}" if message_id is not None else "")


class ConsoleSmsGateway:
    """No gateway configured (`make run`): the message goes to the log, nothing leaves the machine."""

    name = "console"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or log

    def send(self, message: OutgoingMessage) -> Accepted:
        self.logger.warning("SMS #%d (%s) to %s from %s:\n%s", message.id, message.kind, to_e164(message.recipient),
                            message.sender_name or "-", message.body)
        return Accepted(f"console-{message.id}", "sent")

    def fetch_status(self, provider_id: str) -> tuple[str, str | None] | None:
        return None


class TwilioGateway:
    """Twilio's Messages API through the `twilio` client: a Messaging Service (preferred: it holds the registered
    sender) or a From number/alphanumeric sender; the status callback carries our outbox id (`?m=`), so a report
    can reconcile a message whose worker died after Twilio accepted it."""

    name = "twilio"

    def __init__(self, config: Any) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.config = config
        self.messaging_service_sid = config.get("TWILIO_MESSAGING_SERVICE_SID") or None
        self.from_number = config.get("TWILIO_FROM_NUMBER") or None
        timeout = float(config.get("SMS_HTTP_TIMEOUT_SECONDS") or 15)
        quiet = logging.getLogger("feedback_app.sms.twilio_http")  # twilio logs every request at INFO
        quiet.setLevel(logging.WARNING)
        base_url = (config.get("TWILIO_API_BASE_URL") or "").rstrip("/")
        http = TwilioHttpClient(pool_connections=True, timeout=timeout, logger=quiet, max_retries=0)
        assert http.session is not None
        http.proxy = prepare_session(http.session, base_url or "https://api.twilio.com")
        sid = config["TWILIO_ACCOUNT_SID"]
        # environment: a mapping of our own, so TWILIO_EDGE/TWILIO_REGION of the process cannot redirect the client.
        self.client = Client(username=sid, password=config["TWILIO_AUTH_TOKEN"], account_sid=sid, http_client=http,
                             environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""})
        if base_url:
            self.client.api.base_url = base_url  # a relay in front of api.twilio.com, or the tests' stub

    def send(self, message: OutgoingMessage) -> Accepted:
        from twilio.base.exceptions import TwilioException

        kwargs: dict[str, Any] = {"to": to_e164(message.recipient), "body": message.body,
                                  "attempt": message.attempts}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        callback = status_callback_url(self.config, TWILIO_STATUS_PATH, message.id)
        if callback:
            kwargs["status_callback"] = callback
        try:
            created = self.client.messages.create(**kwargs)
        except TwilioException as error:
            raise _twilio_error(error) from None
        except requests.RequestException as error:
            raise SendError(f"Twilio unreachable: {type(error).__name__}") from None
        if not created.sid:
            raise SendError("Twilio answered without a message sid")
        status = twilio_status(created.status) or "queued"
        if status == "failed":
            code = str(created.error_code) if created.error_code else None
            raise SendError(f"Twilio refused the message (error {code or '?'})", permanent=True, error_code=code)
        return Accepted(created.sid, "sent" if status in ("sent", "delivered") else "queued")

    def fetch_status(self, provider_id: str) -> tuple[str, str | None] | None:
        from twilio.base.exceptions import TwilioException

        try:
            found = self.client.messages(provider_id).fetch()
        except TwilioException as error:
            if getattr(error, "status", None) == 404:
                return None
            raise _twilio_error(error) from None
        except requests.RequestException as error:
            raise SendError(f"Twilio unreachable: {type(error).__name__}") from None
        status = twilio_status(found.status)
        if status is None:
            return None
        return status, (str(found.error_code) if found.error_code else None)


def _twilio_error(error: Exception) -> SendError:
    """A Twilio API error as a SendError: per-message 4xx refusals are permanent, the rest is tried again."""
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    code_text = str(code) if code not in (None, status) else None
    reason = f"Twilio HTTP {status or '?'}" + (f" error {code_text}" if code_text else "")
    permanent = (isinstance(status, int) and 400 <= status < 500 and status not in _TRANSIENT_HTTP
                 and code not in _TWILIO_CONFIG_CODES)
    return SendError(reason, permanent=permanent, error_code=code_text)


class HttpGateway:
    """The generic gateway (README "SMS", "The generic gateway"): JSON POST with a bearer token, {"id": …} back."""

    name = "http"

    def __init__(self, config: Any) -> None:
        self.config = config
        self.url = config["SMS_HTTP_URL"].rstrip("/")
        self.timeout = (5.0, float(config.get("SMS_HTTP_TIMEOUT_SECONDS") or 15))
        self.session = requests.Session()
        prepare_session(self.session, self.url)
        self.session.headers.update({"Authorization": f"Bearer {config.get('SMS_HTTP_TOKEN') or ''}",
                                     "Accept": "application/json"})

    def send(self, message: OutgoingMessage) -> Accepted:
        payload = {"to": to_e164(message.recipient), "text": message.body, "sender": message.sender_name or "",
                   "reference": str(message.id),
                   "callback_url": status_callback_url(self.config, GATEWAY_STATUS_PATH)}
        try:
            # The reference is also an Idempotency-Key: a gateway that saw it before answers with the same id.
            response = self.session.post(self.url, json=payload, timeout=self.timeout, allow_redirects=False,
                                         headers={"Idempotency-Key": f"outbox-{message.id}"})
        except requests.RequestException as error:
            raise SendError(f"SMS gateway unreachable: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise _http_error(response)
        try:
            answer = response.json()
            provider_id = str(answer["id"]).strip()
        except (ValueError, KeyError, TypeError):
            raise SendError(f"SMS gateway answered {response.status_code} without an id") from None
        if not provider_id:
            raise SendError("SMS gateway answered an empty id")
        status = generic_status(answer.get("status")) if isinstance(answer, dict) else None
        return Accepted(provider_id[:255], "sent" if status == "sent" else "queued")

    def fetch_status(self, provider_id: str) -> tuple[str, str | None] | None:
        try:
            response = self.session.get(f"{self.url}/{requests.utils.quote(provider_id, safe='')}",
                                        timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as error:
            raise SendError(f"SMS gateway unreachable: {type(error).__name__}") from None
        if response.status_code in (404, 405, 501):
            return None  # unknown id, or a gateway without status look-ups
        if response.status_code >= 300:
            raise _http_error(response)
        try:
            answer = response.json()
        except ValueError:
            return None
        status = generic_status(answer.get("status")) if isinstance(answer, dict) else None
        if status is None:
            return None
        code = answer.get("error_code")
        return status, (str(code)[:20] if code not in (None, "") else None)


def _http_error(response: requests.Response) -> SendError:
    code = None
    try:
        answer = response.json()
        if isinstance(answer, dict) and answer.get("error_code") not in (None, ""):
            code = str(answer["error_code"])[:20]
    except ValueError:
        pass
    status = response.status_code
    permanent = 400 <= status < 500 and status not in _TRANSIENT_HTTP
    return SendError(f"SMS gateway HTTP {status}" + (f" error {code}" if code else ""), permanent=permanent,
                     error_code=code)


def sms_gateway(config: Any) -> SmsGateway:
    """Twilio when TWILIO_ACCOUNT_SID is set, the generic gateway when SMS_HTTP_URL is, else the console."""
    if config.get("TWILIO_ACCOUNT_SID"):
        return TwilioGateway(config)
    if config.get("SMS_HTTP_URL"):
        return HttpGateway(config)
    return ConsoleSmsGateway()
