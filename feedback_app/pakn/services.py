"""What the citizen's PAKN pages read: the agency a form goes to, its procedures, the survey response a PAKN
may come from, and the published answers (never anything personal)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import session
from sqlalchemy import Select, and_, or_, select

from ..complaints.access import agency_of
from ..extensions import db
from ..models import Answer, Complaint, Counter, Officer, OrgUnit, Question, Response, ScaleLevel, Service
from ..scoping import unit_with_descendants
from ..timeutil import as_utc, local_today, utcnow

ORIGIN_MAX_AGE = timedelta(hours=24)  # a survey response becomes a PAKN only the day it was given
ORIGIN_CHANNELS = ("qr", "web")  # the phone page
PER_PAGE = 20
PUBLISHED_STATES = ("published", "closed")
REDACTED = "[…]"
OFFER_KEY = "pakn_offer"  # the phone survey response its thank-you page offers to turn into a PAKN


def active_counter(code: str | None) -> Counter | None:
    """An active counter by its code."""
    if not code:
        return None
    return db.session.scalar(select(Counter).where(Counter.code == code.strip(), Counter.active.is_(True)))


def agencies_in_force() -> list[OrgUnit]:
    """The Sở in force today, which receive PAKN from the public form."""
    today = local_today()
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.unit_type == "so", OrgUnit.valid_from <= today,
                              or_(OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= today))
        .order_by(OrgUnit.name, OrgUnit.id)))


def agency_for_counter(counter: Counter) -> OrgUnit | None:
    """The agency a counter's PAKN go to: the Sở (or UBND) above the counter's unit."""
    return db.session.get(OrgUnit, agency_of(counter.agency_id))


def services_of(agency_id: int) -> list[Service]:
    """The agency's active procedures (its units' included), by name."""
    units = unit_with_descendants([agency_id], include_history=False)
    return list(db.session.scalars(select(Service).where(Service.agency_id.in_(sorted(units)),
                                                         Service.active.is_(True)).order_by(Service.name)))


def officers_at(counter: Counter) -> list[Officer]:
    """The active officers of a counter, by name."""
    return sorted((o for o in counter.officers if o.active), key=lambda o: o.full_name)


def survey_origin(public_id: str | None) -> Response | None:
    """A phone survey response given in the last 24 hours, by its public id; None otherwise."""
    if not public_id or len(public_id) > 36:
        return None
    response = db.session.scalar(select(Response).where(Response.public_id == public_id.strip()))
    if response is None or response.channel not in ORIGIN_CHANNELS:
        return None
    if as_utc(response.submitted_at) < utcnow() - ORIGIN_MAX_AGE:
        return None
    return response


def survey_comment(response: Response) -> str:
    """The free-text comment of a response ("" without one)."""
    text = db.session.scalar(select(Answer.text).join(Question, Question.id == Answer.question_id)
                             .where(Answer.response_id == response.id, Question.kind == "comment",
                                    Answer.text.is_not(None)).limit(1))
    return text or ""


def is_low_rating(response_id: int) -> bool:
    """Whether a response holds a "not satisfied" answer (below the middle of its scale) or a comment."""
    scale = db.session.execute(select(ScaleLevel.value).join(Response, Response.version_id == ScaleLevel.version_id)
                               .where(Response.id == response_id)).scalars().all()
    if not scale:
        return False
    middle = (min(scale) + max(scale)) / 2
    low = db.session.scalar(
        select(Answer.id).join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id == response_id,
               or_(and_(Question.kind.in_(("criterion", "factor_satisfaction", "overall")), Answer.value < middle),
                   and_(Question.kind == "comment", Answer.text.is_not(None))))
        .limit(1))
    return low is not None


def remember_offer(response_id: int) -> None:
    """After a phone survey response: its thank-you page offers a PAKN when it holds a low rating or a comment."""
    if is_low_rating(response_id):
        session[OFFER_KEY] = db.session.scalar(select(Response.public_id).where(Response.id == response_id))
    else:
        session.pop(OFFER_KEY, None)


def offered_response() -> str | None:
    """The public id of the response the thank-you page offers to turn into a PAKN, if any."""
    value = session.get(OFFER_KEY)
    return value if isinstance(value, str) else None


def published_query(kind: str | None = None) -> Select[Any]:
    """Published answers, newest first: only what the public page may show, and what redaction needs."""
    stmt = (
        select(Complaint.code, Complaint.kind, Complaint.received_at, Complaint.published_at,
               Complaint.published_text, Complaint.published_answer, OrgUnit.name.label("agency_name"),
               Complaint.sender_name, Complaint.sender_address, Complaint.sender_phone, Complaint.sender_email)
        .join(OrgUnit, OrgUnit.id == Complaint.agency_id)
        .where(Complaint.state.in_(PUBLISHED_STATES), Complaint.published_at.is_not(None),
               Complaint.published_text.is_not(None))
        .order_by(Complaint.published_at.desc(), Complaint.id.desc())
    )
    return stmt.where(Complaint.kind == kind) if kind else stmt


def _pattern(value: str | None, phone: bool = False) -> re.Pattern[str] | None:
    value = (value or "").strip()
    if len(value) < 4:
        return None
    if phone:
        digits = re.sub(r"\D", "", value)
        local = digits[1:] if digits.startswith("0") else digits
        # 0905123456, 0905 123 456, 0905.123.456, +84 905 123 456
        return re.compile(r"(?:\+?84|0)[\s.\-]?" + r"[\s.\-]?".join(map(re.escape, local)))
    return re.compile(re.escape(value), re.IGNORECASE)


def redact(text: str | None, row: Any) -> str:
    """Text fit to publish: the sender's name, address, phone and e-mail replaced, should staff have left them."""
    text = text or ""
    patterns = [_pattern(row.sender_phone, phone=True), _pattern(row.sender_email), _pattern(row.sender_address),
                _pattern(row.sender_name)]
    for pattern in patterns:
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
    return text


def public_item(row: Any) -> dict[str, Any]:
    """One published answer as the public page shows it: nothing personal."""
    return {"code": row.code, "kind": row.kind, "received_at": row.received_at, "published_at": row.published_at,
            "agency_name": row.agency_name, "text": redact(row.published_text, row),
            "answer": redact(row.published_answer, row)}
