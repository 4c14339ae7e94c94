"""Validate and store a citizen's response, exactly once, flagging bursts for review.

Answers arrive parsed (`ParsedResponse`): from a web form or the kiosk's JSON through `parse_values`, or built
by the SMS reply parser. Where they come from (`source`) decides the rules against stuffing: an anonymous page
(the counter's QR code, the web link) is held to a number of responses per address and window and a registered
kiosk to the gap between citizens; an invitation (its one-time link, or an SMS reply to it) is spent once
whatever address it comes from — its idempotency key is the invitation's, so a second answer is a duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import KioskDevice, Response
from ..netaddr import counted_address
from ..parsing import clean_text, parse_id
from ..timeutil import LOCAL_TZ, as_utc, utcnow
from .specs import CounterInfo, FactorSpec, QuestionSpec, VersionSpec
from .storage import store_response

NO_OPINION = "na"
SCREENING_VALUES = ("1", "0")  # yes / no
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


SOURCES = ("counter", "invitation", "sms_reply")


@dataclass
class SubmissionContext:
    """Where and how a response arrives. `source`: "counter" (kiosk, QR or web page at a counter),
    "invitation" (a dossier's one-time link) or "sms_reply" (digits replied to an invitation's SMS)."""

    channel: str
    counter: CounterInfo
    version: VersionSpec
    language: str = "vi"
    device_id: int | None = None  # a registered kiosk
    client_ip: str | None = None
    completed_at: datetime | None = None
    verified: bool = False
    is_demo: bool = False
    source: str = "counter"

    @property
    def spent_once(self) -> bool:
        """An invitation's answer: counted once by its key, from whatever address; no address rules."""
        return self.source in ("invitation", "sms_reply")


@dataclass(frozen=True)
class ParsedResponse:
    """Answers ready to store, with the officer, service and dossier they are about."""

    answers: list[dict]
    officer_id: int | None = None
    service_id: int | None = None
    dossier_code: str | None = None


class Values:
    """Submitted values by name, from a form (MultiDict) or a dict of lists (the kiosk's JSON)."""

    def __init__(self, source: MultiDict | dict[str, list[str]]) -> None:
        self._source = source

    def get(self, name: str) -> str | None:
        if isinstance(self._source, MultiDict):
            return self._source.get(name)
        values = self._source.get(name)
        return values[0] if values else None

    def getlist(self, name: str) -> list[str]:
        if isinstance(self._source, MultiDict):
            return self._source.getlist(name)
        return list(self._source.get(name) or ())


def client_key(ip: str | None) -> str | None:
    """A keyed hash of the IP: enough to see bursts, without storing the address itself."""
    if not ip:
        return None
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(secret + b"|ip|" + counted_address(ip).encode()).hexdigest()[:32]


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def invitation_key(invitation_id: int) -> str:
    """The idempotency key of an invitation's response: the link and an SMS reply share it, so only one counts.
    Keyed (HMAC with SECRET_KEY), never the invitation's id in clear: the response row would otherwise name its
    invitation, and through it the dossier and the phone, to anyone reading the tables."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"invitation-response|{invitation_id}".encode(), hashlib.sha256).hexdigest()
    return f"inv-{digest[:40]}"


ANSWER_DEFAULTS = {"value": None, "no_opinion": False, "option_id": None, "text": None}


def _answer(question_id: int, **kind: object) -> dict:
    return {**ANSWER_DEFAULTS, "question_id": question_id, **kind}


def _scale_answer(q: QuestionSpec, version: VersionSpec, form: Values, answers: list[dict],
                  errors: dict[str, str]) -> None:
    name = f"q{q.id}"
    raw = (form.get(name) or "").strip()
    if not raw:
        if q.required:
            errors[name] = _l("Vui lòng chọn một mức đánh giá cho câu này.")
    elif raw == NO_OPINION and version.no_opinion_enabled and q.kind == "criterion":
        answers.append(_answer(q.id, no_opinion=True))
    elif parse_id(raw) in version.scale_values:
        answers.append(_answer(q.id, value=parse_id(raw)))
    else:
        errors[name] = _l("Mức đánh giá không hợp lệ; vui lòng chọn lại một trong các mức trên thang.")


def _screened_out(factor: FactorSpec, form: Values, answers: list[dict], errors: dict[str, str]) -> bool:
    """Read a factor's screening question; True when the citizen said no (the factor is not asked)."""
    q = factor.screening
    if q is None:
        return False
    name = f"q{q.id}"
    raw = (form.get(name) or "").strip()
    if raw not in SCREENING_VALUES:
        errors[name] = _l("Vui lòng chọn “Có” hoặc “Không” cho câu này.")
        return True  # its questions wait until the citizen has said whether they apply
    answers.append(_answer(q.id, value=int(raw)))
    return raw == "0"


