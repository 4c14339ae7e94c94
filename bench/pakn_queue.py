"""The PAKN queue and the deadline API at a province's scale: 100,000 PAKN items in PostgreSQL.

    .venv/bin/python bench/pakn_queue.py [--items 100000] [--worker-classes sync,gthread] [--concurrency 4]

Prepares `feedback_bench_pakn` (dropped and recreated: migrated, demo data loaded by bench/run.py's
prepare_database), adds the items in bulk (three years of the demo agency's PAKN across its units, kinds,
channels and states; deadlines from the agency's real working-time calendar; a history per item), runs
VACUUM ANALYZE, starts the full app under gunicorn with production settings, logs in as the office user and as
a unit user, and times each view one request after another (after a warm-up), optionally also with several
clients at once. Every answer must be 200. Prints p50/p95/p99 per view and writes bench/results/<UTC
time>-pakn-queue.json. See bench/README.md, "The PAKN queue at 100,000 items".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import secrets
import signal
import sys
import threading
import time
from bisect import bisect_left
from collections import Counter as Tally
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench_pakn"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import Citizen, percentile  # noqa: E402 - after the path set-up above
from bench.run import prepare_database  # noqa: E402
from bench.servers import Server, free_port  # noqa: E402
from feedback_app.demo import DEMO_PASSWORD  # noqa: E402

OFFICE_EMAIL = "vanphong@demo.khanhhoa.gov.vn"
UNIT_EMAIL = "dangkiem@demo.khanhhoa.gov.vn"
BATCH = 5000
YEARS_BACK = 3
SEARCH_WORD = "đăng kiểm"  # in about one item in eight (content search)

# Realistic proportions (weights): what the demo agency receives over three years.
KINDS = {"phan_anh": 55, "kien_nghi": 30, "gop_y": 15}
NATURES = {"pakn": 97, "khieu_nai": 2, "to_cao": 1}
CHANNELS = {"web": 34, "hotline": 20, "kiosk": 10, "email": 10, "letter": 8, "paper": 6, "survey": 5,
            "open311": 4, "sms": 3}
# Units that draft answers (share of the assigned items), as codes of the demo's units.
UNITS = {"SXD-TTDK": 30, "SXD-QLHDXD": 24, "SXD-QLN": 14, "SXD-QLVT": 10, "SXD-TTRA": 8, "SXD-CVDTND": 6,
         "SXD-TTDK-MC": 4, "SXD-VP": 4}
CLOSED_OUTCOMES = {"answered": 82, "not_accepted": 7, "forwarded": 5, "duplicate": 4, "withdrawn": 2}
NAMES = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Quang Vinh", "Phạm Thị Thu", "Huỳnh Minh Tâm", "Võ Văn Tú",
         "Đặng Thị Hạnh", "Bùi Công Danh", "Ngô Thị Lan", "Dương Văn Lợi", "Hồ Thị Ngọc", "Phan Thanh Sơn"]
PLACES = ["phường Nha Trang", "phường Cam Ranh", "phường Ninh Hòa", "xã Diên Khánh", "xã Vạn Ninh",
          "phường Bắc Nha Trang", "xã Cam Lâm", "xã Khánh Vĩnh", "phường Tây Nha Trang", "xã Trường Sa"]
MATTERS = [
    ("phan_anh", "Trễ hẹn trả giấy phép xây dựng", "Tôi nộp hồ sơ cấp giấy phép xây dựng nhà ở riêng lẻ, phiếu hẹn "
     "trả kết quả đã quá {n} ngày nhưng chưa nhận được kết quả và không có phiếu xin lỗi, hẹn lại."),
    ("phan_anh", "Công chức hướng dẫn chưa đầy đủ", "Tại quầy số {n}, tôi được yêu cầu bổ sung giấy tờ hai lần, "
     "mỗi lần một loại khác nhau. Đề nghị hướng dẫn đầy đủ ngay từ lần đầu."),
    ("phan_anh", "Chờ đăng kiểm quá lâu", "Xe tải của tôi phải chờ đăng kiểm từ sáng đến chiều tại {place}, "
     "lịch hẹn trực tuyến không được tôn trọng. Đề nghị Trung tâm Đăng kiểm kiểm tra."),
    ("phan_anh", "Thu phí không đúng niêm yết", "Tôi bị thu thêm {n}0.000 đồng phí photo hồ sơ tại bộ phận một "
     "cửa, không có biên lai. Đề nghị kiểm tra."),
    ("phan_anh", "Công trình xây dựng sai phép", "Công trình nhà ở tại {place} xây vượt số tầng được cấp phép, "
     "vật liệu để tràn ra lòng đường. Đề nghị Thanh tra Sở kiểm tra, xử lý."),
    ("phan_anh", "Không nhận được tin nhắn báo kết quả", "Hồ sơ đăng ký xe của tôi đã có kết quả nhưng tôi không "
     "nhận được tin nhắn báo, phải đến hỏi {n} lần."),
    ("kien_nghi", "Bổ sung chỗ ngồi chờ", "Buổi sáng khu vực chờ tại Trung tâm Phục vụ hành chính công thiếu "
     "ghế, người cao tuổi phải đứng chờ lâu. Kiến nghị bố trí thêm ghế và máy lấy số."),
    ("kien_nghi", "Mở thêm dây chuyền đăng kiểm", "Đề nghị Trung tâm Đăng kiểm mở thêm dây chuyền vào cuối "
     "tháng để giảm thời gian chờ của xe tải tại {place}."),
    ("kien_nghi", "Thanh toán trực tuyến", "Đề nghị cho phép nộp lệ phí cấp phép bằng chuyển khoản hoặc ví điện "
     "tử, tránh phải đến {place} nhiều lần."),
    ("kien_nghi", "Cấp phép bến thủy nội địa", "Kiến nghị rút ngắn thời gian cấp giấy phép rời cảng, bến thủy "
     "nội địa tại {place} xuống còn {n} ngày."),
    ("gop_y", "Trang thông tin khó tra cứu", "Trang thông tin điện tử của Sở khó tìm thủ tục cấp chứng chỉ hành "
     "nghề; nên có ô tìm kiếm."),
    ("gop_y", "Giờ làm việc buổi trưa", "Nên tiếp nhận hồ sơ cả buổi trưa ngày thứ {n} cho người đi làm."),
]
ANSWER = ("Sở Xây dựng đã kiểm tra nội dung Ông/Bà phản ánh, kiến nghị. Sở tiếp thu, đã chỉ đạo bộ phận liên quan "
          "khắc phục và trả lời Ông/Bà như sau: …")

# The views timed: (name, who, path); the paths with {placeholders} are filled from the loaded data.
VIEWS = [
    ("queue (open, by due date)", "office", "/xu-ly/pakn/"),
    ("queue ?due=overdue", "office", "/xu-ly/pakn/?due=overdue"),
    ("queue ?due=soon", "office", "/xu-ly/pakn/?due=soon"),
    ("queue ?state=all", "office", "/xu-ly/pakn/?state=all"),
    ("queue ?state=all&page=50", "office", "/xu-ly/pakn/?state=all&page=50"),
    ("queue ?unit=&kind=phan_anh", "office", "/xu-ly/pakn/?unit={unit_id}&kind=phan_anh"),
    ("queue ?q=<code>", "office", "/xu-ly/pakn/?q={code}"),
    ("queue ?q=<word>", "office", "/xu-ly/pakn/?q={word}"),
    ("queue ?state=all&q=<code>", "office", "/xu-ly/pakn/?state=all&q={code}"),
    ("queue ?state=all&q=<word>", "office", "/xu-ly/pakn/?state=all&q={word}"),
    ("item page", "office", "/xu-ly/pakn/{item_id}"),
    ("figures of the year", "office", "/xu-ly/pakn/tong-hop"),
    ("unit user's queue", "unit", "/xu-ly/pakn/"),
    ("API GET /api/v1/pakn", "office", "/api/v1/pakn"),
    ("API calendar/deadline", "anonymous", "/api/v1/calendar/deadline?start={start}&working_days=10"),
]


_CUMULATIVE: dict[int, tuple[list[str], list[int]]] = {}


def weighted(rng: random.Random, table: dict[str, int]) -> str:
    names, cumulative = _CUMULATIVE.setdefault(id(table), (list(table), list(accumulate(table.values()))))
    return rng.choices(names, cum_weights=cumulative)[0]


# --- the data ---------------------------------------------------------------------------------------------


def load_items(url: str, n: int, seed: int) -> dict[str, Any]:
    """Add n items to the prepared database with SQLAlchemy Core, in batches; returns what the views need."""
    import sqlalchemy as sa

    from feedback_app import create_app
    from feedback_app.calendar_service import current_calendar
    from feedback_app.extensions import db
    from feedback_app.models import Complaint, ComplaintEvent, Counter, DeadlinePolicy, OrgUnit, Service, User
    from feedback_app.timeutil import LOCAL_TZ, utcnow

    rng = random.Random(seed)
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        agency = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "SXD"))
        units = {u.code: u for u in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.code.in_(UNITS)))}
        policies = {p.kind: p for p in db.session.scalars(
            sa.select(DeadlinePolicy).where(DeadlinePolicy.active.is_(True)).order_by(DeadlinePolicy.id))}
        users = {u.email: u.id for u in db.session.scalars(sa.select(User))}
        office_id, unit_user_id = users[OFFICE_EMAIL], users[UNIT_EMAIL]
        hotline_id = users.get("tongdai@demo.khanhhoa.gov.vn", office_id)
        services = list(db.session.scalars(sa.select(Service.id).where(Service.agency_id == agency.id)))
        counters = list(db.session.scalars(sa.select(Counter.id).where(Counter.agency_id == agency.id)))
        calendar = current_calendar(agency.id)
        now = utcnow()
        today = now.astimezone(LOCAL_TZ).date()
        days = YEARS_BACK * 365
        # More items lately (the service is better known), far fewer at weekends.
        day_weights = [(1.0 + 0.6 * (1 - d / days)) * (0.25 if (today - timedelta(days=d)).weekday() >= 5 else 1.0)
                       for d in range(days)]
        cumulative = list(accumulate(day_weights))
        unit_codes = list(UNITS)

        def received(age_days: int) -> datetime:
            day = today - timedelta(days=age_days)
            hour = rng.randint(0, 23) if rng.random() < 0.3 else rng.randint(7, 16)
            instant = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59),
                               tzinfo=LOCAL_TZ).astimezone(UTC)
            return min(instant, now - timedelta(minutes=rng.randint(1, 600)))

        def pick_unit(on: date) -> int:
            while True:
                code = rng.choices(unit_codes, weights=list(UNITS.values()))[0]
                if units[code].valid_from <= on:
                    return units[code].id

        id_seq = sa.text("SELECT nextval(pg_get_serial_sequence('complaints', 'id')) FROM generate_series(1, :n)")
        tally: Tally[str] = Tally()
        events_total = 0
        started = time.perf_counter()
        for batch_start in range(0, n, BATCH):
            size = min(BATCH, n - batch_start)
            ids = list(db.session.scalars(id_seq, {"n": size}))
            rows, events = [], []
            for complaint_id in ids:
                age = days - 1 - bisect_left(cumulative, rng.random() * cumulative[-1])
                row, history = make_item(rng, complaint_id, received(age), age, now, calendar, policies, pick_unit,
                                         services, counters, office_id, unit_user_id, hotline_id, agency.id)
                rows.append(row)
                events.extend(history)
                tally[row["state"]] += 1
            db.session.execute(sa.insert(Complaint.__table__), rows)
            db.session.execute(sa.insert(ComplaintEvent.__table__), events)
            db.session.commit()
            events_total += len(events)
            print(f"    {batch_start + size:>7} items, {events_total:>7} events, "
                  f"{time.perf_counter() - started:5.1f} s", end="\r", flush=True)
        print()
        found = pick_targets(db, Complaint, agency.id, units, now)
        db.session.remove()
        db.engine.dispose()
    return {"states": dict(sorted(tally.items())), "events": events_total, **found}


def make_item(rng: random.Random, complaint_id: int, received_at: datetime, age: int, now: datetime, calendar: Any,
              policies: dict[str, Any], pick_unit: Any, services: list[int], counters: list[int], office_id: int,
              unit_user_id: int, hotline_id: int, agency_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One item as a row of `complaints` and its history as rows of `complaint_events`."""
    kind = weighted(rng, KINDS)
    nature = weighted(rng, NATURES)
    channel = weighted(rng, CHANNELS)
    legal = rng.random() < (0.45 if kind == "gop_y" else 0.9)
    matter = rng.choice([m for m in MATTERS if m[0] == kind])
    content = matter[2].format(n=rng.randint(2, 9), place=rng.choice(PLACES))
    policy = policies[kind]
    deadlines = legal and nature == "pakn"
    classify_due = calendar.add_working_days(received_at, policy.classify_days) if deadlines else None
    answer_due = calendar.add_working_days(received_at, policy.answer_days) if deadlines else None
    name = rng.choice(NAMES)
    row: dict[str, Any] = {
        "id": complaint_id, "code": f"PA-{received_at.year}-{complaint_id:06d}",
        "secret_hash": hashlib.sha256(f"{complaint_id}-{rng.random()}".encode()).hexdigest(),
        "kind": kind, "nature": nature, "legal": legal, "channel": channel, "agency_id": agency_id,
        "unit_id": None, "service_id": rng.choice(services) if services and rng.random() < 0.3 else None,
        "counter_id": rng.choice(counters) if counters and channel in ("kiosk", "survey") else None,
        "officer_id": None, "dossier_code": None, "response_id": None, "satisfaction_response_id": None,
        "title": matter[1], "content": content, "published_text": None,
        "sender_name": name if legal else None,
        "sender_address": f"{rng.randint(1, 200)} đường số {rng.randint(1, 40)}, {rng.choice(PLACES)}"
        if legal else None,
        "sender_phone": f"09{rng.randint(10_000_000, 99_999_999)}" if legal else None,
        "sender_email": f"nguoidan{complaint_id}@example.vn" if legal and rng.random() < 0.4 else None,
        "personal_erased_at": None, "share_identity": False, "consent_at": received_at if legal else None,
        "received_at": received_at, "created_at": received_at,
        "created_by_id": hotline_id if channel == "hotline" else office_id if channel in ("letter", "paper")
        else None,
        "state": "received", "outcome": None, "outcome_reason": None, "forwarded_to": None, "duplicate_of_id": None,
        "answer_text": None, "answer_drafted_by_id": None, "answer_drafted_at": None, "approved_by_id": None,
        "approved_at": None, "notified_at": None, "published_at": None, "closed_at": None, "policy_id": policy.id,
        "classify_due_at": classify_due, "answer_due_at": answer_due, "version": 1,
    }
    # Open or closed by age: nearly everything of the last two weeks is open, some stragglers after that.
    p_open = 0.9 if age < 10 else 0.45 if age < 30 else 0.05 if age < 90 else 0.006 if age < 365 else 0.0
    steps = plan_steps(rng, nature, age, p_open)
    events = [event(complaint_id, received_at, row["created_by_id"], "received", None, "received",
                    {"channel": channel})]
    # A full history for open and recent items; an old closed one keeps its receipt and its last step only
    # (fewer rows to load: the item page reads one item's history through its index either way).
    full_history = age < 90 or not steps or steps[-1] not in ("close", "duplicate", "withdraw")
    at, state = received_at, "received"
    span = max(timedelta(hours=2), (min(now, answer_due or received_at + timedelta(days=15)) - received_at) / 7)
    for number, step in enumerate(steps, 1):
        at = min(now - timedelta(seconds=1), at + span * rng.uniform(0.3, 1.3))
        new_state, user, details = state, office_id, {}
        if step in ("handle", "not_accepted", "forwarded", "referred"):
            new_state = "classified"
            if step == "not_accepted":
                row["outcome"], row["outcome_reason"] = "not_accepted", "Nội dung đã được trả lời trước đây."
            elif step in ("forwarded", "referred"):
                row["outcome"], row["forwarded_to"] = step, "Ủy ban nhân dân cấp xã nơi có công trình"
        elif step == "assign":
            new_state, row["unit_id"] = "assigned", pick_unit(received_at.date())
            row["share_identity"] = rng.random() < 0.2
            details = {"unit_id": row["unit_id"]}
        elif step == "draft":
            new_state, user = "drafted", unit_user_id
            row.update(answer_text=ANSWER, answer_drafted_by_id=unit_user_id, answer_drafted_at=at)
        elif step == "approve":
            new_state = "approved"
            row.update(approved_by_id=office_id, approved_at=at)
        elif step == "notify":
            new_state = "notified"
            if row["outcome"] is None:
                row["outcome"] = "answered"
            row["notified_at"] = at
        elif step == "publish":
            new_state = "published"
            row.update(published_text=f"{matter[1]}. {ANSWER}", published_at=at)
        elif step == "close":
            new_state, row["closed_at"] = "closed", at
        elif step in ("duplicate", "withdraw"):
            new_state, row["closed_at"] = "closed", at
            row["outcome"] = "duplicate" if step == "duplicate" else "withdrawn"
            if step == "duplicate" and complaint_id > 1:
                row["duplicate_of_id"] = rng.randint(max(1, complaint_id - 2000), complaint_id - 1)
        action = "classify" if new_state == "classified" else step  # the verbs of actions.py
        if full_history or number == len(steps):
            events.append(event(complaint_id, at, user, action, state, new_state, details))
        state = new_state
        row["version"] += 1
    row["state"] = state
    return row, events


