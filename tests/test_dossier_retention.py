"""Dossiers' personal data is erased after the retention period; the dossier's facts stay."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from feedback_app.dossiers.retention import erase_expired
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Dossier


def _dossier(world, code: str, returned: date | None) -> Dossier:
    dossier = Dossier(code=code, agency_id=world.agency.id, procedure_name="Cấp giấy phép xây dựng",
                      citizen_name="Phạm Thị Dung", phone="0901815908", email="dung@example.vn",
                      received_date=date(2024, 1, 2), appointment_date=date(2024, 1, 20), returned_date=returned,
                      status="returned" if returned else "processing", channel="online")
    db.session.add(dossier)
    db.session.flush()
    return dossier


def test_personal_data_of_old_dossiers_is_erased_and_the_rest_kept(app, world):
    today = date(2026, 12, 3)
    days = app.config["DOSSIER_RETENTION_DAYS"]
    old = _dossier(world, "H34-OLD-1", today - timedelta(days=days + 1))
    recent = _dossier(world, "H34-NEW-1", today - timedelta(days=days - 1))
    open_one = _dossier(world, "H34-OPEN-1", None)
    assert erase_expired(today) == 1
    db.session.expire_all()
    assert (old.citizen_name, old.phone, old.email) == (None, None, None)
    assert old.personal_data_erased_at is not None and old.procedure_name == "Cấp giấy phép xây dựng"
    assert recent.phone == "0901815908" and open_one.phone == "0901815908"
    assert db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "dossier.erase_expired")) == {
        "dossiers": 1, "retention_days": days}
    assert erase_expired(today) == 0


def test_a_cancelled_dossier_is_erased_too(app, world):
    # Never returned, so never past "returned before the cutoff": its citizen's data stayed forever.
    from datetime import UTC, datetime

    today = date(2026, 12, 3)
    days = app.config["DOSSIER_RETENTION_DAYS"]
    old = _dossier(world, "H34-CANCEL-1", None)
    recent = _dossier(world, "H34-CANCEL-2", None)
    old.status = recent.status = "cancelled"
    old.updated_at = datetime(2026, 12, 3, tzinfo=UTC) - timedelta(days=days + 1)
    recent.updated_at = datetime(2026, 12, 3, tzinfo=UTC) - timedelta(days=days - 1)
    db.session.flush()
    assert erase_expired(today) == 1
    db.session.expire_all()
    assert (old.citizen_name, old.phone, old.email) == (None, None, None)
    assert recent.phone == "0901815908"

def test_old_sms_texts_are_blanked_and_their_outcome_kept(app, world):
    from datetime import UTC, datetime

    from feedback_app.models import InboundSms
    from feedback_app.sms.retention import ERASED, erase_old_messages

    now = datetime(2026, 12, 3, tzinfo=UTC)
    old = InboundSms(provider="twilio", provider_message_id="SM-old", phone_hash="a" * 64, phone_masked="0905***456",
                     body="PA đường hỏng trước nhà tôi, 12 Lê Lợi", outcome="complaint",
                     received_at=now - timedelta(days=app.config["SMS_INBOUND_KEPT_DAYS"] + 1))
    new = InboundSms(provider="twilio", provider_message_id="SM-new", phone_hash="a" * 64, phone_masked="0905***456",
                     body="5", outcome="answer", received_at=now - timedelta(days=1))
    db.session.add_all([old, new])
    db.session.flush()
    assert erase_old_messages(now) == 1
    db.session.expire_all()
    assert (old.body, old.phone_masked, old.outcome) == (ERASED, "", "complaint")
    assert new.body == "5" and new.phone_masked == "0905***456"
    assert erase_old_messages(now) == 0
