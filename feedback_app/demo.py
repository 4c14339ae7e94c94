"""Demo data: Sở Xây dựng tỉnh Khánh Hòa with units, counters, procedures, officers and months of responses."""

from __future__ import annotations

import calendar
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from .extensions import db
from .kiosk.devices import new_device_token
from .models import (
    Answer,
    Campaign,
    Counter,
    Field,
    OrgEvent,
    OrgUnit,
    Questionnaire,
    Response,
    Service,
    Target,
    User,
)
from .models.org import KioskDevice, Officer
from .surveys.questionnaires import seed_questionnaires
from .timeutil import LOCAL_TZ, local_today

DEMO_PASSWORD = "demo-12345"  # noqa: S105 - printed by make run, demo installations only
DEMO_USERS = [
    ("admin@demo.khanhhoa.gov.vn", "Quản trị hệ thống", "admin", "UBND-KH", None),
    ("vanphong@demo.khanhhoa.gov.vn", "Trần Thị Lan (Văn phòng Sở)", "office", "SXD", None),
    ("dangkiem@demo.khanhhoa.gov.vn", "Lê Văn Hùng (Trung tâm Đăng kiểm)", "unit", "SXD-TTDK", None),
    ("quay20@demo.khanhhoa.gov.vn", "Nguyễn Thị Mai", "counter", "SXD", "Nguyễn Thị Mai"),
    ("lanhdao@demo.khanhhoa.gov.vn", "Phó Giám đốc Sở", "viewer", "SXD", None),
    ("tongdai@demo.khanhhoa.gov.vn", "Phạm Văn Khoa (Đường dây nóng)", "hotline", "SXD", None),
    ("chanhvanphong@demo.khanhhoa.gov.vn", "Võ Minh Đức (Chánh Văn phòng Sở)", "office", "SXD", None),
]
DEMO_HEADS = {"chanhvanphong@demo.khanhhoa.gov.vn", "dangkiem@demo.khanhhoa.gov.vn"}

UNITS = [
    # code, name, short, type, parent, valid_from, valid_to
    ("UBND-KH", "Ủy ban nhân dân tỉnh Khánh Hòa", "UBND tỉnh", "ubnd", None, date(1989, 7, 1), None),
    ("SXD", "Sở Xây dựng tỉnh Khánh Hòa", "Sở Xây dựng", "so", "UBND-KH", date(1989, 7, 1), None),
    ("SGTVT", "Sở Giao thông vận tải tỉnh Khánh Hòa", "Sở GTVT", "so", "UBND-KH", date(1989, 7, 1),
     date(2025, 2, 28)),
    ("SXD-VP", "Văn phòng Sở Xây dựng", "Văn phòng Sở", "phong", "SXD", date(1989, 7, 1), None),
    ("SXD-QLHDXD", "Phòng Quản lý hoạt động xây dựng", None, "phong", "SXD", date(2000, 1, 1), None),
    ("SXD-QLN", "Phòng Quản lý nhà và thị trường bất động sản", None, "phong", "SXD", date(2000, 1, 1), None),
    ("SXD-QLVT", "Phòng Quản lý vận tải và phương tiện", None, "phong", "SXD", date(2025, 3, 1), None),
    ("SXD-TTRA", "Thanh tra Sở Xây dựng", "Thanh tra Sở", "phong", "SXD", date(2000, 1, 1), None),
    ("SXD-CVDTND", "Cảng vụ đường thủy nội địa tỉnh Khánh Hòa", "Cảng vụ ĐTNĐ", "phong", "SXD", date(2025, 3, 1),
     None),
    ("SXD-TTDK", "Trung tâm Đăng kiểm xe cơ giới Khánh Hòa", "Trung tâm Đăng kiểm", "phong", "SXD",
     date(2025, 3, 1), None),
    ("TTPVHCC-KH", "Trung tâm Phục vụ hành chính công tỉnh Khánh Hòa", "Trung tâm PVHCC", "ttpvhcc", "UBND-KH",
     date(2020, 1, 1), None),
    ("SXD-TTDK-MC", "Bộ phận Một cửa Trung tâm Đăng kiểm", None, "motcua", "SXD-TTDK", date(2025, 3, 1), None),
]

FIELDS = [("HDXD", "Hoạt động xây dựng"), ("QLCL", "Quản lý chất lượng công trình xây dựng"),
          ("DB", "Đường bộ"), ("DTND", "Đường thủy nội địa"), ("NO", "Nhà ở và thị trường bất động sản"),
          ("DK", "Đăng kiểm")]

