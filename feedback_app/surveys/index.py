"""The SIPAS index: % satisfied per factor and the overall index, with the counts behind each figure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, case, extract, func, literal, select, true

from ..extensions import db
from ..labels import CHANNEL_LABELS, TOTAL_LABEL, UNKNOWN_GROUP_LABEL, label_of
from ..models import (
    Answer,
    Counter,
    Factor,
    Officer,
    OrgUnit,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ScaleLevel,
    Service,
)
from ..models.survey import COUNTED_REVIEW

GROUPS = ("unit", "counter", "officer", "service", "channel", "month")


@dataclass
class IndexFilters:
    """What to compute over: a questionnaire family, a period, a set of units, a counter."""

    questionnaire_id: int
    date_from: date | None = None
    date_to: date | None = None
    unit_ids: set[int] | None = None
    counter_id: int | None = None
    include_demo: bool = False  # demo responses count only where the installation says so (COUNT_DEMO_RESPONSES)


@dataclass
class FactorResult:
    """One factor's figures: satisfied answers over answers on the scale (and "no opinion" if configured)."""

    code: str
    name: str
    weight: Decimal = Decimal(1)
    satisfied: int = 0
    answers: int = 0
    no_opinion: int = 0
    denominator: int = 0
    responses: int = 0

    @property
    def exact_pct(self) -> float | None:
        return None if self.denominator == 0 else 100.0 * self.satisfied / self.denominator

    @property
    def satisfied_pct(self) -> float | None:
        exact = self.exact_pct
        return None if exact is None else round(exact, 2)


@dataclass
class IndexResult:
    """The index of one group (or of everything, key None)."""

    key: str | None
    label: str
    factors: list[FactorResult] = field(default_factory=list)
    responses: int = 0

    @property
    def overall_pct(self) -> float | None:
        """Weighted mean of the factor percentages that have answers (equal weights by default)."""
        # From the exact factor figures: rounding first would drift the mean (66.67 + 100 -> 83.34).
        scored = [(f.exact_pct, float(f.weight)) for f in self.factors if f.exact_pct is not None]
        total_weight = sum(w for _, w in scored)
        if not scored or total_weight == 0:
            return None
        return round(sum(p * w for p, w in scored) / total_weight, 2)

    @property
    def answers(self) -> int:
        return sum(f.answers for f in self.factors)


def _group_column(group_by: str | None) -> ColumnElement:
    if group_by is None:
        return literal("all")
    if group_by == "month":
        return extract("year", Response.local_date) * 100 + extract("month", Response.local_date)
    return {
        "unit": Response.unit_id,
        "counter": Response.counter_id,
        "officer": Response.officer_id,
        "service": Response.service_id,
        "channel": Response.channel,
    }[group_by]


def _where(filters: IndexFilters, extra: ColumnElement | None) -> list[ColumnElement]:
    conditions = [
        QuestionnaireVersion.questionnaire_id == filters.questionnaire_id,
        Response.review_status.in_(COUNTED_REVIEW),
        extra if extra is not None else true(),
    ]
    if filters.date_from:
        conditions.append(Response.local_date >= filters.date_from)
    if filters.date_to:
        conditions.append(Response.local_date <= filters.date_to)
    if filters.unit_ids is not None:
        conditions.append(Response.unit_id.in_(sorted(filters.unit_ids)))
    if filters.counter_id:
        conditions.append(Response.counter_id == filters.counter_id)
    if not filters.include_demo:
        conditions.append(Response.is_demo.is_(False))
    return conditions


def factor_catalogue(questionnaire_id: int) -> list[Factor]:
    """The factors of the family's current (else latest) version: names, order and weights."""
    family = db.session.get(Questionnaire, questionnaire_id)
    version = family.current_version or (family.versions[-1] if family.versions else None)
    return list(version.factors) if version else []


