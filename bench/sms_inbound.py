"""Latency of the inbound SMS webhooks: citizens' replies, opt-outs, complaints and unreadable texts.

    .venv/bin/python bench/sms_inbound.py [--worker-classes sync,gthread] [--gateways twilio,http]
                                          [--requests 1000] [--invitations 20000] [--concurrency 4]

Prepares `feedback_bench_sms` (dropped and recreated, migrated, demo data loaded by bench/run.py's
prepare_database) with --invitations sent survey invitations (a returned dossier each, one phone each), then
for each worker class and gateway starts the full app under gunicorn with production settings and that gateway
configured, and posts signed messages as the gateway would: Twilio's form with X-Twilio-Signature computed by
Twilio's own RequestValidator over the public URL, or the generic gateway's JSON with its HMAC-SHA256. The mix
(MIX below) is what a survey number receives the evening invitations go out: replies of one digit or one per
factor, second replies, digits from phones without an invitation, opt-outs and opt-ins, complaints, texts we
cannot read, and the gateway's retries of a message already delivered. Each message is timed from the request to
the answer, one after another (one gateway connection) and then with --concurrency deliveries at once. After each
run every message's stored outcome is compared with the one expected, and the responses are counted.
Prints p50/p95/p99 per kind and overall; writes bench/results/<UTC time>-sms-inbound.json. Goal: p99 <= 50 ms
(one after another). See bench/README.md, "Inbound SMS webhooks".
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import secrets
import signal
import sys
import threading
import time
from collections import Counter as Tally
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench_sms"
TWILIO_TOKEN = secrets.token_hex(16)  # shared by this script (which signs) and the server it starts
GATEWAY_SECRET = secrets.token_hex(16)
FIRST_PHONE = 903_000_000  # invited phones: 0903000000, 0903000001, …
STRANGER_PHONE = 977_000_000  # phones without an invitation
RACE_MARGIN = 20  # a second reply goes to a phone answered at least this many replies ago

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import Citizen, percentile  # noqa: E402 - after the path set-up above
from bench.run import prepare_database  # noqa: E402
from bench.servers import Server, free_port  # noqa: E402

# kind: (weight, expected outcome). A reply's phone is invited and has not answered yet; "reply_again" texts a
# phone that has; "retry" repeats an earlier message's id (the gateway's retry), whose outcome stays the first.
MIX = {
    "reply_overall": (28, "answer"),
    "reply_factors": (18, "answer"),
    "reply_again": (8, "duplicate_answer"),
    "no_invitation": (5, "no_invitation"),
    "opt_out": (8, "opt_out"),
    "opt_in": (3, "opt_in"),
    "complaint": (5, "complaint"),
    "unreadable": (20, "help"),
    "retry": (5, None),
}
OPT_OUTS = ["STOP", "Hủy", "TU CHOI", "từ chối", "HUY"]
OPT_INS = ["DANG KY", "Đăng ký", "START"]
UNREADABLE = ["Cho hỏi bao giờ có kết quả?", "ok", "Cảm ơn", "hài lòng", "Alo", "5 sao", "???", "Hồ sơ của tôi đâu"]
COMPLAINTS = ["PAKN: Nhân viên hướng dẫn chưa rõ, phải đi lại hai lần", "Góp ý: cần thêm ghế ở khu chờ",
              "PA Bãi giữ xe thu tiền sai quy định", "KN đề nghị trả kết quả qua bưu điện"]


def prepare(url: str, invitations: int, secret_key: str) -> dict[str, Any]:
    """The demo database and `invitations` sent invitations of returned dossiers of the demo counter."""
    prepare_database(url, "SXD-Q20")
    import sqlalchemy as sa

    from feedback_app import create_app
    from feedback_app.extensions import db
    from feedback_app.models import Counter, Dossier, SurveyInvitation
    from feedback_app.phones import phone_hash
    from feedback_app.timeutil import local_today, utcnow

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secret_key)
    with app.app_context():
        counter = db.session.scalar(sa.select(Counter).where(Counter.code == "SXD-Q20"))
        officer_id = counter.officers[0].id if counter.officers else None
        today, now = local_today(), utcnow()
        for start in range(0, invitations, 5000):
            stop = min(invitations, start + 5000)
            dossiers = [{"code": f"BENCH-SMS-{n:07d}", "agency_id": counter.agency_id, "counter_id": counter.id,
                         "officer_id": officer_id, "procedure_name": "Cấp giấy phép xây dựng",
                         "phone": f"0{FIRST_PHONE + n}", "received_date": today - timedelta(days=10),
                         "appointment_date": today, "returned_date": today, "status": "returned",
                         "channel": "in_person", "source": "demo", "supplement_count": 0, "imported_at": now,
                         "updated_at": now} for n in range(start, stop)]
            ids = db.session.execute(sa.insert(Dossier).returning(Dossier.id, Dossier.phone), dossiers).all()
            db.session.execute(sa.insert(SurveyInvitation), [
                {"dossier_id": dossier_id, "phone_hash": phone_hash(phone), "agency_id": counter.agency_id,
                 "counter_id": counter.id, "officer_id": officer_id, "channel": "in_person", "status": "sent",
                 "created_at": now - timedelta(hours=2), "send_at": now - timedelta(hours=2),
                 "sent_at": now - timedelta(hours=2), "expires_at": now + timedelta(days=7)}
                for dossier_id, phone in ids])
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return {"invitations": invitations, "counter": "SXD-Q20"}


class Messages:
    """The stream of messages the gateway delivers, shared by the client threads; remembers what each should do."""

    def __init__(self, phones: range, seed: int, prefix: str) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.fresh = iter(phones)  # invited phones (their numbers' offsets) not yet answered
        self.answered: list[int] = []
        self.sent: list[tuple[str, str, str]] = []  # (id, phone, text) delivered so far
        self.expected: dict[str, str] = {}
        self.ids = itertools.count(1)
        self.prefix = prefix
        kinds = list(MIX)
        self.kinds, self.weights = kinds, [MIX[k][0] for k in kinds]

    def next(self) -> tuple[str, str, str, str]:
        """(kind, message id, phone as E.164, text)."""
        with self.lock:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            if kind == "retry" and self.sent:
                message_id, phone, text = self.rng.choice(self.sent)
                return kind, message_id, phone, text
            if kind == "retry":
                kind = "unreadable"
            if kind in ("reply_overall", "reply_factors"):
                n = next(self.fresh)
                self.answered.append(n)
                phone = FIRST_PHONE + n
                text = (str(self.rng.choice((3, 4, 5))) if kind == "reply_overall"
                        else self.rng.choice(("4 5 3 4 5", "45345", "5,5,4,4,5", "４５４５５", "3 4 4 5 0")))
            elif kind == "reply_again" and len(self.answered) > RACE_MARGIN:
                # A phone whose first reply was delivered a while ago (not one still being handled next door).
                phone, text = FIRST_PHONE + self.rng.choice(self.answered[:-RACE_MARGIN]), "5"
            elif kind in ("no_invitation", "reply_again"):
                kind = "no_invitation"
                phone, text = STRANGER_PHONE + self.rng.randrange(1_000_000), "5"
            else:
                phone = STRANGER_PHONE + self.rng.randrange(1_000_000)
                text = self.rng.choice({"opt_out": OPT_OUTS, "opt_in": OPT_INS, "complaint": COMPLAINTS,
                                        "unreadable": UNREADABLE}[kind])
            message_id = f"{self.prefix}{next(self.ids):010d}"
            e164 = f"+84{phone}"
            self.sent.append((message_id, e164, text))
            self.expected[message_id] = MIX[kind][1]  # type: ignore[assignment]
            return kind, message_id, e164, text


def signed_request(gateway: str, port: int, message_id: str, phone: str, text: str) -> tuple[str, bytes, dict]:
    """Path, body and headers of one delivery, signed as the gateway signs it."""
    if gateway == "twilio":
        from twilio.request_validator import RequestValidator

        path = "/webhooks/twilio/sms"
        params = {"MessageSid": message_id, "SmsSid": message_id, "AccountSid": "AC" + "0" * 32, "From": phone,
                  "To": "+84281234567", "Body": text, "NumMedia": "0", "NumSegments": "1"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"http://127.0.0.1:{port}{path}", params)
        return path, urlencode(params).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                                  "X-Twilio-Signature": signature}
    from feedback_app.sms.signing import signed_headers

    body = json.dumps({"id": message_id, "from": phone, "to": "8077", "text": text,
                       "received_at": datetime.now(UTC).isoformat()}, ensure_ascii=False).encode()
    return "/webhooks/sms/inbound", body, {"Content-Type": "application/json",
                                          **signed_headers(GATEWAY_SECRET, body)}


def drive(gateway: str, port: int, messages: Messages, count: int, clients: int) -> dict[str, Any]:
    """Deliver `count` messages with `clients` connections at once; latencies per kind."""
    latencies: dict[str, list[float]] = {}
    statuses: Tally[int] = Tally()
    errors: list[str] = []
    left = itertools.count()
    lock = threading.Lock()

    def worker() -> None:
        client = Citizen(port, None)
        while next(left) < count:
            kind, message_id, phone, text = messages.next()
            path, body, headers = signed_request(gateway, port, message_id, phone, text)
            began = time.perf_counter()
            try:
                status, _headers, answer = client.request("POST", path, body, headers)
            except Exception as error:  # noqa: BLE001 - counted, the run goes on
                with lock:
                    errors.append(f"{kind}: {error!r}")
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.setdefault(kind, []).append(elapsed)
                statuses[status] += 1
                if status != 200 and len(errors) < 10:
                    errors.append(f"{kind}: HTTP {status} {answer[:200]!r}")
        client.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = [v for values in latencies.values() for v in values]
    return {
        "requests": len(every), "per_s": round(len(every) / elapsed, 1), "statuses": dict(statuses),
        "errors": errors[:10],
        "all": _row(every),
        "kinds": {kind: _row(values) for kind, values in sorted(latencies.items())},
    }


def floor(port: int, count: int) -> dict[str, float | int]:
    """The machine's floor at that moment: GET /healthz (one SELECT 1) through the same server and client."""
    client = Citizen(port, None)
    latencies = []
    for _ in range(count):
        began = time.perf_counter()
        client.request("GET", "/healthz")
        latencies.append((time.perf_counter() - began) * 1000)
    client.close()
    return _row(latencies)