SERVICES = [
    ("1.009796", "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", "HDXD", "SXD"),
    ("1.009972", "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II", "HDXD", "SXD"),
    ("1.009974", "Cấp điều chỉnh giấy phép xây dựng", "HDXD", "SXD"),
    ("1.009799", "Cấp chứng chỉ năng lực hoạt động xây dựng hạng II, hạng III", "HDXD", "SXD"),
    ("1.003658", "Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng", "QLCL", "SXD"),
    ("1.002859", "Cấp giấy phép kinh doanh vận tải bằng xe ô tô", "DB", "SXD"),
    ("1.002861", "Cấp phù hiệu xe ô tô kinh doanh vận tải", "DB", "SXD"),
    ("1.010698", "Thông báo nhà ở hình thành trong tương lai đủ điều kiện được bán, thuê mua", "NO", "SXD"),
    ("1.004088", "Đăng ký phương tiện thủy nội địa lần đầu", "DTND", "SXD-CVDTND"),
    ("1.003930", "Cấp giấy phép rời cảng, bến thủy nội địa", "DTND", "SXD-CVDTND"),
    ("DK.001", "Kiểm định an toàn kỹ thuật và bảo vệ môi trường xe cơ giới", "DK", "SXD-TTDK"),
]
# Procedures of the former Sở Giao thông vận tải, for its responses before the merger. Since 1 March 2025
# driving licences are issued by the police (Công an), not by Sở Xây dựng: these are no longer offered.
FORMER_SGTVT_SERVICES = [
    ("1.001777", "Cấp lại giấy phép lái xe", "DB"),
    ("1.002804", "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp", "DB"),
    ("1.002859", "Cấp giấy phép kinh doanh vận tải bằng xe ô tô", "DB"),
]

COUNTERS = [
    # code, name, centre, agency, officers, daily responses (mean), active
    ("SXD-Q20", "Quầy 20 — Sở Xây dựng", "TTPVHCC-KH", "SXD",
     ["Nguyễn Thị Mai", "Lê Thị Thu Hà", "Trần Quốc Bảo"], 6, True),
    ("SXD-Q21", "Quầy 21 — Sở Xây dựng (vận tải, phương tiện)", "TTPVHCC-KH", "SXD",
     ["Phạm Minh Tuấn", "Võ Thị Ngọc Ánh"], 5, True),
    ("CVDTND-01", "Quầy Cảng vụ đường thủy nội địa", "TTPVHCC-KH", "SXD-CVDTND", ["Ngô Thanh Sơn"], 2, True),
    ("TTDK-01", "Quầy tiếp nhận — Trung tâm Đăng kiểm", "SXD-TTDK-MC", "SXD-TTDK",
     ["Huỳnh Văn Long", "Đỗ Thị Hồng Nhung"], 5, True),
    ("SGTVT-Q18", "Quầy 18 — Sở Giao thông vận tải (cũ)", "TTPVHCC-KH", "SGTVT", ["Phạm Minh Tuấn"], 4, False),
]
OFFICER_UNITS = {"Ngô Thanh Sơn": "SXD-CVDTND", "Huỳnh Văn Long": "SXD-TTDK", "Đỗ Thị Hồng Nhung": "SXD-TTDK"}
# How satisfied citizens tend to be with each officer and factor: plausible spread around 85-95%.
OFFICER_MOOD = {"Nguyễn Thị Mai": 0.95, "Lê Thị Thu Hà": 0.92, "Trần Quốc Bảo": 0.86, "Phạm Minh Tuấn": 0.9,
                "Võ Thị Ngọc Ánh": 0.93, "Ngô Thanh Sơn": 0.88, "Huỳnh Văn Long": 0.84, "Đỗ Thị Hồng Nhung": 0.91}
FACTOR_MOOD = {"TCDV": -0.05, "TTHC": -0.02, "CCPV": 0.02, "KQGQ": 0.0, "PAKN": -0.03}
COMMENTS = [
    "Cán bộ hướng dẫn nhiệt tình, dễ hiểu.",
    "Chỗ ngồi chờ còn thiếu vào buổi sáng.",
    "Nên có thêm máy lấy số thứ tự.",
    "Thời gian giải quyết nhanh hơn trước.",
    "Mong được nhắn tin khi có kết quả.",
    "Bãi giữ xe chật, khó tìm chỗ.",
]


