"""Validate and store a citizen's response, exactly once, flagging bursts for review."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import Answer, Counter, KioskDevice, QuestionnaireVersion, Response, Service
from ..timeutil import LOCAL_TZ, as_utc, utcnow

NO_OPINION = "na"
COMMENT_MAX = 2000
DOSSIER_RE = re.compile(r"^[A-Za-z0-9.\-_/]{3,60}$")
KEY_RE = re.compile(r"^[A-Za-z0-9\-]{16,64}$")


class SurveyValidationError(ValueError):
    """The response cannot be stored as sent; `errors` maps each field to what to fix."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class DuplicateSubmission(Exception):
    """This idempotency key was already stored: the response is counted once."""

    def __init__(self, response: Response):
        super().__init__(response.public_id)
        self.response = response


@dataclass
class SubmissionContext:
    """Where and how a response arrives."""

    channel: str
    counter: Counter
    version: QuestionnaireVersion
    language: str = "vi"
    device: KioskDevice | None = None
    client_ip: str | None = None
    completed_at: datetime | None = None
    verified: bool = False
    is_demo: bool = False
    extra_flags: list[str] = field(default_factory=list)


def client_key(ip: str | None) -> str | None:
    """A keyed hash of the IP: enough to see bursts, without storing the address itself."""
    if not ip:
        return None
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(secret + b"|ip|" + ip.encode()).hexdigest()[:32]


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def _parse_answers(version: QuestionnaireVersion, form: MultiDict) -> tuple[list[Answer], dict[str, str]]:
    """Turn form fields q<id> into answers; collect an error for each missing or invalid one."""
    answers: list[Answer] = []
    errors: dict[str, str] = {}
    scale = version.scale_values()
    for q in version.questions:
        name = f"q{q.id}"
        if q.is_scale:
            raw = (form.get(name) or "").strip()
            if not raw:
                if q.required:
                    errors[name] = _l("Vui lòng chọn một mức đánh giá cho câu này.")
                continue
            if raw == NO_OPINION and version.no_opinion_enabled and q.kind == "criterion":
                answers.append(Answer(question_id=q.id, no_opinion=True))
            elif raw.isdigit() and int(raw) in scale:
                answers.append(Answer(question_id=q.id, value=int(raw)))
            else:
                errors[name] = _l("Mức đánh giá không hợp lệ; vui lòng chọn lại một trong các mức trên thang.")
        elif q.kind == "expectations":
            raw_values = [v for v in form.getlist(name) if v]
            valid = {str(o.id): o.id for o in q.options}
            if any(v not in valid for v in raw_values):
                errors[name] = _l("Lựa chọn không hợp lệ; vui lòng chọn lại.")
                continue
            chosen = list(dict.fromkeys(valid[v] for v in raw_values))
            if q.max_choices and len(chosen) > q.max_choices:
                errors[name] = _l("Vui lòng chọn tối đa %(n)d nội dung.", n=q.max_choices)
                continue
            if q.required and not chosen:
                errors[name] = _l("Vui lòng chọn ít nhất một nội dung.")
            answers.extend(Answer(question_id=q.id, option_id=o) for o in chosen)
        elif q.kind == "comment":
            text = (form.get(name) or "").strip()
            if len(text) > COMMENT_MAX:
                errors[name] = _l("Ý kiến dài quá %(n)d ký tự; vui lòng rút gọn.", n=COMMENT_MAX)
            elif text:
                answers.append(Answer(question_id=q.id, text=text))
            elif q.required:
                errors[name] = _l("Vui lòng nhập ý kiến.")
    return answers, errors


def _optional_id(form: MultiDict, name: str, errors: dict[str, str], message: object) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        errors[name] = message
        return None
    return int(raw)


