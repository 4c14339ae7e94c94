"""Shipped questionnaires: `flask seed` creates them, and replaces an unmodified older shipped revision."""

from __future__ import annotations

from sqlalchemy import select, update

from feedback_app.extensions import db
from feedback_app.models import Question, Questionnaire, QuestionnaireVersion
from feedback_app.surveys.questionnaires import new_draft_from, publish, seed_questionnaires

from . import factories


def test_the_shipped_sipas_questionnaire_asks_the_pakn_factor_after_a_screening_question(world):
    version = factories.sipas_version()
    pakn = next(f for f in version.factors if f.code == "PAKN")
    own = [q for q in version.questions if q.factor_id == pakn.id]
    assert own[0].kind == "screening" and not own[0].counts_in_index
    assert "góp ý, phản ánh, kiến nghị" in own[0].text and own[0].text_en
    assert [q.kind for q in own[1:]] == ["criterion"] * 4 + ["factor_satisfaction"]
    assert version.source == "seed:SIPAS-2640:2"


def _pretend_installed_from_revision_1(version: QuestionnaireVersion) -> None:
    """What an installation upgraded from before the screening question holds: revision 1, no screening."""
    db.session.execute(update(QuestionnaireVersion).where(QuestionnaireVersion.id == version.id)
                       .values(source="seed:SIPAS-2640:1"))
    db.session.expire_all()


def test_seed_publishes_the_new_shipped_revision_in_place_of_an_untouched_old_one(world, app):
    old = factories.sipas_version()
    _pretend_installed_from_revision_1(old)
    factories.response(world.counter_a, {"TCDV1": 5}, version=old)
    outcome = seed_questionnaires()
    assert outcome.upgraded == ["SIPAS-2640"] and outcome.created == []
    family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "SIPAS-2640"))
    current = family.current_version
    assert current.id != old.id and current.source == "seed:SIPAS-2640:2"
    assert db.session.get(QuestionnaireVersion, old.id).status == "retired"  # its responses keep it
    assert any(q.kind == "screening" for q in current.questions)
    assert seed_questionnaires().upgraded == []  # idempotent


def test_seed_never_replaces_a_version_staff_published(world):
    old = factories.sipas_version()
    _pretend_installed_from_revision_1(old)
    custom = new_draft_from(old)
    custom.questions[0].text = "Nơi ngồi chờ rộng rãi, thoáng mát"
    db.session.flush()
    publish(custom)
    outcome = seed_questionnaires()
    assert outcome.upgraded == [] and outcome.kept_custom == ["SIPAS-2640"]
    family = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "SIPAS-2640"))
    assert family.current_version.id == custom.id


def test_the_seed_command_says_what_it_did(app, world):
    old = factories.sipas_version()
    _pretend_installed_from_revision_1(old)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "New shipped revision published" in result.output and "SIPAS-2640" in result.output
    assert db.session.scalar(select(Question.id).where(Question.kind == "screening",
                                                       Question.version_id != old.id)) is not None


def test_seed_waits_while_staff_edit_a_draft_and_says_so(world):
    old = factories.sipas_version()
    _pretend_installed_from_revision_1(old)
    new_draft_from(old)
    outcome = seed_questionnaires()
    assert outcome.upgraded == [] and outcome.waiting_for_draft == ["SIPAS-2640"]