def _units() -> dict[str, OrgUnit]:
    units: dict[str, OrgUnit] = {}
    for code, name, short, kind, parent, start, end in UNITS:
        units[code] = OrgUnit(code=code, name=name, short_name=short, unit_type=kind, parent=units.get(parent),
                              valid_from=start, valid_to=end, is_demo=True)
    units["SXD"].hotline, units["SXD"].email = "0258 3822 246", "soxaydung@khanhhoa.gov.vn"
    units["SXD"].address = "Số 4 Phan Chu Trinh, phường Nha Trang, tỉnh Khánh Hòa"
    db.session.add_all(units.values())
    db.session.flush()
    db.session.add(OrgEvent(kind="merge", effective_date=date(2025, 3, 1), predecessor=units["SGTVT"],
                            successor=units["SXD"], legal_basis="Hợp nhất Sở Giao thông vận tải vào Sở Xây dựng"))
    return units


def _score(rng: random.Random, p_satisfied: float, no_opinion_rate: float) -> int | None:
    """A 1-5 answer, or None for "no opinion"."""
    if rng.random() < no_opinion_rate:
        return None
    if rng.random() < p_satisfied:
        return 5 if rng.random() < 0.45 else 4
    return rng.choice([3, 3, 3, 2, 2, 1])


def _burst(rows: list[dict], moods: list[float], counter: Counter, version_id: int, today: date) -> None:
    """Eight top ratings from one phone within two minutes: the last three are flagged, waiting for review."""
    day = today - timedelta(days=2 if today.weekday() < 5 else today.weekday() - 2)
    first = datetime.combine(day, time(10, 12), LOCAL_TZ).astimezone(UTC)
    for n in range(8):
        when = first + timedelta(seconds=17 * n)
        rows.append({
            "public_id": str(uuid.uuid4()), "idempotency_key": uuid.uuid4().hex, "version_id": version_id,
            "channel": "qr", "unit_id": counter.agency_id, "counter_id": counter.id, "officer_id": None,
            "service_id": None, "language": "vi", "submitted_at": when, "completed_at": when, "local_date": day,
            "verified": False, "client_key": "demo-burst-phone", "flag_reason": "ip_burst" if n >= 5 else None,
            "review_status": "pending" if n >= 5 else "none", "is_demo": True,
        })
        moods.append(0.99)


def _responses(units: dict[str, OrgUnit], counters: list[tuple[Counter, list[Officer], float, bool]],
               services: dict[str, list[Service]], rng: random.Random) -> int:
    family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "SIPAS-2640"))
    version = family.current_version
    factor_codes = {f.id: f.code for f in version.factors}
    today = local_today()
    start = date(today.year, today.month, 1) - timedelta(days=170)
    response_rows, answer_plans = [], []
    for counter, officers, daily, active in counters:
        first = start if active else date(2025, 1, 2)
        last = today if active else date(2025, 2, 27)
        day = first
        while day <= last:
            if day.weekday() < 5:
                for _ in range(max(0, round(rng.gauss(daily, daily / 3)))):
                    officer = rng.choice(officers)
                    local = datetime.combine(day, time(rng.randint(7, 16), rng.randint(0, 59)), LOCAL_TZ)
                    when = local.astimezone(UTC)
                    if when > datetime.now(UTC):
                        continue
                    response_rows.append({
                        "public_id": str(uuid.uuid4()), "idempotency_key": uuid.uuid4().hex,
                        "version_id": version.id,
                        "channel": rng.choices(["kiosk", "qr", "web", "paper"], [45, 35, 8, 12])[0],
                        "unit_id": counter.agency_id, "counter_id": counter.id, "officer_id": officer.id,
                        "service_id": rng.choice(services[counter.agency.code]).id if rng.random() < 0.7 else None,
                        "language": "vi", "submitted_at": when, "completed_at": when, "local_date": day,
                        "verified": False, "review_status": "none", "is_demo": True,
                    })
                    answer_plans.append(OFFICER_MOOD[officer.full_name])
            day += timedelta(days=1)
    _burst(response_rows, answer_plans, counters[0][0], version.id, today)
    ids = db.session.scalars(insert(Response).returning(Response.id, sort_by_parameter_order=True), response_rows).all()
    expectations = next(q for q in version.questions if q.kind == "expectations")
    comment = next(q for q in version.questions if q.kind == "comment")
    answers = []
    screened = {q.factor_id for q in version.questions if q.kind == "screening"}
    for response_id, mood in zip(ids, answer_plans, strict=True):
        # About a third of citizens gave feedback before; only they are asked how it was handled.
        gave_feedback = rng.random() < 0.35
        for q in version.questions:
            if q.kind == "screening":
                answers.append({"response_id": response_id, "question_id": q.id, "value": int(gave_feedback),
                                "no_opinion": False, "option_id": None, "text": None})
            elif q.is_scale and (gave_feedback or q.factor_id not in screened):
                code = factor_codes.get(q.factor_id, "")
                p = min(0.99, mood + FACTOR_MOOD.get(code, 0.0))
                value = _score(rng, p, 0.02 if q.kind == "criterion" else 0.0)
                answers.append({"response_id": response_id, "question_id": q.id, "value": value,
                                "no_opinion": value is None, "option_id": None, "text": None})
        for option in rng.sample(expectations.options, rng.randint(0, 3)):
            answers.append({"response_id": response_id, "question_id": expectations.id, "value": None,
                            "no_opinion": False, "option_id": option.id, "text": None})
        if rng.random() < 0.08:
            answers.append({"response_id": response_id, "question_id": comment.id, "value": None,
                            "no_opinion": False, "option_id": None, "text": rng.choice(COMMENTS)})
    for chunk in range(0, len(answers), 5000):
        db.session.execute(insert(Answer), answers[chunk:chunk + 5000])
    return len(ids)