def compute_index(
    filters: IndexFilters, scope: ColumnElement | None = None, group_by: str | None = None
) -> list[IndexResult]:
    """Aggregate answers in the database, one row per group and factor; the caller's scope is ANDed in."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    group = _group_column(group_by).label("grp")
    # PostgreSQL refuses GROUP BY on a constant: the whole-period total has no group key.
    group_keys = [group] if group_by is not None else []
    where = _where(filters, scope)
    counts_no_opinion = Answer.no_opinion & QuestionnaireVersion.no_opinion_in_denominator
    stmt = (
        select(
            group,
            Factor.code,
            func.sum(case((ScaleLevel.is_satisfied, 1), else_=0)),
            func.count(Answer.value),
            func.sum(case((Answer.no_opinion, 1), else_=0)),
            func.sum(case((counts_no_opinion, 1), else_=0)),
            func.count(func.distinct(Response.id)),
        )
        .select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .join(Factor, Factor.id == Question.factor_id)
        .join(Response, Response.id == Answer.response_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.version_id)
        .outerjoin(ScaleLevel, (ScaleLevel.version_id == Response.version_id) & (ScaleLevel.value == Answer.value))
        .where(Question.counts_in_index.is_(True), *where)
        .group_by(*group_keys, Factor.code)
    )
    response_counts = dict(
        db.session.execute(
            select(group, func.count(func.distinct(Response.id)))
            .select_from(Response)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.version_id)
            .where(*where)
            .group_by(*group_keys)
        ).all()
    )
    rows = db.session.execute(stmt).all()
    columns = [(f.code, f.name, f.weight) for f in factor_catalogue(filters.questionnaire_id)]
    # Factors only older versions had come after the current ones, in every group alike.
    known = {code for code, _, _ in columns}
    columns += [(code, code, Decimal(1)) for code in sorted({row[1] for row in rows} - known)]
    results: dict[object, IndexResult] = {}
    for grp, code, satisfied, answers, no_opinion, no_opinion_counted, responses in rows:
        if grp not in results:
            results[grp] = _empty_result(grp, columns, response_counts.get(grp, 0))
        factor = next(f for f in results[grp].factors if f.code == code)
        factor.satisfied = int(satisfied or 0)
        factor.answers = int(answers or 0)
        factor.no_opinion = int(no_opinion or 0)
        factor.denominator = factor.answers + int(no_opinion_counted or 0)
        factor.responses = int(responses or 0)
    for grp, count in response_counts.items():
        if grp not in results:
            results[grp] = _empty_result(grp, columns, count)
    if group_by is None and not results:
        results["all"] = _empty_result("all", columns, 0)
    ordered = list(results.values())
    _label(ordered, group_by)
    # Months in time order; everything else by name, the unknown group last.
    ordered.sort(key=lambda r: (r.key is None, r.key if group_by == "month" else r.label))
    return ordered


def _empty_result(grp: object, columns: list[tuple[str, str, Decimal]], responses: int) -> IndexResult:
    key = None if grp is None else str(int(grp) if isinstance(grp, float | Decimal) else grp)
    return IndexResult(
        key=key, label="",
        factors=[FactorResult(code=code, name=name, weight=weight) for code, name, weight in columns],
        responses=int(responses),
    )


def _label(results: list[IndexResult], group_by: str | None) -> None:
    """Readable labels for group keys."""
    models = {"unit": (OrgUnit, "name"), "counter": (Counter, "name"), "officer": (Officer, "full_name"),
              "service": (Service, "name")}
    for r in results:
        if group_by is None:
            r.key, r.label = None, str(TOTAL_LABEL)
        elif r.key is None:
            r.label = str(UNKNOWN_GROUP_LABEL)
        elif group_by == "month":
            r.label = f"{r.key[4:6]}/{r.key[:4]}"
            r.key = f"{r.key[:4]}-{r.key[4:6]}"
        elif group_by == "channel":
            r.label = label_of(CHANNEL_LABELS, r.key)
        else:
            model, attr = models[group_by]
            obj = db.session.get(model, int(r.key))
            r.label = getattr(obj, attr) if obj else r.key
