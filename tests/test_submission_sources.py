"""Where a response comes from decides the rules against stuffing (surveys/submission.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from feedback_app.extensions import db
from feedback_app.models import Answer, Response
from feedback_app.surveys.specs import counter_info, version_spec
from feedback_app.surveys.submission import (
    DuplicateSubmission,
    ParsedResponse,
    SubmissionContext,
    SurveyValidationError,
    invitation_key,
    parse_values,
    submit_parsed,
    submit_response,
)

from . import factories


def _context(world, source: str, channel: str = "qr") -> SubmissionContext:
    info = counter_info(world.counter_a.code)
    return SubmissionContext(channel=channel, counter=info, source=source, client_ip="203.0.113.9",
                             version=version_spec(info.version_id, info.version_published_at))


def _statuses(ids: list[int]) -> list[str]:
    return list(db.session.scalars(select(Response.review_status).where(Response.id.in_(ids)).order_by(Response.id)))


def test_one_address_sending_many_counter_responses_is_held_for_review(app, world):
    with app.test_request_context():
        ctx = _context(world, "counter")
        form = MultiDict(factories.full_answers(world.version, 5))
        ids = [submit_response(ctx, form, uuid.uuid4().hex) for _ in range(app.config["BURST_MAX_PER_IP"] + 2)]
        assert _statuses(ids)[-1] == "pending"


def test_invitations_answered_from_one_address_are_all_counted(app, world):
    # A whole office's citizens may answer their links behind one carrier NAT address: each link is spent once,
    # so the address says nothing and no response waits for review.
    with app.test_request_context():
        ctx = _context(world, "invitation", channel="sms")
        form = MultiDict(factories.full_answers(world.version, 5))
        ids = [submit_parsed(ctx, parse_values(ctx.counter, ctx.version, form), invitation_key(n))
               for n in range(1, app.config["BURST_MAX_PER_IP"] + 4)]
        assert set(_statuses(ids)) == {"none"}
        stored = db.session.scalars(select(Response).where(Response.id.in_(ids))).all()
        assert all(r.verified and r.client_key is None and r.channel == "sms" for r in stored)


def test_an_invitation_counts_once_whether_answered_by_link_or_reply(app, world):
    with app.test_request_context():
        link = _context(world, "invitation", channel="sms")
        form = MultiDict(factories.full_answers(world.version, 4))
        first = submit_parsed(link, parse_values(link.counter, link.version, form), invitation_key(77))
        reply = _context(world, "sms_reply", channel="sms")
        overall = next(q for q in reply.version.closing if q.kind == "overall")
        parsed = ParsedResponse([{"question_id": overall.id, "value": 2, "no_opinion": False, "option_id": None,
                                  "text": None}])
        with pytest.raises(DuplicateSubmission) as duplicate:
            submit_parsed(reply, parsed, invitation_key(77))
        assert duplicate.value.response.id == first


def test_an_sms_reply_stores_only_the_answers_it_gave(app, world):
    with app.test_request_context():
        ctx = _context(world, "sms_reply", channel="sms")
        overall = next(q for q in ctx.version.closing if q.kind == "overall")
        parsed = ParsedResponse([{"question_id": overall.id, "value": 5, "no_opinion": False, "option_id": None,
                                  "text": None}])
        response_id = submit_parsed(ctx, parsed, invitation_key(5))
        assert db.session.scalars(select(Answer.value).where(Answer.response_id == response_id)).all() == [5]


def test_kiosk_values_and_form_values_parse_the_same(app, world):
    with app.test_request_context():
        ctx = _context(world, "counter", channel="kiosk")
        answers = factories.full_answers(world.version, 3)
        as_lists = {name: [value] for name, value in answers.items()}
        assert parse_values(ctx.counter, ctx.version, as_lists) == parse_values(ctx.counter, ctx.version,
                                                                                MultiDict(answers))


def test_an_unknown_source_or_a_bad_key_is_refused(app, world):
    with app.test_request_context():
        ctx = _context(world, "carrier_pigeon")
        with pytest.raises(ValueError, match="unknown submission source"):
            submit_parsed(ctx, ParsedResponse([]), invitation_key(1))
        with pytest.raises(SurveyValidationError):
            submit_parsed(_context(world, "invitation"), ParsedResponse([]), "short")
