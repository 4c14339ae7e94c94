"""Two copies of one response sent at the same moment (a kiosk retrying) are stored once."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from feedback_app.extensions import db
from feedback_app.models import Answer, Response
from feedback_app.surveys.questionnaires import seed_questionnaires
from feedback_app.surveys.specs import counter_info, version_spec
from feedback_app.surveys.submission import DuplicateSubmission, SubmissionContext, submit_response

from . import factories
from .conftest import migrated_app


def test_concurrent_copies_of_one_key_store_one_response(app, tmp_root):
    # Real transactions on their own database: the test's rolled-back session cannot show a race.
    application = migrated_app(app.config["BACKEND"], tmp_root, "concurrency")
    with application.app_context():
        seed_questionnaires()
        world = factories.build_world()
        db.session.commit()
        code, answers = world.counter_a.code, factories.full_answers(world.version, 4)
    key = uuid.uuid4().hex
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def send() -> None:
        with application.test_request_context():
            info = counter_info(code)
            ctx = SubmissionContext(channel="kiosk", counter=info,
                                    version=version_spec(info.version_id, info.version_published_at))
            db.session.commit()  # end the reading transaction: both copies start from the same point
            start.wait(timeout=10)
            try:
                submit_response(ctx, MultiDict(answers), key)
                db.session.commit()
                outcomes.append("stored")
            except DuplicateSubmission:
                db.session.rollback()
                outcomes.append("duplicate")

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with application.app_context():
        responses = db.session.scalar(select(func.count(Response.id)))
        stored_answers = db.session.scalar(select(func.count(Answer.id)))
        db.session.remove()
        db.engine.dispose()
    assert sorted(outcomes) == ["duplicate", "stored"]
    assert (responses, stored_answers) == (1, len(answers))
