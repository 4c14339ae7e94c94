"""The citizen's side of PAKN: the public form, the receipt, the private page and its satisfaction question,
the published answers, and the links that lead there from the survey pages."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from feedback_app.complaints.policies import seed_policies
from feedback_app.extensions import db
from feedback_app.models import Answer, Complaint, Question, Response
from feedback_app.surveys.index import IndexFilters, compute_index
from feedback_app.timeutil import local_today, utcnow

from . import factories

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
SENDER = {"name": "Trần Thị Hồng Nhung", "address": "12 Lê Thánh Tôn, phường Nha Trang",
          "phone": "0905 123 456", "email": "hongnhung.test@example.com"}
CONTENT = "Quầy số 3 hẹn trả kết quả ngày 10 nhưng đến ngày 15 vẫn chưa có, không ai báo lý do."


def _token(client, path="/pakn/new"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client, world, files=(), path=None, **fields):
    path = path or f"/pakn/new?quay={world.counter_a.code}"
    data = {"csrf_token": _token(client, path), "quay": world.counter_a.code, "kind": "phan_anh",
            "content": CONTENT, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    data["files"] = [(io.BytesIO(body), name) for name, body in files]
    return client.post("/pakn/new", data=data, content_type="multipart/form-data")


def _count(model=Complaint):
    return db.session.scalar(select(func.count(model.id)))


def _receipt(client, response):
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/pakn/da-gui")
    page = client.get("/pakn/da-gui")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    link = re.search(r'data-testid="private-link">([^<]+)<', html).group(1)
    return html, link.replace("http://localhost", "")


def _notify(complaint, answer="Cơ quan đã kiểm tra và trả kết quả cho Ông/Bà ngày 16.", publish=None):
    """Take an item through the office's steps to "notified" (and "published" with a text)."""
    staff = factories.user("office", complaint.agency)
    complaint.classify("handle")
    complaint.assign(complaint.agency_id)
    complaint.draft_answer(answer, staff.id)
    complaint.approve(staff.id)
    complaint.notify()
    if publish:
        complaint.publish(publish, answer)
    db.session.commit()


@pytest.fixture
def policies(db_session):
    seed_policies()
    db_session.commit()


def test_full_submit_with_attachments_gives_a_code_and_a_private_link(client, world, policies):
    form = client.get(f"/pakn/new?quay={world.counter_a.code}&can_bo={world.officer_a.id}")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert world.agency.name in html and world.service_a.name in html
    assert f'<option value="{world.officer_a.id}" selected>' in html
    # Said in words before sending, without script: what may be published, what never is, the anonymous rule.
    assert "Có thể được công khai" in html and "Không bao giờ công khai" in html
    assert "góp ý ẩn danh" in html and "Nghị định 13/2023" in html
    response = _post(client, world, files=[("anh chup.png", PNG), ("giay hen.pdf", PDF)], title="Trễ hẹn",
                     service=str(world.service_a.id), officer=str(world.officer_a.id), dossier_code="000.00.12.H34",
                     consent="y", **SENDER)
    html, link = _receipt(client, response)
    complaint = db.session.scalar(select(Complaint))
    assert complaint.code in html and link == f"/pakn/{complaint.code}/" + link.rsplit("/", 1)[1]
    assert "chụp màn hình" in html and "thư điện tử" in html
    assert complaint.answer_due_at is not None and complaint.answer_due_at.strftime("%d/%m/%Y") in html
    assert (complaint.channel, complaint.legal, complaint.agency_id) == ("web", True, world.agency.id)
    assert (complaint.counter_id, complaint.officer_id, complaint.service_id) == (
        world.counter_a.id, world.officer_a.id, world.service_a.id)
    assert (complaint.sender_phone, complaint.consent_at is not None) == ("0905123456", True)
    assert sorted((a.filename, a.mime) for a in complaint.attachments) == [
        ("anh chup.png", "image/png"), ("giay hen.pdf", "application/pdf")]
    # The receipt is shown once; the secret is not left in the session.
    assert client.get("/pakn/da-gui").status_code == 404
    with client.session_transaction() as session:
        assert "pakn_receipt" not in session
    page = client.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "Mới tiếp nhận" in text and complaint.answer_due_at.strftime("%d/%m/%Y") in text and CONTENT in text
    # The sender's own page shows no personal data and no staff name.
    for value in (SENDER["name"], SENDER["phone"], "0905123456", SENDER["email"], world.officer_a.full_name):
        assert value not in text
    assert "Ông/bà có hài lòng" not in text  # nothing to rate before the outcome reached the sender


