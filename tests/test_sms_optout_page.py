"""Staff record a citizen's request to stop (or resume) survey SMS; the send rules then honour it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import AuditEvent, SmsOptOut
from feedback_app.phones import phone_hash
from feedback_app.sms.invitations import opted_out

from . import factories

pytestmark = pytest.mark.usefixtures("db_session")


def _post(client, **data):
    token = factories.csrf_token(client, "/admin/sms/tu-choi")
    return client.post("/admin/sms/tu-choi", data={"csrf_token": token, **data})


def test_the_hotline_records_an_opt_out_and_an_opt_in(client, login_as, world):
    login_as("hotline")
    assert _post(client, phone="0905 123 456", action="out").status_code == 303
    assert opted_out(phone_hash("0905123456"))
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sms.opt_out"))
    assert audit.details["phone"] == "0905***456"  # the number itself is never written down
    assert _post(client, phone="+84905123456", action="in").status_code == 303
    assert not opted_out(phone_hash("0905123456"))


def test_a_wrong_number_is_refused_with_what_to_fix(client, login_as, world):
    login_as("office")
    response = _post(client, phone="12ab", action="out")
    assert response.status_code == 400
    assert "Hãy nhập 10 chữ số" in response.get_data(as_text=True)
    assert db.session.scalar(select(SmsOptOut)) is None


@pytest.mark.parametrize("role", ["counter", "unit", "viewer"])
def test_other_roles_may_not(client, login_as, world, role):
    login_as(role)
    assert client.get("/admin/sms/tu-choi").status_code == 403