def _row(values: list[float]) -> dict[str, float | int]:
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1),
            "p99_ms": round(percentile(values, 99), 1), "max_ms": round(max(values), 1) if values else 0.0}


def check_outcomes(url: str, messages: Messages) -> dict[str, Any]:
    """Every delivered message stored once with the outcome expected; the answers stored once each."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text(
            "SELECT provider_message_id, outcome FROM inbound_sms WHERE provider_message_id LIKE :p"),
            {"p": messages.prefix + "%"}).all())
        responses = conn.scalar(sa.text("SELECT count(*) FROM responses WHERE channel = 'sms'"))
        answered = conn.scalar(sa.text("SELECT count(*) FROM survey_invitations WHERE answered_via = 'reply'"))
    engine.dispose()
    wrong = {mid: (want, stored.get(mid)) for mid, want in messages.expected.items() if stored.get(mid) != want}
    return {"messages": len(messages.expected), "stored": len(stored), "wrong_outcomes": len(wrong),
            "wrong_samples": dict(list(wrong.items())[:5]), "sms_responses_total": responses,
            "invitations_answered_by_reply_total": answered}


def measure(args: argparse.Namespace, worker_class: str, gateway: str, stamp: str, secret_key: str,
            offset: int) -> dict[str, Any]:
    """One worker class and gateway: start the app, deliver one after another, then several at once."""
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("FLASK_APP", "FLASK_DEBUG", "APP_ENV") and not k.startswith(("TWILIO_", "SMS_HTTP_"))}
    port = free_port()
    env = {**base_env, "DATABASE_URL": args.database_url, "APP_ENV": "production", "SECRET_KEY": secret_key,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "SESSION_COOKIE_SECURE": "0",
           "RATELIMIT_STORAGE_URI": "memory://", "SMS_WEBHOOK_LIMIT": "1000000 per minute"}
    if gateway == "twilio":  # configured whole (production refuses half a gateway); nothing is sent: no worker
        env.update({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                    "TWILIO_FROM_NUMBER": "+84281234567", "TWILIO_API_BASE_URL": "http://127.0.0.1:9"})
    else:
        env.update({"SMS_HTTP_URL": "http://127.0.0.1:9/send", "SMS_HTTP_TOKEN": "bench",
                    "SMS_HTTP_SECRET": GATEWAY_SECRET})
    server = Server("full", "wsgi:app", port, env, args.workers,
                    RESULTS / f"{stamp}-sms-{worker_class}-{gateway}.log", worker_class=worker_class,
                    threads=args.threads)
    # Each run its own phones: replies of one run never meet the invitations another run answered.
    share = args.invitations // (len(args.worker_classes.split(",")) * len(args.gateways.split(",")))
    messages = Messages(range(offset * share, (offset + 1) * share), seed=offset + 1,
                        prefix=f"{worker_class[:2]}{gateway[:2]}{stamp[-7:-1]}-")
    outcome: dict[str, Any] = {}
    try:
        server.start()
        server.wait_ready()
        print(f"  {worker_class} ×{args.workers} {gateway}: :{port}")
        drive(gateway, port, messages, args.warmup, 1)
        outcome["floor"] = floor(port, 200)
        print(f"    floor (GET /healthz: one SELECT 1) p50 {outcome['floor']['p50_ms']}  "
              f"p99 {outcome['floor']['p99_ms']} ms")
        outcome["sequential"] = drive(gateway, port, messages, args.requests, 1)
        _print(outcome["sequential"], "1 at a time")
        if args.concurrency > 1:
            outcome["concurrent"] = drive(gateway, port, messages, args.requests, args.concurrency)
            _print(outcome["concurrent"], f"{args.concurrency} at once")
    finally:
        server.stop()
    outcome["check"] = check_outcomes(args.database_url, messages)
    print(f"    check: {outcome['check']}")
    outcome["worker_deaths"] = server.worker_deaths()
    return outcome


def _print(result: dict[str, Any], label: str) -> None:
    row = result["all"]
    print(f"    {label:12} p50 {row['p50_ms']:5.1f}  p95 {row['p95_ms']:5.1f}  p99 {row['p99_ms']:5.1f}  "
          f"max {row['max_ms']:6.1f} ms  {result['per_s']:6.1f}/s  {result['statuses']}")
    for kind, k in result["kinds"].items():
        print(f"      {kind:14} n {k['n']:4}  p50 {k['p50_ms']:5.1f}  p99 {k['p99_ms']:5.1f} ms")
    for error in result["errors"][:3]:
        print(f"      error: {error}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB, help="dropped and recreated (name must contain bench)")
    parser.add_argument("--invitations", type=int, default=20_000, help="sent invitations in the database")
    parser.add_argument("--worker-classes", default="sync,gthread", help="gunicorn worker classes, in turn")
    parser.add_argument("--gateways", default="twilio,http", help="gateways whose webhook is driven, in turn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: 2 cores)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--requests", type=int, default=1000, help="timed messages per run and mode")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured messages first")
    parser.add_argument("--concurrency", type=int, default=4, help="deliveries at once in the second mode (0: off)")
    parser.add_argument("--goal-ms", type=float, default=50.0, help="p99 goal, one message at a time")
    return parser.parse_args()


def stop_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    RESULTS.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    secret_key = secrets.token_urlsafe(48)  # the phones' keyed hashes in the data and in the app must agree
    print(f"preparing {args.database_url} ...")
    data = prepare(args.database_url, args.invitations, secret_key)
    results: dict[str, Any] = {
        "date": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before": Path("/proc/loadavg").read_text().split()[:3]},
        "settings": {k: getattr(args, k) for k in ("invitations", "worker_classes", "gateways", "workers",
                                                   "threads", "requests", "warmup", "concurrency", "goal_ms")},
        "data": data, "mix": {k: v[0] for k, v in MIX.items()}, "runs": {},
    }
    missed, bad = [], []
    runs = [(w, g) for w in args.worker_classes.split(",") for g in args.gateways.split(",")]
    for offset, (worker_class, gateway) in enumerate(runs):
        outcome = measure(args, worker_class, gateway, stamp, secret_key, offset)
        results["runs"][f"{worker_class}/{gateway}"] = outcome
        if outcome["sequential"]["all"]["p99_ms"] > args.goal_ms:
            missed.append(f"{worker_class}/{gateway}")
        check = outcome["check"]
        if check["wrong_outcomes"] or check["stored"] != check["messages"] or outcome["worker_deaths"] \
                or set(outcome["sequential"]["statuses"]) != {200}:
            bad.append(f"{worker_class}/{gateway}")
    results["run_s"] = round(time.perf_counter() - began, 1)
    results["machine"]["load_average_after"] = Path("/proc/loadavg").read_text().split()[:3]
    print("\n| workers / gateway | floor p50 / p99 ms | 1 at a time: p50 / p95 / p99 ms | "
          f"{args.concurrency} at once: p50 / p95 / p99 ms, msg/s | outcomes |\n|---|---|---|---|---|")
    for name, outcome in results["runs"].items():
        seq, con = outcome["sequential"]["all"], outcome.get("concurrent", {}).get("all")
        conc = (f"{con['p50_ms']} / {con['p95_ms']} / {con['p99_ms']}, {outcome['concurrent']['per_s']:.0f}/s"
                if con else "-")
        check = outcome["check"]
        print(f"| {name} ×{args.workers} | {outcome['floor']['p50_ms']} / {outcome['floor']['p99_ms']} | "
              f"{seq['p50_ms']} / {seq['p95_ms']} / {seq['p99_ms']} | {conc} | "
              f"{check['stored']}/{check['messages']} stored, {check['wrong_outcomes']} wrong |")
    print(f"\np99 <= {args.goal_ms:.0f} ms one at a time: " + ("met" if not missed else "NOT met for " + ", ".join(
        missed)) + ("" if not bad else f"; PROBLEMS in {', '.join(bad)}") + f"; {results['run_s']} s in all")
    results["missed"], results["problems"] = missed, bad
    out = RESULTS / f"{stamp}-sms-inbound.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(f"results: {out.relative_to(ROOT)}")
    return 1 if missed or bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted ({stop}); server stopped", file=sys.stderr)
        sys.exit(130)