def load_demo_data() -> str:
    """Create the demo agency and its history once; say what was done."""
    if db.session.scalar(select(OrgUnit.id).where(OrgUnit.is_demo.is_(True)).limit(1)):
        return "Demo data already loaded; nothing to do."
    rng = random.Random(2640)
    seed_questionnaires()
    units = _units()
    fields = {code: Field(code=code, name=name) for code, name in FIELDS}
    db.session.add_all(fields.values())
    services: dict[str, list[Service]] = {}
    for code, name, field_code, agency in SERVICES:
        service = Service(code=code, name=name, field=fields[field_code], agency=units[agency])
        services.setdefault(agency, []).append(service)
        db.session.add(service)
    for code, name, field_code in FORMER_SGTVT_SERVICES:
        service = Service(code=code, name=name, field=fields[field_code], agency=units["SGTVT"], active=False)
        services.setdefault("SGTVT", []).append(service)
        db.session.add(service)
    officers: dict[str, Officer] = {}
    counters = []
    for code, name, centre, agency, names, daily, active in COUNTERS:
        counter = Counter(code=code, name=name, service_centre=units[centre], agency=units[agency], active=active)
        db.session.add(counter)
        staff = []
        for full_name in names:
            if full_name not in officers:
                officers[full_name] = Officer(full_name=full_name, title="Chuyên viên",
                                              unit=units[OFFICER_UNITS.get(full_name, "SXD-VP")])
            staff.append(officers[full_name])
            if active:
                counter.officers.append(officers[full_name])
        counters.append((counter, staff, daily, active))
    db.session.flush()
    count = _responses(units, counters, services, rng)
    for year in (2025, 2026):
        db.session.add(Target(org_unit=units["SXD"], year=year, factor_code=None, target_pct=Decimal(90)))
        for code in ("TCDV", "TTHC", "CCPV", "KQGQ", "PAKN"):
            db.session.add(Target(org_unit=units["SXD"], year=year, factor_code=code, target_pct=Decimal(90)))
    today = local_today()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_month = quarter_start.month + 2
    quarter_end = date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])
    db.session.add(Campaign(name=f"Khảo sát SIPAS quý {(today.month - 1) // 3 + 1}/{today.year}",
                            period_start=quarter_start, period_end=quarter_end,
                            channels=["kiosk", "qr", "web", "paper"], expected_transactions=3200,
                            margin=Decimal("0.05"), target_sample=356, units=[units["SXD"]]))
    db.session.add(KioskDevice(name="Máy tính bảng Quầy 20", counter=counters[0][0], token_hash=new_device_token()[1],
                               note="Thiết bị mẫu: mở Quản trị → Thiết bị kiosk → Kích hoạt trên máy tính bảng."))
    for email, name, role, unit_code, officer_name in DEMO_USERS:
        user = User(email=email, full_name=name, role=role, org_unit=units[unit_code],
                    officer=officers.get(officer_name) if officer_name else None)
        user.set_password(DEMO_PASSWORD)
        user.is_head = email in DEMO_HEADS
        db.session.add(user)
    db.session.flush()
    from .complaints.policies import seed_policies
    from .demo_pakn import load_demo_pakn

    seed_policies()
    pakn = load_demo_pakn(units, rng)
    from .demo_dossiers import load_demo_dossiers

    dossiers = load_demo_dossiers(units, rng)
    return (f"Demo data loaded: {len(units)} units, {len(COUNTERS)} counters, {len(SERVICES)} procedures, "
            f"{count} responses, {pakn} PAKN, {dossiers} dossiers from the one-stop system.")
