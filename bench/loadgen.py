"""A small closed-loop load generator: each client thread plays one citizen after another, each citizen on
a fresh cookie jar and from a loopback address of its own, through a whole journey of requests."""

from __future__ import annotations

import http.client
import itertools
import json
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .servers import Server, cpu_snapshot


class SourceAddresses:
    """Each citizen comes from its own loopback address (127.100.a.b), as phones and kiosks do; with
    `single` every one comes from 127.0.0.1 (one address: the burst rule then flags most responses)."""

    def __init__(self, single: bool = False) -> None:
        self.single = single
        self.numbers = itertools.count()
        self.lock = threading.Lock()

    def next(self) -> tuple[str, int] | None:
        if self.single:
            return None
        with self.lock:
            n = next(self.numbers) % (250 * 250)
        return (f"127.100.{n // 250 + 1}.{n % 250 + 1}", 0)


class Citizen:
    """One browser: a cookie jar and a connection kept alive when the server allows it."""

    def __init__(self, port: int, address: tuple[str, int] | None) -> None:
        self.port, self.address = port, address
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.acknowledged = False  # the server answered that it stored this citizen's response

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reused = self.conn is not None
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                                   source_address=self.address)
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            if reused and method == "GET":
                # The server closed an idle kept-alive connection (gunicorn's keepalive): a browser retries
                # a GET on a new one, and so do we; a POST is never sent twice.
                return self.request(method, path, body, headers)
            raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:  # gunicorn's sync workers close every connection
            self.close()
        return response.status, response.headers, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class JourneyError(Exception):
    """A step of the journey did not answer as a citizen's browser expects."""


@dataclass
class Answers:
    """What the citizens answer: every scale question of the version, yes to its screening questions."""

    version_id: int
    scale_questions: list[int]
    screening_questions: list[int]
    rng: random.Random = field(default_factory=lambda: random.Random(2640))

    def fields(self) -> dict[str, str]:
        values = {f"q{q}": str(self.rng.choice((4, 5))) for q in self.scale_questions}
        values.update({f"q{q}": "1" for q in self.screening_questions})
        return values

    @property
    def per_response(self) -> int:
        return len(self.scale_questions) + len(self.screening_questions)


_INPUT = re.compile(rb'name="(csrf_token|key|version_id)" value="([^"]*)"')
_KIOSK = re.compile(rb'data-(csrf|version)="([^"]*)"')


def phone_journey(counter: str, answers: Answers, bare: bool) -> Callable[[Citizen], None]:
    """Open the phone form, send it, see the thank-you page."""
    page, submit = ("/bare/q/page", "/bare/q/submit") if bare else (f"/q/{counter}", f"/q/{counter}")

    def journey(citizen: Citizen) -> bool:
        status, _headers, html = citizen.request("GET", page)
        if status != 200:
            raise JourneyError(f"form: HTTP {status}")
        hidden = {k.decode(): v.decode() for k, v in _INPUT.findall(html)}
        body = urlencode({**hidden, **answers.fields()}).encode()
        status, headers, data = citizen.request("POST", submit, body,
                                                {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise JourneyError(f"submit: HTTP {status}: {data[:200]!r}")
        citizen.acknowledged = True
        status, _headers, _html = citizen.request("GET", headers["Location"])
        if status != 200:
            raise JourneyError(f"thank-you page: HTTP {status} (the response was stored)")

    return journey


def kiosk_journey(counter: str, answers: Answers, bare: bool) -> Callable[[Citizen], None]:
    """The kiosk page, its token (heartbeat), the JSON submit."""
    page, token, submit = (("/bare/k/page", "/bare/k/token", "/bare/k/submit") if bare else
                           (f"/k/{counter}", f"/k/{counter}/token?pending=0", f"/k/{counter}/submit"))

    def journey(citizen: Citizen) -> bool:
        status, _headers, html = citizen.request("GET", page)
        if status != 200:
            raise JourneyError(f"kiosk page: HTTP {status}")
        data = {k.decode(): v.decode() for k, v in _KIOSK.findall(html)}
        status, _headers, raw = citizen.request("GET", token)
        if status != 200:
            raise JourneyError(f"token: HTTP {status}")
        csrf = json.loads(raw)["csrf_token"]
        body = json.dumps({"key": uuid.uuid4().hex, "version_id": int(data.get("version") or answers.version_id),
                           "lang": "vi", "answers": answers.fields()}).encode()
        status, _headers, raw = citizen.request("POST", submit, body, {"Content-Type": "application/json",
                                                                       "X-CSRFToken": csrf})
        if status != 201:
            raise JourneyError(f"submit: HTTP {status}: {raw[:200]!r}")
        citizen.acknowledged = True

    return journey


@dataclass
class PhaseResult:
    name: str
    citizens: int = 0
    acknowledged: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)


def run_phase(name: str, server: Server, database: str, journey: Callable[[Citizen], None], concurrency: int,
              seconds: float, addresses: SourceAddresses, max_citizens: float = math.inf) -> PhaseResult:
    """`concurrency` threads play citizens back to back for `seconds` (or until max_citizens)."""
    result = PhaseResult(name)
    lock = threading.Lock()
    tickets = itertools.count()
    start_gate = threading.Barrier(concurrency + 1)
    deadline = [math.inf]

    def client() -> None:
        start_gate.wait()
        latencies, samples, done, acked, errors = [], [], 0, 0, 0
        while time.perf_counter() < deadline[0] and next(tickets) < max_citizens:
            citizen = Citizen(server.port, addresses.next())
            began = time.perf_counter()
            try:
                journey(citizen)
            except (JourneyError, OSError, http.client.HTTPException, ValueError, KeyError) as error:
                errors += 1
                if len(samples) < 5:
                    samples.append(repr(error)[:300])
            finally:
                citizen.close()
            acked += citizen.acknowledged  # even when a later step failed: the response was stored
            done += 1
            latencies.append((time.perf_counter() - began) * 1000)
        with lock:
            result.citizens += done
            result.acknowledged += acked
            result.errors += errors
            result.latencies_ms.extend(latencies)
            result.error_samples.extend(samples[: max(0, 10 - len(result.error_samples))])

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    before = cpu_snapshot(server, database)
    start_gate.wait(timeout=60)
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - began
    after = cpu_snapshot(server, database)
    result.cpu = {k: after[k] - before[k] for k in before}
    return result


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]
