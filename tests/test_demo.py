"""The demo data: true to the 2025 organisation, and consistent with the questionnaire it answers."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from feedback_app.complaints.deadlines import due_status
from feedback_app.demo import load_demo_data
from feedback_app.extensions import db
from feedback_app.models import (
    Answer,
    ApologySlip,
    Complaint,
    Counter,
    Dossier,
    HotlineCall,
    OrgUnit,
    Question,
    Response,
    Service,
    SmsOptOut,
    SurveyInvitation,
)
from feedback_app.timeutil import as_utc, utcnow

from .conftest import migrated_app


def test_demo_is_true_to_the_2025_organisation_and_to_its_questionnaire(app, tmp_root):
    application = migrated_app(app.config["BACKEND"], tmp_root, "demo")
    with application.app_context():
        load_demo_data()
        db.session.commit()
        sxd = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "SXD"))
        offered = db.session.scalars(select(Service.name).where(Service.agency_id == sxd.id,
                                                                Service.active.is_(True))).all()
        # Since 1 March 2025 driving licences are issued by the police, not by Sở Xây dựng.
        assert offered and not [name for name in offered if "lái xe" in name]
        assert all("người lái" not in c.name for c in db.session.scalars(select(Counter)))
        former = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "SGTVT"))
        assert former.valid_to == date(2025, 2, 28)
        latest = db.session.scalar(select(func.max(Response.local_date)).where(Response.unit_id == former.id))
        assert latest < date(2025, 3, 1)
        # The PAKN factor's questions are answered only by citizens who said they gave feedback.
        screening = db.session.scalar(select(Question).where(Question.kind == "screening"))
        pakn_ids = select(Question.id).where(Question.factor_id == screening.factor_id,
                                             Question.kind != "screening")
        said_no = select(Answer.response_id).where(Answer.question_id == screening.id, Answer.value == 0)
        assert db.session.scalar(select(func.count(Answer.id)).where(
            Answer.question_id.in_(pakn_ids), Answer.response_id.in_(said_no))) == 0
        said_yes = db.session.scalar(select(func.count(Answer.id)).where(Answer.question_id == screening.id,
                                                                         Answer.value == 1))
        total = db.session.scalar(select(func.count(Response.id)))
        assert 0.2 < said_yes / total < 0.5
        # The PAKN queue shows a real day's work: every step, overdue items, a published answer, hotline calls.
        states = set(db.session.scalars(select(Complaint.state)))
        assert {"received", "assigned", "drafted", "approved", "notified", "published", "closed"} <= states
        assert any(due_status(c) == "overdue" for c in db.session.scalars(select(Complaint)))
        assert db.session.scalar(select(func.count(HotlineCall.id))) >= 14
        # Every call is in the past, on every database (SQLite keeps the wall time it is given: UTC it must be).
        latest_call = db.session.scalar(select(func.max(HotlineCall.started_at)))
        assert as_utc(latest_call) < utcnow() - timedelta(hours=6)
        # The one-stop feed: dossiers, their invitations along the whole funnel, slips, SMS from citizens.
        assert db.session.scalar(select(func.count(Dossier.id))) == 80
        funnel = dict(db.session.execute(select(SurveyInvitation.status, func.count()).group_by(
            SurveyInvitation.status)).all())
        assert funnel.get("answered", 0) > 0 and funnel.get("sent", 0) > 0 and funnel.get("skipped", 0) > 0
        sms_answers = db.session.scalars(select(Response.is_demo).where(Response.channel == "sms")).all()
        assert len(sms_answers) == funnel["answered"] and all(sms_answers)
        assert db.session.scalar(select(func.count(ApologySlip.id))) == 2
        assert db.session.scalar(select(func.count(Complaint.id)).where(Complaint.channel == "sms")) == 1
        assert db.session.scalar(select(func.count(SmsOptOut.phone_hash))) == 1
        db.session.remove()
        db.engine.dispose()