def _check_context(ctx: SubmissionContext, form: MultiDict, errors: dict[str, str]) -> dict:
    """Officer and service must belong to this counter and agency; the dossier code must look like one."""
    officer_id = _optional_id(form, "officer", errors, _l("Công chức được chọn không hợp lệ."))
    if officer_id is not None and officer_id not in {o.id for o in ctx.counter.officers if o.active}:
        errors["officer"] = _l("Công chức được chọn không làm việc tại quầy này; vui lòng chọn lại.")
        officer_id = None
    service_id = _optional_id(form, "service", errors, _l("Thủ tục được chọn không hợp lệ."))
    if service_id is not None:
        service = db.session.get(Service, service_id)
        if service is None or service.agency_id != ctx.counter.agency_id or not service.active:
            errors["service"] = _l("Thủ tục được chọn không thuộc cơ quan này; vui lòng chọn lại.")
            service_id = None
    dossier = (form.get("dossier_code") or "").strip() or None
    if dossier and not DOSSIER_RE.match(dossier):
        errors["dossier_code"] = _l("Mã hồ sơ chỉ gồm chữ, số và các dấu . - / (3 đến 60 ký tự).")
    return {"officer_id": officer_id, "service_id": service_id, "dossier_code": dossier}


def _burst_reason(ctx: SubmissionContext, when: datetime, key: str | None) -> str | None:
    """Why this response should wait for review, if it came too fast from one device or one IP."""
    cfg = current_app.config
    if ctx.device is not None:
        gap = timedelta(seconds=cfg["KIOSK_MIN_GAP_SECONDS"])
        recent = db.session.scalar(
            select(func.count(Response.id)).where(
                Response.device_id == ctx.device.id,
                func.coalesce(Response.completed_at, Response.submitted_at) > when - gap,
                func.coalesce(Response.completed_at, Response.submitted_at) < when + gap,
            )
        )
        return "kiosk_gap" if recent else None
    if key is None:
        return None
    window = timedelta(seconds=cfg["BURST_WINDOW_SECONDS"])
    recent = db.session.scalar(
        select(func.count(Response.id)).where(Response.client_key == key, Response.submitted_at > utcnow() - window)
    )
    return "ip_burst" if recent >= cfg["BURST_MAX_PER_IP"] else None


def _completed_at(ctx: SubmissionContext, now: datetime) -> datetime:
    """The device's own completion time (queued offline) if plausible; otherwise now."""
    if ctx.completed_at is None:
        return now
    when = as_utc(ctx.completed_at)
    if when > now + timedelta(minutes=2) or when < now - timedelta(days=2):
        return now
    return when


def submit_response(ctx: SubmissionContext, form: MultiDict, idempotency_key: str) -> Response:
    """Store a whole response or nothing; a replay of the same key raises DuplicateSubmission."""
    if not KEY_RE.match(idempotency_key or ""):
        raise SurveyValidationError({"key": _l("Phiếu không hợp lệ; vui lòng tải lại trang và gửi lại.")})
    existing = _find_by_key(idempotency_key)
    if existing is not None:
        raise DuplicateSubmission(existing)
    errors: dict[str, str] = {}
    meta = _check_context(ctx, form, errors)
    answers, answer_errors = _parse_answers(ctx.version, form)
    errors.update(answer_errors)
    if errors:
        raise SurveyValidationError(errors)
    now = utcnow()
    completed = _completed_at(ctx, now)
    key = client_key(ctx.client_ip)
    reason = _burst_reason(ctx, completed, key)
    reasons = [r for r in [reason, *ctx.extra_flags] if r]
    response = Response(
        idempotency_key=idempotency_key,
        version_id=ctx.version.id,
        channel=ctx.channel,
        unit_id=ctx.counter.agency_id,
        counter_id=ctx.counter.id,
        device_id=ctx.device.id if ctx.device else None,
        client_key=key,
        language=ctx.language,
        submitted_at=now,
        completed_at=completed,
        local_date=completed.astimezone(LOCAL_TZ).date(),
        verified=ctx.verified,
        flag_reason=",".join(reasons) or None,
        review_status="pending" if reasons else "none",
        is_demo=ctx.is_demo,
        answers=answers,
        **meta,
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        # Two copies of one response raced (a kiosk retry): the first one stored wins.
        existing = _find_by_key(idempotency_key)
        if existing is None:
            raise
        raise DuplicateSubmission(existing) from None
    return response


def _find_by_key(key: str) -> Response | None:
    return db.session.scalar(select(Response).where(Response.idempotency_key == key))


def pending_review_count(unit_ids: set[int] | None) -> int:
    """How many flagged responses wait for a decision, within the given units."""
    stmt = select(func.count(Response.id)).where(Response.review_status == "pending")
    if unit_ids is not None:
        stmt = stmt.where(or_(Response.unit_id.in_(sorted(unit_ids))))
    return db.session.scalar(stmt) or 0
