"""The SIPAS index against hand-computed examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from feedback_app.surveys.index import IndexFilters, compute_index

from . import factories


def _filters(world, **kw) -> IndexFilters:
    kw.setdefault("date_from", date(2026, 10, 1))
    kw.setdefault("date_to", date(2026, 10, 31))
    return IndexFilters(questionnaire_id=world.version.questionnaire_id, **kw)


def _factor(result, code):
    return next(f for f in result.factors if f.code == code)


def test_factor_percentage_counts_4_and_5_over_answers_1_to_5(world):
    # TCDV: 5, 4, 3, 2 -> 2 satisfied of 4 = 50%; plus one "no opinion" left out of the denominator.
    factories.response(world.counter_a, {"TCDV1": 5, "TCDV2": 4, "TCDV3": 3, "TCDV4": "na", "TCDV-HL": 2})
    [total] = compute_index(_filters(world))
    tcdv = _factor(total, "TCDV")
    assert (tcdv.satisfied, tcdv.answers, tcdv.no_opinion, tcdv.denominator) == (2, 4, 1, 4)
    assert tcdv.satisfied_pct == 50.0
    assert total.responses == 1


def test_overall_index_is_the_mean_of_factor_percentages(world):
    # Response 1: TCDV 5,5 (2/2); CCPV 4,1 (1/2). Response 2: TCDV 1 (0/1); CCPV 5 (1/1).
    factories.response(world.counter_a, {"TCDV1": 5, "TCDV2": 5, "CCPV1": 4, "CCPV2": 1})
    factories.response(world.counter_a, {"TCDV1": 1, "CCPV1": 5})
    [total] = compute_index(_filters(world))
    assert _factor(total, "TCDV").satisfied_pct == pytest.approx(66.67)  # 2 of 3
    assert _factor(total, "CCPV").satisfied_pct == pytest.approx(66.67)  # 2 of 3
    assert _factor(total, "TTHC").satisfied_pct is None  # no answers: left out of the mean
    assert total.overall_pct == pytest.approx(66.67)
    assert total.responses == 2


def test_unequal_factor_results_average_without_weighting_by_answer_count(world):
    # TCDV: 1 of 1 = 100%; TTHC: 1 of 4 = 25%  -> overall (100 + 25) / 2 = 62.5, not 2/5 = 40.
    factories.response(world.counter_a, {"TCDV1": 5, "TTHC1": 4, "TTHC2": 1, "TTHC3": 2, "TTHC4": 3})
    [total] = compute_index(_filters(world))
    assert total.overall_pct == 62.5


def test_factor_weights_change_the_overall_index(world, db_session):
    factories.response(world.counter_a, {"TCDV1": 5, "TTHC1": 1})
    tcdv = next(f for f in world.version.factors if f.code == "TCDV")
    # Weights are data of the version; set directly here as a draft copy would carry them.
    db_session.execute(tcdv.__table__.update().where(tcdv.__table__.c.id == tcdv.id).values(weight=Decimal(3)))
    db_session.expire_all()
    [total] = compute_index(_filters(world))
    assert total.overall_pct == 75.0  # (100*3 + 0*1) / 4


def test_empty_period_gives_no_figure_and_zero_counts(world):
    factories.response(world.counter_a, {"TCDV1": 5}, day=date(2026, 9, 30))
    [total] = compute_index(_filters(world))
    assert total.responses == 0
    assert total.overall_pct is None
    assert all(f.satisfied_pct is None and f.answers == 0 for f in total.factors)
    assert [f.code for f in total.factors] == ["TCDV", "TTHC", "CCPV", "KQGQ", "PAKN"]


def test_only_no_opinion_answers_give_no_figure(world):
    factories.response(world.counter_a, {"PAKN1": "na", "PAKN2": "na"})
    [total] = compute_index(_filters(world))
    pakn = _factor(total, "PAKN")
    assert (pakn.no_opinion, pakn.denominator, pakn.satisfied_pct) == (2, 0, None)
    assert total.responses == 1


def test_overall_question_is_reported_but_not_in_the_factor_index(world):
    factories.response(world.counter_a, {"TCDV1": 5, "TONGTHE": 1})
    [total] = compute_index(_filters(world))
    assert total.overall_pct == 100.0


def test_flagged_responses_count_only_once_accepted(world):
    factories.response(world.counter_a, {"TCDV1": 5})
    factories.response(world.counter_a, {"TCDV1": 1}, review_status="pending")
    factories.response(world.counter_a, {"TCDV1": 1}, review_status="rejected")
    [total] = compute_index(_filters(world))
    assert (_factor(total, "TCDV").satisfied_pct, total.responses) == (100.0, 1)
    factories.response(world.counter_a, {"TCDV1": 2}, review_status="accepted")
    [total] = compute_index(_filters(world))
    assert (_factor(total, "TCDV").satisfied_pct, total.responses) == (50.0, 2)


def test_group_by_counter_officer_channel_and_month(world):
    factories.response(world.counter_a, {"TCDV1": 5}, officer_=world.officer_a, channel="kiosk")
    factories.response(world.counter_b, {"TCDV1": 2}, officer_=world.officer_b, channel="qr",
                       day=date(2026, 10, 20))
    by_counter = {r.label: r for r in compute_index(_filters(world), group_by="counter")}
    assert by_counter[world.counter_a.name].overall_pct == 100.0
    assert by_counter[world.counter_b.name].overall_pct == 0.0
    by_officer = {r.label: r.responses for r in compute_index(_filters(world), group_by="officer")}
    assert by_officer == {"Nguyễn Thị Mai": 1, "Trần Quốc Bảo": 1}
    by_channel = {r.key: r.overall_pct for r in compute_index(_filters(world), group_by="channel")}
    assert by_channel == {"kiosk": 100.0, "qr": 0.0}
    months = compute_index(_filters(world, date_from=date(2026, 9, 1)), group_by="month")
    assert [(m.key, m.label, m.responses) for m in months] == [("2026-10", "10/2026", 2)]


def test_unit_filter_includes_sub_units(world):
    factories.response(world.counter_a, {"TCDV1": 5})
    factories.response(world.counter_b, {"TCDV1": 1})
    from feedback_app.scoping import unit_with_descendants

    [only_a] = compute_index(_filters(world, unit_ids=unit_with_descendants([world.unit_a.id])))
    [agency] = compute_index(_filters(world, unit_ids=unit_with_descendants([world.agency.id])))
    assert (only_a.responses, only_a.overall_pct) == (1, 100.0)
    assert (agency.responses, agency.overall_pct) == (2, 50.0)


def test_quick_rating_uses_its_own_scale(world):
    version = factories.quick_version()
    # 3-level scale: 2 and 3 are satisfied.
    factories.response(world.counter_a, {"NHANH1": 3}, version=version)
    factories.response(world.counter_a, {"NHANH1": 2}, version=version)
    factories.response(world.counter_a, {"NHANH1": 1}, version=version)
    [total] = compute_index(IndexFilters(questionnaire_id=version.questionnaire_id))
    assert total.overall_pct == pytest.approx(66.67)
    [sipas] = compute_index(_filters(world))
    assert sipas.responses == 0  # separate questionnaires are never mixed


def test_a_factor_only_an_older_version_had_keeps_the_columns_aligned(world, db_session):
    from feedback_app.surveys.questionnaires import new_draft_from, publish

    factories.response(world.counter_a, {"PAKN1": 5, "TCDV1": 4})  # answered on the old version
    draft = new_draft_from(world.version)
    dropped = next(f for f in draft.factors if f.code == "PAKN")
    for question in [q for q in draft.questions if q.factor_id == dropped.id]:
        draft.questions.remove(question)
    draft.factors.remove(dropped)
    db_session.flush()
    publish(draft)
    factories.response(world.counter_b, {"TCDV1": 5}, version=draft)
    groups = compute_index(_filters(world), group_by="counter")
    assert [[f.code for f in g.factors] for g in groups] == [["TCDV", "TTHC", "CCPV", "KQGQ", "PAKN"]] * 2
    by_counter = {g.label: g for g in groups}
    assert _factor(by_counter[world.counter_a.name], "PAKN").satisfied_pct == 100.0
    assert _factor(by_counter[world.counter_b.name], "PAKN").satisfied_pct is None


def test_demo_responses_count_only_where_the_installation_shows_the_demo(world):
    factories.response(world.counter_a, {"TCDV1": 5})
    factories.response(world.counter_a, {"TCDV1": 1}, is_demo=True)
    [real] = compute_index(_filters(world))
    assert (real.responses, real.overall_pct) == (1, 100.0)
    [with_demo] = compute_index(_filters(world, include_demo=True))
    assert (with_demo.responses, with_demo.overall_pct) == (2, 50.0)


def test_staff_figures_leave_demo_rows_out_unless_configured(client, world, login_as, app):
    factories.response(world.counter_a, {"TCDV1": 5})
    factories.response(world.counter_a, {"TCDV1": 1}, is_demo=True)
    login_as("admin")
    query = "/api/v1/sipas?from=2026-10-01&to=2026-10-31"
    assert client.get(query).get_json()["responses"] == 1
    app.config["COUNT_DEMO_RESPONSES"] = True
    try:
        assert client.get(query).get_json()["responses"] == 2
    finally:
        app.config["COUNT_DEMO_RESPONSES"] = False
