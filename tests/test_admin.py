"""Administration: forms keep input on errors, every change is audited, questionnaires are versioned."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Campaign, Counter, Officer, QuestionnaireVersion
from feedback_app.models.survey import PublishedVersionError

from . import factories


def _post(client, path, data):
    return client.post(path, data={"csrf_token": factories.csrf_token(client, path), **data})


def test_create_counter_is_audited(client, world, login_as):
    admin = login_as("admin")
    response = _post(client, "/admin/counters/new", {
        "code": "SXD-Q30", "name": "Quầy 30", "service_centre_id": world.centre.id, "agency_id": world.agency.id,
        "questionnaire_id": "", "active": "y"})
    assert response.status_code == 302
    counter = db.session.scalar(select(Counter).where(Counter.code == "SXD-Q30"))
    assert counter.name == "Quầy 30" and counter.questionnaire_id is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "counters.create"))
    assert (event.user_id, event.entity_id) == (admin.id, str(counter.id))
    listing = client.get("/admin/counters").get_data(as_text=True)
    assert "Quầy 30" in listing and "/admin/counters/SXD-Q30/poster" in listing


def test_duplicate_code_keeps_the_input_and_says_what_to_fix(client, world, login_as):
    login_as("admin")
    response = _post(client, "/admin/counters/new", {
        "code": world.counter_a.code, "name": "Tên mới của quầy", "service_centre_id": world.centre.id,
        "agency_id": world.agency.id})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "đã được dùng" in html and 'value="Tên mới của quầy"' in html
    assert db.session.scalar(select(func.count(Counter.id))) == 2


def test_bad_dates_and_codes_get_field_messages(client, world, login_as):
    login_as("admin")
    response = _post(client, "/admin/units/new", {
        "code": "có dấu", "name": "Phòng mới", "unit_type": "phong", "parent_id": "",
        "valid_from": "31/02/2026", "valid_to": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Mã chỉ gồm chữ không dấu" in html
    assert "dd/mm/yyyy" in html and 'value="Phòng mới"' in html


def test_edit_records_what_changed(client, world, login_as):
    login_as("admin")
    path = f"/admin/officers/{world.officer_a.id}"
    response = _post(client, path, {"full_name": "Nguyễn Thị Mai Anh", "title": "Chuyên viên",
                                     "unit_id": world.unit_a.id, "counter_ids": [world.counter_a.id,
                                                                               world.counter_b.id],
                                     "active": "y"})
    assert response.status_code == 302
    officer = db.session.get(Officer, world.officer_a.id)
    assert officer.full_name == "Nguyễn Thị Mai Anh" and len(officer.counters) == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "officers.update"))
    assert event.details["full_name"] == ["Nguyễn Thị Mai", "Nguyễn Thị Mai Anh"]


def test_user_admin_hashes_password_and_never_audits_it(client, world, login_as):
    login_as("admin")
    response = _post(client, "/admin/users/new", {"email": "New.User@Example.gov.vn", "full_name": "Người mới",
                                                  "role": "viewer", "org_unit_id": world.agency.id,
                                                  "officer_id": "", "active": "y",
                                                  "new_password": "mot-mat-khau-dai"})
    assert response.status_code == 302
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "users.create")).all()
    assert events and all("mot-mat-khau-dai" not in str(e.details) for e in events)
    assert events[0].details["new_password_changed"] is True and events[0].details["role"] == "viewer"
    missing = _post(client, "/admin/users/new", {"email": "b@example.gov.vn", "full_name": "B", "role": "viewer",
                                                 "org_unit_id": world.agency.id, "officer_id": ""})
    assert missing.status_code == 400 and "cần mật khẩu" in missing.get_data(as_text=True)


def test_campaign_target_sample_from_the_formula_and_progress(client, world, login_as):
    login_as("office")
    factories.response(world.counter_a, {"TCDV1": 5})
    db.session.commit()
    response = _post(client, "/admin/campaigns/new", {
        "name": "Đợt khảo sát quý IV", "period_start": "01/10/2026", "period_end": "31/12/2026",
        "unit_ids": [world.agency.id], "channels": ["kiosk", "qr"], "expected_transactions": "3200",
        "margin": "0.05", "target_sample": ""})
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert campaign.target_sample == 356
    assert "1/356 phiếu" in client.get("/admin/campaigns").get_data(as_text=True)


def test_office_cannot_put_a_kiosk_outside_its_scope(client, world, login_as):
    other_agency = factories.unit("Sở khác", "so", parent=world.province)
    foreign = factories.counter(other_agency, world.centre)
    db.session.commit()
    login_as("office", unit=world.unit_a)
    response = _post(client, "/admin/kiosks/new", {"name": "Máy lạ", "counter_id": foreign.id, "active": "y"})
    assert response.status_code == 400
    assert 'value="Máy lạ"' in response.get_data(as_text=True)  # what was typed is kept
    from feedback_app.models import KioskDevice

    assert db.session.scalar(select(func.count(KioskDevice.id))) == 0


def test_published_questionnaire_is_never_edited_in_place(db_session, world):
    question = world.version.questions[0]
    question.text = "Sửa trực tiếp"
    with pytest.raises(PublishedVersionError):
        db_session.flush()
    db_session.rollback()


def test_new_version_edit_and_publish_keeps_old_responses(client, world, login_as):
    old = factories.response(world.counter_a, {"TCDV1": 5})
    db.session.commit()
    login_as("admin")
    page = client.get("/admin/questionnaires")
    token = factories.csrf_token(client, "/admin/questionnaires")
    response = client.post(f"/admin/questionnaires/versions/{world.version.id}/new", data={"csrf_token": token})
    assert response.status_code == 303 and page.status_code == 200
    draft = db.session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.status == "draft"))
    first = draft.questions[0]
    path = f"/admin/questionnaires/versions/{draft.id}"
    data = {f"text-{q.id}": q.text for q in draft.questions} | {f"weight-{f.id}": "1" for f in draft.factors}
    data |= {"title": draft.title, "no_opinion_enabled": "y", f"text-{first.id}": "Nơi chờ có đủ ghế ngồi"}
    empty = _post(client, path, data | {f"text-{draft.questions[1].id}": ""})
    assert empty.status_code == 400 and "không được để trống" in empty.get_data(as_text=True)
    assert _post(client, path, data).status_code == 303
    token = factories.csrf_token(client, path)
    assert client.post(f"{path}/publish", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(QuestionnaireVersion, world.version.id).status == "retired"
    assert draft.status == "published" and draft.questions[0].text == "Nơi chờ có đủ ghế ngồi"
    assert old.version_id == world.version.id  # old responses keep their version
    assert "Nơi chờ có đủ ghế ngồi" in client.get(f"/q/{world.counter_a.code}").get_data(as_text=True)
    # Editing the now-published version is refused.
    refused = _post(client, path, data)
    assert refused.status_code == 409


def test_officer_photo_upload_is_shown_on_the_kiosk(client, world, login_as):
    import io

    from PIL import Image

    login_as("admin")
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "navy").save(buffer, format="PNG")
    path = f"/admin/officers/{world.officer_a.id}"
    data = {"csrf_token": factories.csrf_token(client, path), "full_name": world.officer_a.full_name,
            "unit_id": world.unit_a.id, "counter_ids": [world.counter_a.id], "active": "y",
            "photo": (io.BytesIO(buffer.getvalue()), "mai.png")}
    assert client.post(path, data=data, content_type="multipart/form-data").status_code == 302
    photo = client.get(f"/officers/{world.officer_a.id}/photo.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(photo.data)).size == (256, 256)
    bad = {**data, "csrf_token": factories.csrf_token(client, path), "photo": (io.BytesIO(b"not an image"), "x.png")}
    response = client.post(path, data=bad, content_type="multipart/form-data")
    assert response.status_code == 400 and "Không đọc được ảnh" in response.get_data(as_text=True)
    assert client.get(f"/officers/{world.officer_b.id}/photo.jpg").status_code == 404  # no photo


def test_the_office_keeps_its_own_departments_records(client, world, login_as):
    """The Văn phòng of unit A lists, edits and creates counters, officers and targets of its scope only."""
    login_as("office", unit=world.unit_a)
    for path in ("/admin/counters", "/admin/officers", "/admin/units", "/admin/services", "/admin/targets"):
        assert client.get(path).status_code == 200, path
    counters = client.get("/admin/counters").get_data(as_text=True)
    assert world.counter_a.name in counters and world.counter_b.name not in counters
    assert client.get(f"/admin/counters/{world.counter_b.id}").status_code == 404
    assert client.get(f"/admin/officers/{world.officer_b.id}").status_code == 404
    renamed = _post(client, f"/admin/counters/{world.counter_a.id}", {
        "code": world.counter_a.code, "name": "Quầy A (mới)", "service_centre_id": world.centre.id,
        "agency_id": world.unit_a.id, "questionnaire_id": "", "active": "y"})
    assert renamed.status_code == 302
    moved = _post(client, f"/admin/counters/{world.counter_a.id}", {
        "code": world.counter_a.code, "name": "Quầy A", "service_centre_id": world.centre.id,
        "agency_id": world.unit_b.id, "questionnaire_id": "", "active": "y"})
    assert moved.status_code == 400  # another department's unit is not a choice
    db.session.expire_all()
    assert db.session.get(Counter, world.counter_a.id).agency_id == world.unit_a.id
    # The poster's way back is a page the office may open.
    poster = client.get(f"/admin/counters/{world.counter_a.code}/poster").get_data(as_text=True)
    assert 'href="/admin/counters"' in poster
    # Its own top unit is left to administrators; a new unit goes under it.
    own = _post(client, f"/admin/units/{world.unit_a.id}", {
        "code": world.unit_a.code, "name": "Tên khác", "unit_type": "phong", "parent_id": "",
        "valid_from": "01/01/2000"})
    assert own.status_code == 400
    created = _post(client, "/admin/units/new", {"code": "A-PHONG1", "name": "Tổ một cửa", "unit_type": "phong",
                                                 "parent_id": world.unit_a.id, "valid_from": "01/01/2026"})
    assert created.status_code == 302


def test_an_unexpected_error_while_saving_is_not_shown_to_the_user(client, world, login_as, app):
    """Only refusals written for people reach the page; a programming error is a 500, logged."""
    from feedback_app.admin import views

    crud = next(c for c in views.CRUDS if c.name == "fields")
    original = crud.save

    def broken(_form, _obj):
        raise ValueError("internal detail: column xyz")

    crud.save = broken
    app.config["PROPAGATE_TEST_ERRORS"] = False
    try:
        login_as("admin")
        response = _post(client, "/admin/fields/new", {"code": "XD", "name": "Xây dựng"})
    finally:
        crud.save = original
        app.config["PROPAGATE_TEST_ERRORS"] = True
    assert response.status_code == 500
    assert "internal detail" not in response.get_data(as_text=True)
