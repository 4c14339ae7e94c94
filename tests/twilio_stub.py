"""A local stand-in for Twilio's Messages API, for the real `twilio` client (nothing leaves the machine).

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json     create: {"sid": "SM…", "status": "queued", …}
    GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json   fetch (status set by the test: set_status)

HTTP basic auth with the account SID and auth token (401, code 20003, otherwise). Every accepted message is kept
(`messages`, with the form fields as sent: To, Body, From, MessagingServiceSid, StatusCallback, Attempt).
Failure modes for the next sends (`fail_next`): 'invalid' (400, code 21211), 'unsubscribed' (400, 21610),
'rate_limited' (429, 20429), 'server_error' (500, 20500), 'slow' (the message IS accepted and recorded, the
answer comes after `slow_seconds`: a client with a shorter timeout sees a timeout for a message that went out).

Use it from a test module:

    from . import twilio_stub as stubs

    twilio_stub, fresh_twilio_stub = stubs.twilio_stub, stubs.fresh_twilio_stub  # the fixtures, in this module

    def test_something(fresh_twilio_stub):
        app.config.update(fresh_twilio_stub.app_config())

Webhook tests sign their requests with Twilio's own RequestValidator: `sign_twilio_request(url, params, token)`,
or `post_signed(client, path, params, token)` for a Flask test client (the URL signed is http://localhost<path>,
what the test client requests when PUBLIC_BASE_URL is empty).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "5f" * 16
AUTH_TOKEN = "stub-auth-token-" + "0" * 16
MESSAGING_SERVICE_SID = "MG" + "a1" * 16
API_VERSION = "2010-04-01"

FAILURES = {
    "invalid": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "rate_limited": (429, 20429, "Too Many Requests"),
    "server_error": (500, 20500, "Internal Server Error"),
}


class TwilioStub:
    """The server and what it received; thread-safe (the stub answers each connection in its own thread)."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.fetches: list[str] = []  # the sids looked up (GET)
        self.slow_seconds = 3.0
        self.delay_seconds = 0.0  # every accepted message's answer waits this long (a wider window to die in)
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._by_sid: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life ------------------------------------------------------------------------------------------------
    def start(self) -> TwilioStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="twilio-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def app_config(self, **extra: Any) -> dict[str, Any]:
        """Settings that point the app's Twilio gateway at this stub (a Messaging Service by default)."""
        return {"TWILIO_ACCOUNT_SID": self.account_sid, "TWILIO_AUTH_TOKEN": self.auth_token,
                "TWILIO_MESSAGING_SERVICE_SID": MESSAGING_SERVICE_SID, "TWILIO_FROM_NUMBER": "",
                "TWILIO_API_BASE_URL": self.base_url, **extra}

    def env(self, **extra: str) -> dict[str, str]:
        """The same as environment variables (a `flask worker` subprocess)."""
        return {key: str(value) for key, value in self.app_config(**extra).items()}

    # --- control ---------------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._by_sid.clear()
            self._failures.clear()
            self.fetches.clear()
            self.requests = 0
            self.delay_seconds = 0.0

    def fail_next(self, mode: str, times: int = 1) -> None:
        """The next `times` sends fail in `mode` (see the module's docstring)."""
        if mode not in FAILURES and mode != "slow":
            raise ValueError(mode)
        with self._lock:
            self._failures.extend([mode] * times)

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self._lock:
            message = self._by_sid[sid]
            message["status"], message["error_code"] = status, error_code

    def references(self) -> Counter[int]:
        """How many times each outbox id (the ?m= of StatusCallback) reached the stub."""
        with self._lock:
            found: Counter[int] = Counter()
            for message in self.messages:
                query = parse_qs(urlsplit(message.get("StatusCallback") or "").query)
                if query.get("m"):
                    found[int(query["m"][0])] += 1
            return found

    # --- the API ---------------------------------------------------------------------------------------------
    def _take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        failure = self._take_failure()
        if failure in FAILURES:
            status, code, text = FAILURES[failure]
            return status, _error(status, code, text.format(to=form.get("To", "")))
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            return 400, _error(400, 21604 if not form.get("To") else 21602, "A 'To' and a 'Body' are required")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, _error(400, 21603, "A 'From' or a 'MessagingServiceSid' parameter is required")
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        message = {**form, "sid": sid, "status": "accepted" if not form.get("From") else "queued",
                   "error_code": None, "date_created": now, "received_at": time.monotonic()}
        with self._lock:
            self.messages.append(message)
            self._by_sid[sid] = message
        if failure == "slow":
            time.sleep(self.slow_seconds)
        elif self.delay_seconds:
            time.sleep(self.delay_seconds)
        return 201, self.resource(message)

    def fetch(self, sid: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.fetches.append(sid)
            message = self._by_sid.get(sid)
        if message is None:
            return 404, _error(404, 20404, f"The requested resource /{API_VERSION}/Accounts/{self.account_sid}"
                                            f"/Messages/{sid}.json was not found")
        return 200, self.resource(message)

    def resource(self, message: dict[str, Any]) -> dict[str, Any]:
        """A message as Twilio's API returns it."""
        sid, uri = message["sid"], f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message['sid']}"
        body = message.get("Body", "")
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": body,
            "date_created": message["date_created"], "date_sent": None, "date_updated": message["date_created"],
            "direction": "outbound-api", "error_code": message["error_code"], "error_message": None,
            "from": message.get("From") or None, "messaging_service_sid": message.get("MessagingServiceSid"),
            "num_media": "0", "num_segments": str(max(1, -(-len(body) // 70))), "price": None,
            "price_unit": "USD", "sid": sid, "status": message["status"],
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": message.get("To"), "uri": f"{uri}.json",
        }


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that died mid-request (a killed worker) is no error of the stub's."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioStub
    protocol_version = "HTTP/1.1"  # keep-alive, as api.twilio.com
    disable_nagle_algorithm = True  # headers and body leave in two writes: without this each answer waits 40 ms

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting ('slow'): the message was accepted anyway

    def _authorised(self) -> bool:
        expected = base64.b64encode(f"{self.owner.account_sid}:{self.owner.auth_token}".encode()).decode()
        if self.headers.get("Authorization") == f"Basic {expected}":
            return True
        self._answer(401, _error(401, 20003, "Authenticate"))
        return False

    def _route(self) -> tuple[str, str | None] | None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != API_VERSION or parts[1] != "Accounts" or parts[2] != self.owner.account_sid:
            return None
        if parts[3:] == ["Messages.json"]:
            return "list", None
        if len(parts) == 5 and parts[3] == "Messages" and parts[4].endswith(".json"):
            return "one", parts[4][:-5]
        return None

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        with self.owner._lock:
            self.owner.requests += 1
        if not self._authorised():
            return
        if self._route() != ("list", None):
            self._answer(404, _error(404, 20404, "Not found"))
            return
        self._answer(*self.owner.create(dict(parse_qsl(raw, keep_blank_values=True))))

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self._authorised():
            return
        route = self._route()
        if route is None or route[0] != "one" or route[1] is None:
            self._answer(404, _error(404, 20404, "Not found"))
            return
        self._answer(*self.owner.fetch(route[1]))


@pytest.fixture(scope="session")
def twilio_stub() -> Iterator[TwilioStub]:
    """The stub, started once per session; emptied before each use by `fresh_twilio_stub`."""
    stub = TwilioStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def fresh_twilio_stub(twilio_stub: TwilioStub) -> TwilioStub:
    twilio_stub.reset()
    twilio_stub.slow_seconds = 3.0
    return twilio_stub


def sign_twilio_request(url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def post_signed(client: Any, path: str, params: dict[str, str], auth_token: str = AUTH_TOKEN,
                base_url: str = "http://localhost") -> Any:
    """POST a form to the Flask test client as Twilio would, signed for base_url + path."""
    signature = sign_twilio_request(base_url + path, params, auth_token)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})
