"""The receipt e-mail says what was received: a khiếu nại or tố cáo goes under its own law (no PAKN deadline), a
PAKN with the sender's details gets its deadline, an anonymous góp ý is told it has none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_app.complaints.intake import Intake, Sender, submit
from feedback_app.complaints.policies import seed_policies
from feedback_app.extensions import db
from feedback_app.models import OutboxMessage

FULL = Sender(name="Lê Văn Tám", address="12 Yersin, Nha Trang", phone="0905 123 456", email="tam@example.vn")
ANONYMOUS_GOP_Y = "Góp ý không ghi đủ họ tên"


@pytest.fixture
def policies(db_session):
    seed_policies()
    db_session.commit()


def _receipt(world, nature: str, sender: Sender = FULL, kind: str = "phan_anh") -> str:
    complaint, _secret = submit(Intake(agency_id=world.agency.id, kind=kind, nature=nature, channel="letter",
                                       content="Nội dung đơn.", sender=sender, consent=True))
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.entity_id == complaint.id,
                                                              OutboxMessage.kind == "pakn_receipt"))
    assert body is not None and complaint.code in body
    return body


@pytest.mark.parametrize(("nature", "word", "law", "english"), [
    ("khieu_nai", "đơn khiếu nại", "Luật Khiếu nại", "Law on Complaints"),
    ("to_cao", "đơn tố cáo", "Luật Tố cáo", "Law on Denunciations"),
])
def test_a_khieu_nai_or_to_cao_is_received_under_its_own_law(world, policies, nature, word, law, english):
    body = _receipt(world, nature)
    assert f"đã tiếp nhận {word}" in body and law in body and english in body
    assert "không áp dụng thời hạn trả lời phản ánh, kiến nghị" in body
    assert "đã tiếp nhận phản ánh, kiến nghị" not in body and "Hạn trả lời" not in body
    assert ANONYMOUS_GOP_Y not in body
    assert ("giữ bí mật" in body) == (nature == "to_cao")


def test_a_pakn_with_the_senders_details_gets_its_deadline(world, policies):
    body = _receipt(world, "pakn")
    assert "đã tiếp nhận phản ánh, kiến nghị" in body and "Hạn trả lời:" in body
    assert ANONYMOUS_GOP_Y not in body and "Luật" not in body


def test_an_anonymous_gop_y_is_told_it_runs_on_no_deadline(world, policies):
    body = _receipt(world, "pakn", Sender(email="an.danh@example.vn"), kind="gop_y")
    assert "đã tiếp nhận góp ý" in body and ANONYMOUS_GOP_Y in body and "Hạn trả lời" not in body
