"""Factories for the models the tests need; everything flushes, nothing commits."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from flask.testing import FlaskClient
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import (
    Answer,
    Counter,
    Officer,
    OrgUnit,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    Service,
    User,
)
from feedback_app.timeutil import LOCAL_TZ

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def unit(name: str = "Đơn vị", unit_type: str = "phong", parent: OrgUnit | None = None, **kw) -> OrgUnit:
    n = next(_seq)
    obj = OrgUnit(code=kw.pop("code", f"U{n}"), name=f"{name} {n}", unit_type=unit_type, parent=parent,
                  valid_from=kw.pop("valid_from", date(2000, 1, 1)), **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def counter(agency: OrgUnit, centre: OrgUnit, officers: list[Officer] | None = None, **kw) -> Counter:
    n = next(_seq)
    obj = Counter(code=kw.pop("code", f"Q{n}"), name=kw.pop("name", f"Quầy {n}"), agency=agency,
                  service_centre=centre, **kw)
    obj.officers = officers or []
    db.session.add(obj)
    db.session.flush()
    return obj


def officer(unit_: OrgUnit, name: str = "Nguyễn Văn An") -> Officer:
    obj = Officer(full_name=name, unit=unit_)
    db.session.add(obj)
    db.session.flush()
    return obj


def service(agency: OrgUnit, name: str = "Cấp giấy phép xây dựng") -> Service:
    obj = Service(code=f"1.{next(_seq):06d}", name=name, agency=agency)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(role: str, unit: OrgUnit, officer: Officer | None = None, email: str | None = None) -> User:
    obj = User(email=email or f"{role}{next(_seq)}@example.gov.vn", full_name=f"Cán bộ {role}", role=role,
               org_unit=unit, officer=officer)
    obj.set_password(PASSWORD)
    db.session.add(obj)
    db.session.flush()
    return obj


def sipas_version() -> QuestionnaireVersion:
    family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "SIPAS-2640"))
    return family.current_version


def quick_version() -> QuestionnaireVersion:
    family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "DANHGIA-NHANH"))
    return family.current_version


@dataclass
class World:
    province: OrgUnit
    agency: OrgUnit
    unit_a: OrgUnit
    unit_b: OrgUnit
    centre: OrgUnit
    officer_a: Officer
    officer_b: Officer
    counter_a: Counter
    counter_b: Counter
    service_a: Service
    version: QuestionnaireVersion


def build_world() -> World:
    province = unit("UBND tỉnh", "ubnd")
    agency = unit("Sở Xây dựng", "so", parent=province)
    unit_a = unit("Trung tâm Đăng kiểm", "phong", parent=agency)
    unit_b = unit("Cảng vụ", "phong", parent=agency)
    centre = unit("Trung tâm PVHCC", "ttpvhcc", parent=province)
    officer_a = officer(unit_a, "Nguyễn Thị Mai")
    officer_b = officer(unit_b, "Trần Quốc Bảo")
    counter_a = counter(unit_a, centre, [officer_a])
    counter_b = counter(unit_b, centre, [officer_b])
    return World(province, agency, unit_a, unit_b, centre, officer_a, officer_b, counter_a, counter_b,
                 service(unit_a), sipas_version())


def response(counter_: Counter, values: dict[str, int | str | None], *, day: date | None = None,
             channel: str = "kiosk", officer_: Officer | None = None, version: QuestionnaireVersion | None = None,
             review_status: str = "none", is_demo: bool = False) -> Response:
    """A stored response answering questions by code: an int is a scale value, "na" is no opinion."""
    version = version or sipas_version()
    by_code = {q.code: q for q in version.questions}
    day = day or date(2026, 10, 15)
    when = datetime(day.year, day.month, day.day, 9, 0, tzinfo=LOCAL_TZ)
    obj = Response(idempotency_key=uuid.uuid4().hex, version_id=version.id, channel=channel,
                   unit_id=counter_.agency_id, counter_id=counter_.id, officer_id=officer_.id if officer_ else None,
                   submitted_at=when, completed_at=when, local_date=day, review_status=review_status,
                   is_demo=is_demo)
    for code, value in values.items():
        q = by_code[code]
        obj.answers.append(Answer(question_id=q.id, no_opinion=True) if value == "na"
                           else Answer(question_id=q.id, value=value))
    db.session.add(obj)
    db.session.flush()
    return obj


def full_answers(version: QuestionnaireVersion, value: int | str = 5, screening: str = "1") -> dict[str, str]:
    """Form fields answering every scale question of a version with one value; screening questions are
    answered yes ("1"), so every question of their factor is asked too."""
    fields = {f"q{q.id}": str(value) for q in version.questions if q.is_scale}
    fields.update({f"q{q.id}": screening for q in version.questions if q.kind == "screening"})
    return fields


def csrf_token(client: FlaskClient, path: str) -> str:
    """The form token a page hands out, as a browser would read it."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'data-csrf="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
