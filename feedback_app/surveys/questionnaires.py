"""Questionnaires as data: load the shipped sets, clone a version to edit it, publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import (
    Factor,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionOption,
    ScaleLevel,
)
from ..timeutil import utcnow

SEED_DIR = Path(__file__).parent / "seed"
DEFAULT_CODE = "SIPAS-2640"


class QuestionnaireError(ValueError):
    """An operation on a questionnaire that its state does not allow."""


def load_seed_documents() -> list[dict[str, Any]]:
    """The questionnaires shipped with the product (2640 set and the quick rating)."""
    with open(SEED_DIR / "sipas-2640-questionnaire.yaml", encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def _english() -> dict[str, Any]:
    with open(SEED_DIR / "english.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def build_version(doc: dict[str, Any], questionnaire: Questionnaire, number: int) -> QuestionnaireVersion:
    """A draft version built from one seed document."""
    en = _english()
    code = doc["code"]
    no_opinion = doc.get("no_opinion")
    satisfied = set(doc.get("satisfied_values", []))
    version = QuestionnaireVersion(
        questionnaire=questionnaire,
        number=number,
        status="draft",
        title=doc["title"],
        title_en=en["titles"].get(code),
        no_opinion_enabled=bool(no_opinion),
        no_opinion_label=(no_opinion or {}).get("label", "Không có ý kiến"),
        no_opinion_in_denominator=bool((no_opinion or {}).get("counted_in_denominator", False)),
        source=seed_source(doc),
    )
    scale_en = en["scale"].get(code, {})
    version.scale = [
        ScaleLevel(value=s["value"], label=s["label"], label_en=scale_en.get(s["value"]),
                   is_satisfied=s["value"] in satisfied)
        for s in doc["scale"]
    ]
    position = 0
    for f_pos, f in enumerate(doc["factors"]):
        factor = Factor(code=f["code"], name=f["name"], name_en=en["factors"].get(f["code"]), position=f_pos)
        version.factors.append(factor)
        if f.get("screening"):
            position += 1
            version.questions.append(Question(
                factor=factor, code=f"{f['code']}-CO", kind="screening", text=f["screening"],
                text_en=en.get("screening_questions", {}).get(f["code"]), position=position, counts_in_index=False,
            ))
        for c in f["criteria"]:
            position += 1
            version.questions.append(Question(
                factor=factor, code=c["code"], kind="criterion", text=c["text"],
                text_en=en["criteria"].get(c["code"]), position=position,
            ))
        if f.get("satisfaction_question"):
            position += 1
            version.questions.append(Question(
                factor=factor, code=f"{f['code']}-HL", kind="factor_satisfaction",
                text=f["satisfaction_question"], text_en=en["satisfaction_questions"].get(f["code"]),
                position=position,
            ))
    if doc.get("overall_question"):
        position += 1
        version.questions.append(Question(
            code="TONGTHE", kind="overall", text=doc["overall_question"], text_en=en["overall_question"],
            position=position, counts_in_index=False,
        ))
    if doc.get("expectations"):
        exp = doc["expectations"]
        position += 1
        question = Question(
            code="MONGDOI", kind="expectations", text=exp["question"], text_en=en["expectations_question"],
            position=position, required=False, counts_in_index=False, max_choices=exp.get("max_choices"),
        )
        question.options = [
            QuestionOption(position=i, text=t, text_en=(en["expectations_options"][i]
                                                     if i < len(en["expectations_options"]) else None))
            for i, t in enumerate(exp["options"])
        ]
        version.questions.append(question)
    if doc.get("comment_question"):
        position += 1
        version.questions.append(Question(
            code="YKIENKHAC", kind="comment", text=doc["comment_question"], text_en=en["comment_question"],
            position=position, required=False, counts_in_index=False,
        ))
    return version


def seed_source(doc: dict[str, Any]) -> str:
    """How a version built from a shipped document is marked: code and revision."""
    return f"seed:{doc['code']}:{int(doc.get('revision', 1))}"


def _seed_revision(source: str | None, code: str) -> int | None:
    """The shipped revision a version was built from; None for versions staff made."""
    prefix = f"seed:{code}:"
    if source and source.startswith(prefix) and source[len(prefix):].isdigit():
        return int(source[len(prefix):])
    return None


@dataclass
class SeedOutcome:
    """What `flask seed` did to each shipped questionnaire."""

    created: list[str] = field(default_factory=list)
    upgraded: list[str] = field(default_factory=list)
    kept_custom: list[str] = field(default_factory=list)
    waiting_for_draft: list[str] = field(default_factory=list)  # a newer shipped revision, but a draft is open


def seed_questionnaires() -> SeedOutcome:
    """Create and publish the shipped questionnaires that are missing; where a family's current version is
    an older shipped revision nobody replaced, publish the new revision in its place (idempotent)."""
    outcome = SeedOutcome()
    for doc in load_seed_documents():
        code = doc["code"]
        family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == code))
        if family is None:
            family = Questionnaire(code=code, title=doc["title"], is_default=code == DEFAULT_CODE)
            db.session.add(family)
            version = build_version(doc, family, 1)
            db.session.add(version)
            db.session.flush()
            publish(version)
            outcome.created.append(code)
            continue
        current = family.current_version
        shipped = int(doc.get("revision", 1))
        revision = _seed_revision(current.source, code) if current else None
        if current is not None and revision is None:
            outcome.kept_custom.append(code)  # staff published their own version: theirs stays
        elif revision is not None and revision < shipped:
            if any(v.status == "draft" for v in family.versions):
                outcome.waiting_for_draft.append(code)  # staff are editing a new version: theirs goes first
                continue
            version = build_version(doc, family, max(v.number for v in family.versions) + 1)
            db.session.add(version)
            db.session.flush()
            publish(version)
            outcome.upgraded.append(code)
    db.session.flush()
    return outcome


def default_questionnaire() -> Questionnaire | None:
    """The questionnaire counters use unless they name another."""
    return db.session.scalar(select(Questionnaire).where(Questionnaire.is_default.is_(True)))


def publish(version: QuestionnaireVersion) -> None:
    """Publish a draft; the previously published version of the family is retired (its responses stay)."""
    if version.status != "draft":
        raise QuestionnaireError(_("Chỉ phiên bản nháp mới được công bố."))
    if not any(q.is_scale for q in version.questions):
        raise QuestionnaireError(_("Phiên bản cần ít nhất một câu hỏi theo thang đánh giá."))
    for other in version.questionnaire.versions:
        if other is not version and other.status == "published":
            other.status = "retired"
    version.status = "published"
    version.published_at = utcnow()
    db.session.flush()


def new_draft_from(version: QuestionnaireVersion) -> QuestionnaireVersion:
    """Copy a version into a new draft to be edited: the only way to change a published questionnaire."""
    family = version.questionnaire
    if any(v.status == "draft" for v in family.versions):
        raise QuestionnaireError(_("Bộ câu hỏi này đã có một phiên bản nháp; hãy sửa hoặc công bố phiên bản đó."))
    number = max(v.number for v in family.versions) + 1
    draft = QuestionnaireVersion(
        questionnaire_id=family.id, number=number, status="draft", title=version.title, title_en=version.title_en,
        no_opinion_enabled=version.no_opinion_enabled, no_opinion_label=version.no_opinion_label,
        no_opinion_label_en=version.no_opinion_label_en,
        no_opinion_in_denominator=version.no_opinion_in_denominator,
    )
    db.session.add(draft)
    draft.scale = [ScaleLevel(value=s.value, label=s.label, label_en=s.label_en, is_satisfied=s.is_satisfied)
                   for s in version.scale]
    factor_map = {}
    for f in version.factors:
        factor_map[f.id] = Factor(code=f.code, name=f.name, name_en=f.name_en, position=f.position, weight=f.weight)
        draft.factors.append(factor_map[f.id])
    for q in version.questions:
        copy = Question(
            factor=factor_map.get(q.factor_id), code=q.code, kind=q.kind, text=q.text, text_en=q.text_en,
            position=q.position, required=q.required, counts_in_index=q.counts_in_index,
            max_choices=q.max_choices,
        )
        copy.options = [QuestionOption(position=o.position, text=o.text, text_en=o.text_en) for o in q.options]
        draft.questions.append(copy)
    db.session.flush()
    db.session.refresh(family)  # its versions list now includes the draft
    return draft