def _parse_answers(version: VersionSpec, form: Values) -> tuple[list[dict], dict[str, str]]:
    """Turn form fields q<id> into answer rows; collect an error for each missing or invalid one. The
    questions of a factor the citizen screened out are neither required nor stored."""
    answers: list[dict] = []
    errors: dict[str, str] = {}
    for factor in version.factors:
        if _screened_out(factor, form, answers, errors):
            continue
        for q in factor.questions:
            _scale_answer(q, version, form, answers, errors)
    for q in version.closing:
        name = f"q{q.id}"
        if q.is_scale:
            _scale_answer(q, version, form, answers, errors)
        elif q.kind == "expectations":
            raw_values = [v for v in form.getlist(name) if v]
            valid = {str(o): o for o in q.option_ids}
            if any(v not in valid for v in raw_values):
                errors[name] = _l("Lựa chọn không hợp lệ; vui lòng chọn lại.")
                continue
            chosen = list(dict.fromkeys(valid[v] for v in raw_values))
            if q.max_choices and len(chosen) > q.max_choices:
                errors[name] = _l("Vui lòng chọn tối đa %(n)d nội dung.", n=q.max_choices)
                continue
            if q.required and not chosen:
                errors[name] = _l("Vui lòng chọn ít nhất một nội dung.")
            answers.extend(_answer(q.id, option_id=o) for o in chosen)
        elif q.kind == "comment":
            text, problem = clean_text(form.get(name) or "")
            if problem:
                errors[name] = _l("Ý kiến có ký tự điều khiển hoặc ký tự đảo chiều văn bản không hợp lệ; "
                                  "vui lòng gõ lại ý kiến.")
            elif len(text) > COMMENT_MAX:
                errors[name] = _l("Ý kiến dài quá %(n)d ký tự; vui lòng rút gọn.", n=COMMENT_MAX)
            elif text:
                answers.append(_answer(q.id, text=text))
            elif q.required:
                errors[name] = _l("Vui lòng nhập ý kiến.")
    return answers, errors


def _optional_id(form: Values, name: str, errors: dict[str, str], message: object) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        errors[name] = message
    return value


def _check_context(counter: CounterInfo, form: Values, errors: dict[str, str]) -> dict:
    """Officer and service must belong to this counter and agency; the dossier code must look like one."""
    officer_id = _optional_id(form, "officer", errors, _l("Công chức được chọn không hợp lệ."))
    if officer_id is not None and officer_id not in counter.officer_ids:
        errors["officer"] = _l("Công chức được chọn không làm việc tại quầy này; vui lòng chọn lại.")
        officer_id = None
    service_id = _optional_id(form, "service", errors, _l("Thủ tục được chọn không hợp lệ."))
    if service_id is not None and service_id not in counter.service_ids:
        errors["service"] = _l("Thủ tục được chọn không thuộc cơ quan này; vui lòng chọn lại.")
        service_id = None
    dossier = (form.get("dossier_code") or "").strip() or None
    if dossier and not DOSSIER_RE.match(dossier):
        errors["dossier_code"] = _l("Mã hồ sơ chỉ gồm chữ, số và các dấu . - / (3 đến 60 ký tự).")
    return {"officer_id": officer_id, "service_id": service_id, "dossier_code": dossier}


def _burst_params(ctx: SubmissionContext, completed: datetime, key: str | None, now: datetime) -> dict:
    """The limits the database applies while inserting (storage.BURST_FLAG): a registered kiosk is held to
    the gap between citizens, anyone else to a number of responses per address and window."""
    cfg = current_app.config
    gap = timedelta(seconds=cfg["KIOSK_MIN_GAP_SECONDS"])
    return {
        "gap_from": completed - gap,
        "gap_to": completed + gap,
        # A registered kiosk serves a whole counter from one address: only the gap rule applies to it; an
        # invitation is spent once by its key, so its address does not matter.
        "burst_key": None if ctx.device_id is not None or ctx.spent_once else key,
        "burst_since": now - timedelta(seconds=cfg["BURST_WINDOW_SECONDS"]),
        "burst_max": cfg["BURST_MAX_PER_IP"],
    }