def plan_steps(rng: random.Random, nature: str, age: int, p_open: float) -> list[str]:
    """The workflow steps an item went through, ending open (by age) or closed (with an outcome)."""
    if nature != "pakn":  # a khiếu nại or tố cáo: referred to its own procedure, the sender told
        full = ["referred", "notify", "close"]
        return full[:rng.randint(0, 2)] if rng.random() < p_open else full
    outcome = weighted(rng, CLOSED_OUTCOMES)
    if outcome in ("not_accepted", "forwarded"):
        full = [outcome, "notify", "close"]
    elif outcome == "duplicate":
        full = ["handle", "duplicate"]
    elif outcome == "withdrawn":
        full = ["handle", "assign", "withdraw"]
    else:
        full = ["handle", "assign", "draft", "approve", "notify"] + (["publish"] if rng.random() < 0.4 else [])
        full.append("close")
    if rng.random() >= p_open:
        return full
    # Open: how far it got depends on its age (never past the last open step); an old one is stuck anywhere.
    reach = min(len(full) - 1, int(len(full) * min(1.0, (age + rng.random() * 4) / 14) * rng.uniform(0.3, 1.0)))
    return full[:reach]


def event(complaint_id: int, at: datetime, user_id: int | None, action: str, from_state: str | None,
          to_state: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"complaint_id": complaint_id, "at": at, "user_id": user_id, "action": action, "from_state": from_state,
            "to_state": to_state, "reason": None, "details": details}


