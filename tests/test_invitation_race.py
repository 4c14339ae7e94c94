"""One invitation per phone per period holds when two imports save dossiers of one phone at the same moment.

Its own module: the invitation tests run inside the rolled-back test session, and these threads need real
commits on their own database.
"""

from __future__ import annotations

import threading

import pytest

from feedback_app.extensions import db
from feedback_app.models import Dossier
from feedback_app.sms.invitations import schedule_invitation
from feedback_app.surveys.questionnaires import seed_questionnaires

from . import factories
from .conftest import migrated_app
from .invitation_helpers import dossier


def test_two_imports_at_once_invite_one_phone_once(app, tmp_root):
    """Real transactions: two dossiers of one phone saved at the same moment by two imports; one is invited, the
    other is skipped as a recent invitation (PostgreSQL; SQLite runs one writer at a time)."""
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's; SQLite runs one writer at a time")
    application = migrated_app("postgresql", tmp_root, "invite_race")
    with application.app_context():
        seed_questionnaires()
        world = factories.build_world()
        ids = [dossier(world.agency.id, phone="0905 123 456").id for _ in range(2)]
        db.session.commit()
        db.session.remove()
    start, outcomes = threading.Barrier(2), []

    def save(dossier_id: int) -> None:
        with application.app_context():
            row = db.session.get(Dossier, dossier_id)
            db.session.commit()
            start.wait(timeout=10)
            outcomes.append(schedule_invitation(row).status)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=save, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with application.app_context():
        db.engine.dispose()
    assert sorted(outcomes) == ["scheduled", "skipped"]