def _completed_at(ctx: SubmissionContext, now: datetime) -> datetime:
    """Server time decides, except for a registered kiosk's offline queue: the completion time the device
    claims is kept only when it is not in the future, lies within KIOSK_OFFLINE_MAX_HOURS, and falls after
    both the device's registration and the last moment it said its queue was empty (nothing completed
    before then can still have been waiting on it). Anything else is filed at the time it arrived."""
    if ctx.completed_at is None or ctx.device_id is None:
        return now
    when = as_utc(ctx.completed_at)
    known = db.session.execute(
        select(KioskDevice.registered_at, KioskDevice.queue_empty_at).where(KioskDevice.id == ctx.device_id)
    ).first()
    if known is None:
        return now
    floor = max(now - timedelta(hours=current_app.config["KIOSK_OFFLINE_MAX_HOURS"]), as_utc(known.registered_at),
                as_utc(known.queue_empty_at) if known.queue_empty_at else datetime.min.replace(tzinfo=UTC))
    return when if floor <= when <= now else now


def parse_values(counter: CounterInfo, version: VersionSpec, values: MultiDict | dict[str, list[str]]
                 ) -> ParsedResponse:
    """A web form's or the kiosk's answers (fields q<id>, officer, service, dossier_code) checked against the
    version and the counter; raises SurveyValidationError with what to fix for each field."""
    form = Values(values)
    errors: dict[str, str] = {}
    meta = _check_context(counter, form, errors)
    answers, answer_errors = _parse_answers(version, form)
    errors.update(answer_errors)
    if errors:
        raise SurveyValidationError(errors)
    return ParsedResponse(answers, **meta)


def submit_response(ctx: SubmissionContext, form: MultiDict | dict[str, list[str]], idempotency_key: str) -> int:
    """Parse a form's answers and store them (see `submit_parsed`)."""
    if not KEY_RE.match(idempotency_key or ""):
        raise SurveyValidationError({"key": _l("Phiếu không hợp lệ; vui lòng tải lại trang và gửi lại.")})
    return submit_parsed(ctx, parse_values(ctx.counter, ctx.version, form), idempotency_key)


def submit_parsed(ctx: SubmissionContext, parsed: ParsedResponse, idempotency_key: str) -> int:
    """Store a whole response or nothing and return its id; a replay of the key raises DuplicateSubmission."""
    if ctx.source not in SOURCES:
        raise ValueError(f"unknown submission source {ctx.source}")
    if not KEY_RE.match(idempotency_key or ""):
        raise SurveyValidationError({"key": _l("Phiếu không hợp lệ; vui lòng tải lại trang và gửi lại.")})
    now = utcnow()
    completed = _completed_at(ctx, now)
    key = None if ctx.spent_once else client_key(ctx.client_ip)
    response_id = store_response({
        "public_id": str(uuid.uuid4()),
        "idempotency_key": idempotency_key,
        "version_id": ctx.version.id,
        "channel": ctx.channel,
        "unit_id": ctx.counter.agency_id,
        "counter_id": ctx.counter.id,
        "device_id": ctx.device_id,
        "client_key": key,
        "language": ctx.language,
        "submitted_at": now,
        "completed_at": completed,
        "local_date": completed.astimezone(LOCAL_TZ).date(),
        # Verified: given through something the agency controls (a registered kiosk, a dossier's invitation),
        # not an open page.
        "verified": ctx.verified or ctx.device_id is not None or ctx.spent_once,
        "is_demo": ctx.is_demo,
        "officer_id": parsed.officer_id,
        "service_id": parsed.service_id,
        "dossier_code": parsed.dossier_code,
    }, parsed.answers, _burst_params(ctx, completed, key, now))
    if response_id is None:
        # The same response again (a kiosk retry, a resent form, a second reply): the first copy stored wins.
        first = db.session.scalar(select(Response).where(Response.idempotency_key == idempotency_key))
        raise DuplicateSubmission(first)
    return response_id
