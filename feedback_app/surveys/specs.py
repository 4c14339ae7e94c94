"""What validating a response needs, read once and kept per process.

A published questionnaire version never changes (the models refuse it), so its shape is cached for
good, keyed by id and publication time. A counter's details (its agency, officers, the agency's
procedures, the version it asks) change rarely and are kept for a few seconds (COUNTER_CACHE_SECONDS).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Counter, Officer, Question, Questionnaire, QuestionnaireVersion, Service, officer_counters
from ..models.survey import SCALE_KINDS


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    kind: str
    required: bool
    max_choices: int | None
    option_ids: tuple[int, ...]

    @property
    def is_scale(self) -> bool:
        return self.kind in SCALE_KINDS


@dataclass(frozen=True)
class VersionSpec:
    """The immutable shape of a published version."""

    id: int
    no_opinion_enabled: bool
    scale: frozenset[int]
    questions: tuple[QuestionSpec, ...]


@dataclass(frozen=True)
class CounterInfo:
    """An active counter as a submission sees it."""

    id: int
    code: str
    agency_id: int
    version_id: int | None
    version_published_at: datetime | None
    officer_ids: frozenset[int]
    service_ids: frozenset[int]


class UnknownCounter(LookupError):
    """No active counter has this code."""


class UnknownVersion(LookupError):
    """The version a page names does not exist or is still a draft."""


def _caches() -> dict[str, dict]:
    # Per app (each test database is its own app), per process.
    return current_app.extensions.setdefault("survey_specs", {"versions": {}, "counters": {}})


def version_spec(version_id: int, published_at: datetime | None) -> VersionSpec:
    """The shape of a version, from the cache when it is published."""
    cache = _caches()["versions"]
    key = (version_id, published_at)
    spec = cache.get(key)
    if spec is None:
        version = db.session.get(QuestionnaireVersion, version_id, options=[
            selectinload(QuestionnaireVersion.scale),
            selectinload(QuestionnaireVersion.questions).selectinload(Question.options),
        ])
        spec = VersionSpec(
            id=version.id, no_opinion_enabled=version.no_opinion_enabled, scale=frozenset(version.scale_values()),
            questions=tuple(QuestionSpec(q.id, q.kind, q.required, q.max_choices, tuple(o.id for o in q.options))
                            for q in version.questions),
        )
        if version.status != "draft":
            cache[key] = spec
    return spec


def version_for_page(counter: CounterInfo, version_id: int | None) -> VersionSpec:
    """The version a page was made from: the counter's current one, or any other published or retired
    version (a page left open across a publication; the response keeps the version it answered)."""
    if version_id is None or version_id == counter.version_id:
        if counter.version_id is None:
            raise UnknownVersion(version_id)
        return version_spec(counter.version_id, counter.version_published_at)
    row = db.session.execute(
        select(QuestionnaireVersion.status, QuestionnaireVersion.published_at)
        .where(QuestionnaireVersion.id == version_id)
    ).first()
    if row is None or row.status == "draft":
        raise UnknownVersion(version_id)
    return version_spec(version_id, row.published_at)


def _load_counter(code: str) -> CounterInfo:
    counter = db.session.scalar(select(Counter).where(Counter.code == code, Counter.active.is_(True)))
    if counter is None:
        raise UnknownCounter(code)
    family = (Questionnaire.id == counter.questionnaire_id) if counter.questionnaire_id \
        else Questionnaire.is_default.is_(True)
    current = db.session.execute(
        select(QuestionnaireVersion.id, QuestionnaireVersion.published_at)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(family, QuestionnaireVersion.status == "published")
        .order_by(QuestionnaireVersion.number.desc()).limit(1)
    ).first()
    officers = db.session.scalars(
        select(Officer.id).join(officer_counters, officer_counters.c.officer_id == Officer.id)
        .where(officer_counters.c.counter_id == counter.id, Officer.active.is_(True))
    ).all()
    services = db.session.scalars(
        select(Service.id).where(Service.agency_id == counter.agency_id, Service.active.is_(True))
    ).all()
    return CounterInfo(
        id=counter.id, code=counter.code, agency_id=counter.agency_id,
        version_id=current[0] if current else None, version_published_at=current[1] if current else None,
        officer_ids=frozenset(officers), service_ids=frozenset(services),
    )


def counter_info(code: str) -> CounterInfo:
    """The counter's details, at most COUNTER_CACHE_SECONDS old (0 turns the cache off)."""
    ttl = current_app.config.get("COUNTER_CACHE_SECONDS", 0)
    cache = _caches()["counters"]
    now = time.monotonic()
    hit = cache.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    info = _load_counter(code)
    if ttl > 0:
        cache[code] = (now + ttl, info)
    return info
