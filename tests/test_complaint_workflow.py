"""The PAKN workflow on the model: every legal move, and every illegal one refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm.exc import StaleDataError

from feedback_app.extensions import db
from feedback_app.models import Complaint
from feedback_app.models.survey import IllegalTransition


def _item(world, **kw) -> Complaint:
    item = Complaint(secret_hash="0" * 64, kind=kw.pop("kind", "phan_anh"), channel=kw.pop("channel", "web"),
                     agency_id=world.agency.id, content="Quầy 20 hẹn trả kết quả nhưng trễ 3 ngày.",
                     received_at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC), legal=True, **kw)
    db.session.add(item)
    db.session.flush()
    item.code = f"PA-2026-{item.id:06d}"
    return item


def test_the_whole_way_from_receipt_to_closure(world, db_session):
    item = _item(world)
    item.classify("handle")
    item.assign(world.unit_a.id)
    item.draft_answer("Đơn vị đã xác minh và xin lỗi Ông/Bà.", user_id=None)
    item.return_draft("Chưa trả lời vì sao trễ hẹn.")
    assert item.state == "assigned"
    item.draft_answer("Hồ sơ trễ do thiếu xác nhận; đã trả kết quả ngày 05/11.", user_id=None)
    item.approve(user_id=None)
    item.notify()
    assert (item.state, item.outcome) == ("notified", "answered")
    item.publish("Hồ sơ trễ do thiếu xác nhận; đã trả kết quả.", "Đã trả kết quả ngày 05/11.")
    item.close()
    assert item.state == "closed" and item.closed_at is not None


@pytest.mark.parametrize(("move", "state"), [
    (lambda i, w: i.assign(w.unit_a.id), "received"),
    (lambda i, w: i.draft_answer("x", None), "received"),
    (lambda i, w: i.approve(None), "received"),
    (lambda i, w: i.notify(), "received"),
    (lambda i, w: i.publish("x", "y"), "received"),
    (lambda i, w: i.close(), "received"),
    (lambda i, w: i.classify("handle"), "assigned"),
    (lambda i, w: i.return_draft("lý do"), "assigned"),
    (lambda i, w: i.publish("x", "y"), "approved"),
])
def test_a_move_out_of_order_is_refused_and_changes_nothing(world, db_session, move, state):
    item = _item(world, state=state)
    before = (item.state, item.outcome, item.unit_id)
    with pytest.raises(IllegalTransition):
        move(item, world)
    assert (item.state, item.outcome, item.unit_id) == before


def test_not_accepted_and_forwarded_need_their_reason_and_go_straight_to_the_sender(world, db_session):
    item = _item(world)
    with pytest.raises(IllegalTransition):
        item.classify("not_accepted")
    with pytest.raises(IllegalTransition):
        item.classify("forwarded")
    item.classify("forwarded", forwarded_to="Công an tỉnh Khánh Hòa")
    with pytest.raises(IllegalTransition):
        item.assign(world.unit_a.id)  # not handled here
    item.notify()
    assert (item.state, item.outcome) == ("notified", "forwarded")
    with pytest.raises(IllegalTransition):
        item.publish("x", "y")  # only answers are published


def test_only_a_khieu_nai_or_to_cao_is_referred(world, db_session):
    with pytest.raises(IllegalTransition):
        _item(world).classify("referred", forwarded_to="Thanh tra tỉnh")
    item = _item(world, nature="khieu_nai")
    item.classify("referred", forwarded_to="Thanh tra tỉnh")
    assert item.outcome == "referred"


def test_a_duplicate_follows_its_main_item_and_gets_its_answer(world, db_session):
    main, dup = _item(world), _item(world)
    dup.mark_duplicate(main)
    with pytest.raises(IllegalTransition):
        main.mark_duplicate(dup)  # a duplicate is never a main item
    with pytest.raises(IllegalTransition):
        dup.mark_duplicate(dup)
    main.classify("handle")
    main.assign(world.unit_a.id)
    main.draft_answer("Trả lời chung.", None)
    main.approve(None)
    main.notify()
    dup.follow(main)
    assert (dup.state, dup.answer_text, dup.outcome) == ("notified", "Trả lời chung.", "duplicate")


def test_two_people_acting_on_one_item_cannot_silently_overwrite_each_other(app, tmp_root):
    """Both read version 1; the first to save wins, the second's flush finds no row of that version."""
    from sqlalchemy.orm import Session

    from feedback_app.surveys.questionnaires import seed_questionnaires

    from . import factories
    from .conftest import migrated_app

    application = migrated_app(app.config["BACKEND"], tmp_root, "complaint_versions")
    with application.app_context():
        seed_questionnaires()
        world = factories.build_world()
        item_id = _item(world).id
        db.session.commit()
        with Session(db.engine) as first, Session(db.engine, expire_on_commit=False) as second:
            theirs = second.get(Complaint, item_id)
            second.commit()  # the page they act on was read earlier, in its own request
            mine = first.get(Complaint, item_id)
            mine.classify("handle")
            first.commit()
            theirs.classify("not_accepted", reason="Không thuộc thẩm quyền")
            with pytest.raises(StaleDataError):
                second.commit()
        assert db.session.get(Complaint, item_id, populate_existing=True).outcome is None  # the first one kept
        db.session.remove()
        db.engine.dispose()


def test_erasing_personal_data_keeps_the_matter(world, db_session):
    item = _item(world, sender_name="Nguyễn Văn A", sender_phone="0905123456", sender_address="Nha Trang",
                 sender_email="a@example.vn")
    item.erase_personal_data()
    assert (item.sender_name, item.sender_phone, item.sender_address, item.sender_email) == (None,) * 4
    assert item.content and item.personal_erased_at is not None