def pick_targets(db: Any, complaint: Any, agency_id: int, units: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The item whose page is timed (open, drafted, with a history), a code to search for, the open counts."""
    import sqlalchemy as sa

    from feedback_app.complaints.deadlines import current_due_column, due_soon_limit
    from feedback_app.models.complaint import OPEN_STATES

    item = db.session.execute(sa.select(complaint.id, complaint.code).where(
        complaint.state == "drafted", complaint.unit_id == units["SXD-TTDK"].id).order_by(complaint.id.desc())
        .limit(1)).one()
    closed = sa.select(complaint.code).where(complaint.state == "closed")
    middle = (db.session.scalar(sa.select(sa.func.count()).select_from(closed.subquery())) or 0) // 2
    closed_code = db.session.scalar(closed.order_by(complaint.id).offset(middle).limit(1))
    due = current_due_column()
    open_items = sa.select(sa.func.count()).select_from(complaint).where(complaint.state.in_(OPEN_STATES))
    return {
        "item_id": item.id, "item_code": item.code, "closed_code": closed_code,
        "unit_id": units["SXD-QLHDXD"].id,
        "open": db.session.scalar(open_items),
        "overdue": db.session.scalar(open_items.where(due < now)),
        "due_soon": db.session.scalar(open_items.where(due >= now, due <= due_soon_limit(agency_id, now))),
    }


def prepare(url: str, n: int, seed: int) -> dict[str, Any]:
    import sqlalchemy as sa

    began = time.perf_counter()
    prepare_database(url, "SXD-Q20")  # refuses a non-local or non-bench database; migrates, loads the demo
    demo_s = time.perf_counter() - began
    print(f"  adding {n} PAKN items ...")
    found = load_items(url, n, seed)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        total = conn.scalar(sa.text("SELECT count(*) FROM complaints"))
        size = conn.scalar(sa.text("SELECT pg_size_pretty(pg_total_relation_size('complaints'))"))
    engine.dispose()
    found.update(total_items=total, table_size=size, demo_load_s=round(demo_s, 1),
                 load_s=round(time.perf_counter() - began, 1))
    print(f"  {total} items ({size} with indexes), {found['events']} events; open {found['open']} "
          f"(overdue {found['overdue']}, due soon {found['due_soon']}); {found['load_s']} s in all")
    return found


def targets_from_database(url: str) -> dict[str, Any]:
    """With --reuse-database: the same targets, read from the loaded database."""
    import sqlalchemy as sa

    from feedback_app import create_app
    from feedback_app.extensions import db
    from feedback_app.models import Complaint, OrgUnit
    from feedback_app.timeutil import utcnow

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.code.in_(UNITS)))}
        agency_id = db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "SXD"))
        found = pick_targets(db, Complaint, agency_id, units, utcnow())
        found["total_items"] = db.session.scalar(sa.select(sa.func.count()).select_from(Complaint))
        db.session.remove()
        db.engine.dispose()
    return found


# --- the measurement --------------------------------------------------------------------------------------


def login(port: int, email: str) -> Citizen:
    browser = Citizen(port, None)
    _status, _headers, html = browser.request("GET", "/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()
    body = urlencode({"csrf_token": token, "email": email, "password": DEMO_PASSWORD}).encode()
    status, _headers, _html = browser.request("POST", "/login", body,
                                              {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 302:
        raise SystemExit(f"login as {email}: HTTP {status}")
    return browser


def clone(browser: Citizen) -> Citizen:
    """Another connection with the same session cookie (a second tab of the same person)."""
    copy = Citizen(browser.port, None)
    copy.cookies = dict(browser.cookies)
    return copy


def time_view(browsers: list[Citizen], path: str, requests: int, warmup: int) -> dict[str, Any]:
    """`warmup` unmeasured requests, then `requests` timed ones shared among the browsers (one thread each)."""
    for _ in range(warmup):
        browsers[0].request("GET", path)
    latencies: list[float] = []
    statuses: Tally[int] = Tally()
    lock = threading.Lock()
    per_client = [requests // len(browsers) + (i < requests % len(browsers)) for i in range(len(browsers))]

    def client(browser: Citizen, count: int) -> None:
        mine, codes = [], Tally()
        for _ in range(count):
            began = time.perf_counter()
            status, _headers, _body = browser.request("GET", path)
            mine.append((time.perf_counter() - began) * 1000)
            codes[status] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    began = time.perf_counter()
    if len(browsers) == 1:
        client(browsers[0], requests)
    else:
        threads = [threading.Thread(target=client, args=(b, c)) for b, c in zip(browsers, per_client, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1), "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1), "per_s": round(len(latencies) / elapsed, 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def measure(args: argparse.Namespace, worker_class: str, targets: dict[str, Any], stamp: str) -> dict[str, Any]:
    """One worker class: start the app, log in, time every view sequentially (and with several clients)."""
    base_env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "FLASK_DEBUG", "APP_ENV")}
    base_env["DATABASE_URL"] = args.database_url
    port = free_port()
    env = {  # as bench/run.py builds the full app's environment
        **base_env, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "SESSION_COOKIE_SECURE": "0",  # plain HTTP here
        "RATELIMIT_STORAGE_URI": "memory://",
        # One client from 127.0.0.1 asks for more deadlines and logins than the per-address ceilings allow.
        "CALENDAR_API_LIMIT": "100000 per minute", "LOGIN_LIMIT": "1000 per minute",
    }
    server = Server("full", "wsgi:app", port, env, args.workers, RESULTS / f"{stamp}-pakn-{worker_class}.log",
                    worker_class=worker_class, threads=args.threads)
    start = quote(datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"))
    fill = {"unit_id": targets["unit_id"], "code": targets["closed_code"], "word": quote(SEARCH_WORD),
            "item_id": targets["item_id"], "start": start}
    outcome: dict[str, Any] = {"sequential": {}, "concurrent": {}}
    try:
        server.start()
        server.wait_ready()
        print(f"  {worker_class} ×{args.workers}: :{port}")
        browsers = {"office": login(port, OFFICE_EMAIL), "unit": login(port, UNIT_EMAIL),
                    "anonymous": Citizen(port, None)}
        wanted = [w for w in args.views.split(",") if w]
        for name, who, template in VIEWS:
            if wanted and not any(w in name for w in wanted):
                continue
            path = template.format(**fill)
            status, _headers, _body = browsers[who].request("GET", path)
            if status == 404 and path.startswith("/api/v1/pakn"):
                print(f"    {name:32} skipped: 404 (the route does not exist)")
                continue
            row = time_view([browsers[who]], path, args.requests, args.warmup)
            outcome["sequential"][name] = {"path": path, **row}
            print(f"    {name:32} p50 {row['p50_ms']:6.1f}  p95 {row['p95_ms']:6.1f}  p99 {row['p99_ms']:6.1f} ms"
                  f"  {row['statuses']}")
            if args.concurrency > 1:
                clients = [clone(browsers[who]) for _ in range(args.concurrency)]
                row = time_view(clients, path, args.requests, 0)
                outcome["concurrent"][name] = {"path": path, **row}
                print(f"    {'':26}×{args.concurrency} p50 {row['p50_ms']:6.1f}  p95 {row['p95_ms']:6.1f}  p99 "
                      f"{row['p99_ms']:6.1f} ms  {row['per_s']:6.1f}/s  {row['statuses']}")
                for browser in clients:
                    browser.close()
        for browser in browsers.values():
            browser.close()
    finally:
        server.stop()
    outcome["worker_deaths"] = server.worker_deaths()
    return outcome


def load_average() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def print_table(results: dict[str, Any], goal_ms: float) -> list[str]:
    """The markdown table of the run; returns the views that missed the goal."""
    missed = []
    concurrency = results["settings"]["concurrency"]
    head = "| workers | view | p50 / p95 / p99 ms | statuses |"
    rule = "|---|---|---|---|"
    if concurrency > 1:
        head += f" ×{concurrency} clients: p50 / p95 / p99 ms, req/s |"
        rule += "---|"
    print("\n" + head + "\n" + rule)
    for worker_class, outcome in results["runs"].items():
        label = f"{worker_class} ×{results['settings']['workers']}"
        for name, row in outcome["sequential"].items():
            ok = row["p95_ms"] < goal_ms and set(row["statuses"]) == {"200"}
            if not ok:
                missed.append(f"{label}: {name}")
            line = (f"| {label} | {name} | {row['p50_ms']:.1f} / {'' if ok else '**'}{row['p95_ms']:.1f}"
                    f"{'' if ok else '**'} / {row['p99_ms']:.1f} | "
                    + ", ".join(f"{k}×{v}" for k, v in row["statuses"].items()) + " |")
            other = outcome["concurrent"].get(name)
            if other:
                line += (f" {other['p50_ms']:.1f} / {other['p95_ms']:.1f} / {other['p99_ms']:.1f}, "
                         f"{other['per_s']:.0f}/s" + ("" if set(other["statuses"]) == {"200"} else
                                                     " " + str(other["statuses"])) + " |")
            print(line)
        for line in outcome["worker_deaths"][:5]:
            print(f"  {worker_class} WORKER DEATH: {line}")
    return missed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB, help="dropped and recreated (name must contain bench)")
    parser.add_argument("--items", type=int, default=100_000, help="PAKN items added to the demo data")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the generated items")
    parser.add_argument("--reuse-database", action="store_true",
                        help="measure the database loaded by an earlier run (no drop, no load)")
    parser.add_argument("--prepare-only", action="store_true", help="load the database, measure nothing")
    parser.add_argument("--worker-classes", default="sync", help="gunicorn worker classes, in turn (sync,gthread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: 2 cores)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (default 8)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per view (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per view first (default 20)")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="also time each view with this many clients at once (e.g. 4; default: off)")
    parser.add_argument("--views", default="", help="only the views whose name contains one of these (comma-separated)")
    parser.add_argument("--goal-ms", type=float, default=200.0, help="p95 goal per view (default 200 ms)")
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
    load_before = load_average()
    if args.reuse_database:
        print(f"reusing {args.database_url} ...")
        targets = targets_from_database(args.database_url)
    else:
        print(f"preparing {args.database_url} ...")
        targets = prepare(args.database_url, args.items, args.seed)
    load_after_prepare = load_average()
    if args.prepare_only:
        return 0
    results: dict[str, Any] = {
        "date": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {k: getattr(args, k) for k in ("items", "seed", "reuse_database", "worker_classes", "workers",
                                                   "threads", "requests", "warmup", "concurrency", "views",
                                                   "goal_ms")},
        "data": targets,
        "runs": {},
    }
    for worker_class in args.worker_classes.split(","):
        results["runs"][worker_class] = measure(args, worker_class, targets, stamp)
    results["load_average"] = {"before": load_before, "after_prepare": load_after_prepare, "after": load_average()}
    results["run_s"] = round(time.perf_counter() - began, 1)
    missed = print_table(results, args.goal_ms)
    print(f"\nload average (1, 5, 15 min): before {load_before}, after {results['load_average']['after']}; "
          f"{results['run_s']} s in all")
    print(f"p95 < {args.goal_ms:.0f} ms and every answer 200: " + ("met" if not missed else
                                                                  "NOT met for " + "; ".join(missed)))
    results["missed"] = missed
    out = RESULTS / f"{stamp}-pakn-queue.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(f"results: {out.relative_to(ROOT)}")
    deaths = any(o["worker_deaths"] for o in results["runs"].values())
    return 1 if missed or deaths else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted ({stop}); server stopped", file=sys.stderr)
        sys.exit(130)
