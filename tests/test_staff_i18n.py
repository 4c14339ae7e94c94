"""Staff pages and the API in English when asked; Vietnamese by default; WTForms' own messages in Vietnamese."""

from __future__ import annotations

from feedback_app.extensions import db

from . import factories


def _post(client, path, data):
    return client.post(path, data={"csrf_token": factories.csrf_token(client, path), **data})


def test_staff_pages_read_in_english_with_the_language_cookie(client, world, login_as):
    flagged = factories.response(world.counter_a, {"TCDV1": 5}, review_status="pending")
    flagged.flag_reason = "ip_burst"
    db.session.commit()
    login_as("admin")
    client.set_cookie("lang", "en")
    pages = {
        "/results": (["Satisfaction survey results", "Overall satisfaction index", "Satisfaction rate", "Results"],
                     ["Kết quả khảo sát", "Chỉ số hài lòng chung", "Tỷ lệ hài lòng"]),
        "/admin/": (["<h1>Administration</h1>", "Administrative procedure", "Survey campaign", "Audit log",
                     "Refused kiosk responses"],
                    ["Quản trị", "Thủ tục hành chính", "Đợt khảo sát", "Nhật ký thao tác"]),
        "/admin/counters": (["<h1>Counter</h1>", "Add new", "A5 poster", "Kiosk page", ">Yes<"],
                            ["Thêm mới", "Áp phích", "Trang kiosk", "Hoạt động"]),
        "/admin/review": (["Flagged responses awaiting review", "Many responses from one network address",
                           "Accept (count in the index)", "Kiosk at the counter"],
                          ["Phiếu nghi vấn", "Nhiều phiếu từ một địa chỉ mạng", "Chấp nhận", "Kiosk tại quầy"]),
    }
    for path, (english, vietnamese) in pages.items():
        html = client.get(path).get_data(as_text=True)
        for text in english:
            assert text in html, (path, text)
        for text in vietnamese:
            assert text not in html, (path, text)
    assert "System administrator" in client.get("/admin/users").get_data(as_text=True)  # role names too


def test_staff_pages_stay_vietnamese_whatever_the_browser_says(client, world, login_as):
    login_as("admin")
    html = client.get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Quản trị</h1>" in html and "Administration" not in html


def test_api_messages_follow_accept_language_unless_the_visitor_chose(client, world, login_as):
    login_as("office")
    english = client.get("/api/v1/sipas?unit=NOPE", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 400 and english.mimetype == "application/problem+json"
    assert english.get_json()["detail"] == "Invalid parameters."
    assert english.get_json()["errors"] == [
        {"field": "unit", "message": "This unit was not found within the scope you may view."}]
    vietnamese = client.get("/api/v1/sipas?unit=NOPE").get_json()
    assert vietnamese["errors"] == [
        {"field": "unit", "message": "Không tìm thấy đơn vị này trong phạm vi bạn được xem."}]
    chosen = client.get("/api/v1/sipas?unit=NOPE&lang=vi", headers={"Accept-Language": "en"}).get_json()
    assert chosen["errors"][0]["message"].startswith("Không tìm thấy")
    # The header is for programs: a citizen's page stays Vietnamese whatever the phone announces.
    page = client.get(f"/q/{world.counter_a.code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="vi"' in page


def test_wtforms_own_messages_reach_vietnamese_users_in_vietnamese(client, world, login_as):
    login_as("admin")
    form = {"code": "SXD-Q31", "name": "Quầy 31", "service_centre_id": world.centre.id, "agency_id": "999999"}
    response = _post(client, "/admin/counters/new", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Lựa chọn không hợp lệ; vui lòng chọn một mục trong danh sách." in html
    assert "Not a valid choice" not in html
    target = _post(client, "/admin/targets/new", {"org_unit_id": world.agency.id, "year": "hai nghìn",
                                                  "comparison": "gt", "target_pct": "90"})
    assert target.status_code == 400 and "Vui lòng nhập một số nguyên." in target.get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = _post(client, "/admin/counters/new", form).get_data(as_text=True)
    assert "Not a valid choice." in english and "Lựa chọn không hợp lệ" not in english


def test_the_poster_is_printed_in_vietnamese_unless_asked_for_in_english(client, world, login_as):
    login_as("admin")
    client.set_cookie("lang", "en")  # the staff member reads English; the citizens at the counter do not
    path = f"/admin/counters/{world.counter_a.code}/poster"
    html = client.get(path).get_data(as_text=True)
    assert '<html lang="vi">' in html and "ĐÁNH GIÁ SỰ HÀI LÒNG" in html
    english = client.get(path + "?language=en")
    assert "RATE OUR SERVICE" in english.get_data(as_text=True)
    assert not [c for c in english.headers.getlist("Set-Cookie") if c.startswith("lang=")]  # staff pages keep theirs