def test_anonymous_feedback_is_accepted_outside_the_legal_deadlines(client, world, policies):
    response = _post(client, world, kind="gop_y", content="Nên có thêm ghế chờ ở tầng 2.", name="Ba")
    assert response.status_code == 400  # a name without consent: asked to consent or to remove it
    response = _post(client, world, kind="gop_y", content="Nên có thêm ghế chờ ở tầng 2.")
    html, link = _receipt(client, response)
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.legal, complaint.answer_due_at, complaint.classify_due_at) == (False, None, None)
    assert complaint.sender_name is None and complaint.consent_at is None
    assert "góp ý ẩn danh" in html and "thư điện tử" not in html
    assert client.get(link).status_code == 200


@pytest.mark.parametrize(("fields", "files", "field", "message"), [
    ({"content": "   "}, [], "content", "Vui lòng nhập nội dung."),
    ({"phone": "12345", "consent": "y"}, [("a.png", PNG)], "phone", "Số điện thoại chưa đúng"),
    ({"consent": None}, [], "consent", "Hãy đồng ý cho cơ quan dùng thông tin liên hệ"),
    ({"consent": "y"}, [("virus.png", EXE)], "files", "không phải ảnh"),
    ({"consent": "y"}, [("big.png", PNG + b"\x00" * (5 * 1024 * 1024))], "files", "lớn hơn 5 MB"),
    ({"kind": "khieu_nai", "consent": "y"}, [], "kind", "Hãy chọn loại"),
])
def test_bad_input_is_a_4xx_next_to_the_field_with_the_rest_kept(client, world, fields, files, field, message):
    response = _post(client, world, files=files, **{**SENDER, "title": "Tiêu đề giữ lại", **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(rf'<p class="err" id="{field}-err">[^<]*{re.escape(message)}', html), html
    assert "Tiêu đề giữ lại" in html
    if field != "content":
        assert CONTENT in html
    assert SENDER["address"] in html and SENDER["email"] in html
    if files:
        assert "chọn lại tệp" in html
    assert _count() == 0


def test_an_expired_form_token_keeps_the_input(client, world):
    response = client.post("/pakn/new", data={"csrf_token": "forged", "quay": world.counter_a.code,
                                              "kind": "phan_anh", "content": CONTENT})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Phiên làm việc đã hết hạn" in html and CONTENT in html
    assert _count() == 0


def test_a_body_over_the_limit_is_a_413_page_in_vietnamese(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "PAKN_MAX_FILES", 1)
    monkeypatch.setitem(app.config, "PAKN_MAX_FILE_BYTES", 1024 * 1024)
    response = _post(client, world, files=[("big.png", PNG + b"\x00" * (3 * 1024 * 1024))], consent="y")
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Tệp đính kèm quá lớn" in html and "tối đa 1 tệp" in html
    assert _count() == 0


def test_several_agencies_ask_which_one(client, world):
    other = factories.unit("Sở Công Thương", "so", parent=world.province)
    db.session.commit()
    html = client.get("/pakn/new").get_data(as_text=True)
    assert 'id="agency"' in html and other.name in html and world.agency.name in html
    token = _token(client, "/pakn/new")
    response = client.post("/pakn/new", data={"csrf_token": token, "kind": "gop_y", "content": CONTENT})
    assert response.status_code == 400 and 'id="agency-err"' in response.get_data(as_text=True)
    response = client.post("/pakn/new", data={"csrf_token": token, "kind": "gop_y", "content": CONTENT,
                                              "agency": str(other.id)})
    assert response.status_code == 303
    assert db.session.scalar(select(Complaint.agency_id)) == other.id


def test_unknown_code_and_wrong_secret_are_the_same_404(client, world):
    _receipt(client, _post(client, world))
    code = db.session.scalar(select(Complaint.code))
    wrong = client.get(f"/pakn/{code}/not-the-secret-at-all")
    unknown = client.get("/pakn/PA-2026-999999/not-the-secret-at-all")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_data(as_text=True).replace(code, "X") == unknown.get_data(as_text=True).replace(
        "PA-2026-999999", "X")
    assert "Không tìm thấy phản ánh, kiến nghị" in wrong.get_data(as_text=True)
    assert wrong.headers["Referrer-Policy"] == "no-referrer" and wrong.headers["Cache-Control"] == "no-store"
    assert client.post(f"/pakn/{code}/not-the-secret-at-all/hai-long",
                       data={"csrf_token": _token(client), "satisfaction": "5"}).status_code == 404


def _pakn_figures(family_id):
    results = compute_index(IndexFilters(questionnaire_id=family_id, date_from=local_today() - timedelta(days=1),
                                         date_to=local_today() + timedelta(days=1)), group_by="channel")
    by_channel = {r.key: r for r in results}
    return {f.code: (f.satisfied, f.answers) for f in by_channel["pakn"].factors if f.answers}


def test_the_satisfaction_answer_is_stored_once_and_counted(client, world):
    _html, link = _receipt(client, _post(client, world, consent="y", **SENDER))
    complaint = db.session.scalar(select(Complaint))
    token = _token(client)
    early = client.post(f"{link}/hai-long", data={"csrf_token": token, "satisfaction": "5"})
    assert early.status_code == 409 and _count(Response) == 0  # the outcome has not reached the sender yet
    _notify(complaint)
    page = client.get(link).get_data(as_text=True)
    assert "Ông/bà có hài lòng với việc tiếp nhận, xử lý phản ánh, kiến nghị này không?" in page
    assert "Cơ quan đã kiểm tra và trả kết quả" in page and "Rất hài lòng" in page
    assert "Cán bộ office" not in page  # no staff name
    missing = client.post(f"{link}/hai-long", data={"csrf_token": token})
    assert missing.status_code == 400 and "Vui lòng chọn một mức" in missing.get_data(as_text=True)
    response = client.post(f"{link}/hai-long", data={"csrf_token": token, "satisfaction": "4"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#hai-long")
    stored = db.session.scalar(select(Response))
    question = db.session.get(Question, db.session.scalar(select(Answer.question_id)))
    assert (stored.channel, stored.unit_id, stored.counter_id, stored.officer_id) == (
        "pakn", world.agency.id, None, None)
    assert (question.code, question.factor.code, stored.version_id) == ("PAKN-HL", "PAKN", world.version.id)
    db.session.refresh(complaint)
    assert complaint.satisfaction_response_id == stored.id
    assert "Cảm ơn Ông/Bà đã trả lời" in client.get(link).get_data(as_text=True)
    again = client.post(f"{link}/hai-long", data={"csrf_token": token, "satisfaction": "1"})
    assert again.status_code == 409 and "chỉ được đánh giá một lần" in again.get_data(as_text=True)
    assert _count(Response) == 1
    assert _pakn_figures(world.version.questionnaire_id) == {"PAKN": (1, 1)}


def test_published_list_shows_the_published_text_and_nothing_personal(client, world):
    _receipt(client, _post(client, world, kind="kien_nghi", consent="y", **SENDER))
    complaint = db.session.scalar(select(Complaint))
    # Staff left the sender's name and phone in the answer: the public page still does not show them.
    _notify(complaint, answer=f"Kính gửi bà {SENDER['name']} (0905.123.456): cơ quan đã bố trí thêm quầy.",
            publish="Người dân phản ánh việc trễ hẹn trả kết quả tại quầy số 3.")
    _receipt(client, _post(client, world, content="Nội dung chưa công khai"))
    html = client.get("/cong-khai/pakn").get_data(as_text=True)
    assert "Người dân phản ánh việc trễ hẹn" in html and "cơ quan đã bố trí thêm quầy" in html
    assert complaint.code in html and world.agency.name in html and "Kiến nghị" in html
    for value in (*SENDER.values(), "0905123456", "0905.123.456", CONTENT, "Nội dung chưa công khai"):
        assert value not in html, value
    assert complaint.code not in client.get("/cong-khai/pakn?loai=phan_anh").get_data(as_text=True)
    assert complaint.code in client.get("/cong-khai/pakn?loai=kien_nghi&trang=99").get_data(as_text=True)
    assert client.get("/cong-khai/pakn?trang=abc&loai=%3Cx%3E").status_code == 200


def test_published_list_pages_by_twenty(client, world):
    for n in range(21):
        _receipt(client, _post(client, world, content=f"Ý kiến số {n}"))
    for complaint in db.session.scalars(select(Complaint)):
        _notify(complaint, publish=f"Công khai {complaint.code}")
    first = client.get("/cong-khai/pakn").get_data(as_text=True)
    second = client.get("/cong-khai/pakn?trang=2").get_data(as_text=True)
    assert first.count('class="factor published"') == 20 and second.count('class="factor published"') == 1
    assert "Trang 1/2" in first and "trang=2" in first


def test_the_survey_pages_lead_to_the_form(client, world):
    code = world.counter_a.code
    thanks = client.get(f"/q/{code}/cam-on").get_data(as_text=True)
    assert f'href="/pakn/new?quay={code}"' in thanks and "tu_phieu" not in thanks
    kiosk = client.get(f"/k/{code}").get_data(as_text=True)
    section = kiosk[kiosk.index('id="kiosk-thanks"'):]
    assert "<svg" in section and f"/pakn/new?quay={code}" in section and "Gửi phản ánh, kiến nghị" in section
    channels = client.get(f"/phan-anh?quay={code}").get_data(as_text=True)
    assert f'href="/pakn/new?quay={code}"' in channels and "/cong-khai/pakn" in channels


def _phone_survey(client, world, value, comment=""):
    html = client.get(f"/q/{world.counter_a.code}").get_data(as_text=True)
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
            "key": re.search(r'name="key" value="([^"]+)"', html).group(1),
            **factories.full_answers(world.version, 5)}
    overall = next(q for q in world.version.questions if q.kind == "overall")
    data[f"q{overall.id}"] = str(value)
    if comment:
        data[f"q{next(q for q in world.version.questions if q.kind == 'comment').id}"] = comment
    response = client.post(f"/q/{world.counter_a.code}", data=data)
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_low_rating_can_become_a_pakn_that_keeps_its_response(client, world):
    thanks = _phone_survey(client, world, 5)
    assert "tu_phieu" not in thanks  # all satisfied, no comment: nothing to follow up
    thanks = _phone_survey(client, world, 2, comment="Chờ quá lâu, không có số thứ tự.")
    link = re.search(r'href="(/pakn/new\?[^"]*tu_phieu=[^"]+)"', thanks).group(1).replace("&amp;", "&")
    response = db.session.scalar(select(Response).order_by(Response.id.desc()))
    assert f"tu_phieu={response.public_id}" in link
    form = client.get(link).get_data(as_text=True)
    assert "Chờ quá lâu, không có số thứ tự." in form and "Phiếu đánh giá vẫn ẩn danh" in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    posted = client.post("/pakn/new", data={"csrf_token": token, "quay": world.counter_a.code,
                                            "tu_phieu": response.public_id, "kind": "phan_anh",
                                            "content": "Chờ quá lâu, không có số thứ tự."})
    _receipt(client, posted)
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.channel, complaint.response_id, complaint.counter_id) == (
        "survey", response.id, world.counter_a.id)
    assert "tu_phieu" not in client.get(f"/q/{world.counter_a.code}/cam-on").get_data(as_text=True)


def test_an_old_or_unknown_response_is_not_linked(client, world):
    old = factories.response(world.counter_a, {"TONGTHE": 1}, channel="qr", day=date.today() - timedelta(days=3))
    old.submitted_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    for public_id in (old.public_id, "00000000-0000-0000-0000-000000000000"):
        form = client.get(f"/pakn/new?quay={world.counter_a.code}&tu_phieu={public_id}").get_data(as_text=True)
        assert "Không tìm thấy phiếu đánh giá" in form and f'value="{public_id}"' not in form
    response = _post(client, world, tu_phieu=old.public_id)
    _receipt(client, response)
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.channel, complaint.response_id) == ("web", None)


def test_an_unknown_counter_is_a_404(client, world):
    assert client.get("/pakn/new?quay=NOPE").status_code == 404
