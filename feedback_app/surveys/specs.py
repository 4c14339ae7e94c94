"""What survey pages and submissions need, read once and kept per process.

A published questionnaire version never changes (the models refuse it), so its shape and wording are
cached for good, keyed by id and publication time: pages are rendered from these immutable specs, not
from the ORM. A counter's details (its agency, officers, the agency's procedures, the version it asks)
change rarely and are kept for a few seconds (COUNTER_CACHE_SECONDS).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Counter, Officer, Question, QuestionnaireVersion, Service, officer_counters
from ..models.org import initials
from ..models.survey import SCALE_KINDS, current_version_query
from ..parsing import parse_id


@dataclass(frozen=True)
class OptionSpec:
    id: int
    text: str
    text_en: str | None


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    code: str
    kind: str
    text: str
    text_en: str | None
    required: bool
    max_choices: int | None
    factor_id: int | None
    options: tuple[OptionSpec, ...] = ()

    @property
    def is_scale(self) -> bool:
        return self.kind in SCALE_KINDS

    @property
    def option_ids(self) -> tuple[int, ...]:
        return tuple(o.id for o in self.options)


@dataclass(frozen=True)
class LevelSpec:
    """One point of the scale, with the face (1-5) drawn for it."""

    value: int
    label: str
    label_en: str | None
    face: int


@dataclass(frozen=True)
class FactorSpec:
    id: int
    code: str
    name: str
    name_en: str | None
    screening: QuestionSpec | None
    questions: tuple[QuestionSpec, ...]


@dataclass(frozen=True)
class VersionSpec:
    """The immutable shape and wording of a published version."""

    id: int
    questionnaire_id: int
    published_at: datetime | None
    title: str
    title_en: str | None
    no_opinion_enabled: bool
    no_opinion_label: str
    no_opinion_label_en: str | None
    levels: tuple[LevelSpec, ...]
    factors: tuple[FactorSpec, ...]
    closing: tuple[QuestionSpec, ...]
    questions: tuple[QuestionSpec, ...]

    @property
    def scale_values(self) -> frozenset[int]:
        return frozenset(level.value for level in self.levels)

    @property
    def scale_question_count(self) -> int:
        """Questions a citizen rates on the scale (the progress counter's total)."""
        return sum(1 for q in self.questions if q.is_scale)


@dataclass(frozen=True)
class OfficerSpec:
    id: int
    full_name: str
    initials: str
    has_photo: bool


@dataclass(frozen=True)
class ServiceSpec:
    id: int
    name: str


@dataclass(frozen=True)
class CounterInfo:
    """An active counter as its pages and submissions see it."""

    id: int
    code: str
    name: str
    agency_id: int
    agency_name: str
    centre_name: str
    questionnaire_id: int | None
    version_id: int | None
    version_published_at: datetime | None
    officers: tuple[OfficerSpec, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    # Identifies these details cheaply in cache keys (hashing the whole record on every request would not).
    stamp: int = 0

    @property
    def officer_ids(self) -> frozenset[int]:
        return frozenset(o.id for o in self.officers)

    @property
    def service_ids(self) -> frozenset[int]:
        return frozenset(s.id for s in self.services)


class UnknownCounter(LookupError):
    """No active counter has this code."""


class UnknownVersion(LookupError):
    """The version a page names does not exist, is a draft or belongs to another questionnaire."""


def _caches() -> dict[str, dict]:
    # Per app (each test database is its own app), per process.
    return current_app.extensions.setdefault("survey_specs", {"versions": {}, "counters": {}, "stale": {}})


def _face(value: int, values: list[int]) -> int:
    """Spread any scale over the five faces: the lowest value is face 1, the highest face 5."""
    if len(values) < 2:
        return 5
    return round(1 + (value - values[0]) * 4 / (values[-1] - values[0]))


def _question(q: Question) -> QuestionSpec:
    return QuestionSpec(
        id=q.id, code=q.code, kind=q.kind, text=q.text, text_en=q.text_en, required=q.required,
        max_choices=q.max_choices, factor_id=q.factor_id,
        options=tuple(OptionSpec(o.id, o.text, o.text_en) for o in q.options),
    )


def _build_version(version: QuestionnaireVersion) -> VersionSpec:
    questions = tuple(_question(q) for q in version.questions)
    values = sorted(level.value for level in version.scale)
    factors = []
    for f in version.factors:
        own = [q for q in questions if q.factor_id == f.id]
        screening = next((q for q in own if q.kind == "screening"), None)
        factors.append(FactorSpec(f.id, f.code, f.name, f.name_en, screening,
                                  tuple(q for q in own if q.kind != "screening")))
    return VersionSpec(
        id=version.id, questionnaire_id=version.questionnaire_id, published_at=version.published_at,
        title=version.title, title_en=version.title_en, no_opinion_enabled=version.no_opinion_enabled,
        no_opinion_label=version.no_opinion_label, no_opinion_label_en=version.no_opinion_label_en,
        levels=tuple(LevelSpec(s.value, s.label, s.label_en, _face(s.value, values)) for s in version.scale),
        factors=tuple(factors), closing=tuple(q for q in questions if q.factor_id is None), questions=questions,
    )


def version_spec(version_id: int, published_at: datetime | None) -> VersionSpec:
    """The shape of a version, from the cache when it is published (or retired)."""
    cache = _caches()["versions"]
    key = (version_id, published_at)
    spec = cache.get(key)
    if spec is None:
        version = db.session.get(QuestionnaireVersion, version_id, options=[
            selectinload(QuestionnaireVersion.scale),
            selectinload(QuestionnaireVersion.factors),
            selectinload(QuestionnaireVersion.questions).selectinload(Question.options),
        ])
        if version is None:
            raise UnknownVersion(version_id)
        spec = _build_version(version)
        if version.status != "draft":
            cache[key] = spec
    return spec


def version_for_page(counter: CounterInfo, version_id: int | None) -> VersionSpec:
    """The version a page was made from: the counter's current one, or an older published or retired
    version of the same questionnaire (a page left open across a publication keeps its version)."""
    if version_id is None or version_id == counter.version_id:
        if counter.version_id is None:
            raise UnknownVersion(version_id)
        return version_spec(counter.version_id, counter.version_published_at)
    row = db.session.execute(
        select(QuestionnaireVersion.status, QuestionnaireVersion.published_at, QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.id == version_id)
    ).first()
    if row is None or row.status == "draft" or row.questionnaire_id != counter.questionnaire_id:
        raise UnknownVersion(version_id)
    return version_spec(version_id, row.published_at)


def _load_counter(code: str) -> CounterInfo:
    counter = db.session.scalar(
        select(Counter).where(Counter.code == code, Counter.active.is_(True))
        .options(selectinload(Counter.agency), selectinload(Counter.service_centre))
    )
    if counter is None:
        raise UnknownCounter(code)
    current = db.session.execute(current_version_query(counter.questionnaire_id)).first()
    officers = db.session.execute(
        select(Officer.id, Officer.full_name, Officer.photo_mime)
        .join(officer_counters, officer_counters.c.officer_id == Officer.id)
        .where(officer_counters.c.counter_id == counter.id, Officer.active.is_(True))
        .order_by(Officer.full_name)
    ).all()
    services = db.session.execute(
        select(Service.id, Service.name).where(Service.agency_id == counter.agency_id, Service.active.is_(True))
        .order_by(Service.name)
    ).all()
    info = CounterInfo(
        id=counter.id, code=counter.code, name=counter.name, agency_id=counter.agency_id,
        agency_name=counter.agency.name, centre_name=counter.service_centre.name,
        questionnaire_id=current.questionnaire_id if current else None,
        version_id=current.id if current else None, version_published_at=current.published_at if current else None,
        officers=tuple(OfficerSpec(o.id, o.full_name, initials(o.full_name), o.photo_mime is not None)
                       for o in officers),
        services=tuple(ServiceSpec(s.id, s.name) for s in services),
    )
    return replace(info, stamp=hash(info))


def counter_info(code: str) -> CounterInfo:
    """The counter's details, at most COUNTER_CACHE_SECONDS old (0 turns the cache off)."""
    ttl = current_app.config.get("COUNTER_CACHE_SECONDS", 0)
    caches = _caches()
    now = time.monotonic()
    hit = caches["counters"].get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    info = _load_counter(code)
    if ttl > 0:
        caches["counters"][code] = (now + ttl, info)
    caches["stale"][code] = info
    return info


def last_known_counter(code: str) -> CounterInfo | None:
    """What this process last read about a counter, however old: enough to show a page again when the
    database cannot be reached."""
    return _caches()["stale"].get(code)


def cached_version(raw_version_id: object, counter: CounterInfo | None) -> VersionSpec | None:
    """A version already in this process's cache, without the database: the one a page names, else the
    counter's current one."""
    wanted = parse_id(raw_version_id) or (counter.version_id if counter else None)
    for (version_id, _published), spec in list(_caches()["versions"].items()):
        if version_id == wanted:
            return spec
    return None
