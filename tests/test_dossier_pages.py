"""Dossier pages: the upload (preview, confirm with and without script, row report, big files), the list
(scope, filters, masking) and one dossier (late reasons, the slip section's place)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from feedback_app.dossiers import uploads
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Dossier

from . import factories
from .test_dossier_import import csv_bytes, dossier_row, xlsx_bytes

UPLOAD = "/xu-ly/ho-so/nhap"


@pytest.fixture(autouse=True)
def upload_folder(tmp_path, monkeypatch):
    folder = tmp_path / "dossier-imports"
    folder.mkdir()
    monkeypatch.setattr(uploads, "folder", lambda: folder)
    return folder


def token(client, path: str = UPLOAD) -> str:
    return factories.csrf_token(client, path)


def send(client, data: bytes, name: str = "ho-so.csv", **fields):
    body = {"csrf_token": token(client), "file": (io.BytesIO(data), name), **fields}
    return client.post(UPLOAD, data=body, content_type="multipart/form-data")


def count() -> int:
    return db.session.scalar(select(func.count(Dossier.id)))


def make_dossier(world, code: str = "HS-1", **kw) -> Dossier:
    values = {"procedure_name": "Cấp giấy phép xây dựng", "received_date": date(2026, 3, 2),
              "appointment_date": date(2026, 3, 10), "returned_date": date(2026, 3, 9), "status": "returned",
              "citizen_name": "Phạm Thị Dung", "phone": "0901815908", "channel": "online"}
    values.update({"agency_id": world.agency.id, **kw})
    dossier = Dossier(code=code, **values)
    db.session.add(dossier)
    db.session.commit()
    return dossier


# --- access --------------------------------------------------------------------------------------------------

def test_pages_need_a_login(client, world):
    for path in ("/xu-ly/ho-so/", UPLOAD, "/xu-ly/ho-so/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role, list_status, upload_status", [
    ("admin", 200, 200), ("office", 200, 200), ("unit", 200, 403), ("viewer", 200, 403), ("counter", 403, 403),
    ("hotline", 403, 403)])
def test_roles(client, login_as, world, role, list_status, upload_status):
    login_as(role)
    assert client.get("/xu-ly/ho-so/").status_code == list_status
    assert client.get(UPLOAD).status_code == upload_status


# --- upload ----------------------------------------------------------------------------------------------------

def test_preview_then_confirm_without_script(client, login_as, world, upload_folder):
    world.counter_a.name = "Quầy 20"
    db.session.commit()
    rows = [dossier_row(1), dossier_row(2, **{"Ngày hẹn trả": "31/02/2026"}),
            dossier_row(3, **{"Số điện thoại": "09"})]
    login_as("office")
    response = send(client, csv_bytes(rows))
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert count() == 0  # nothing saved before the confirmation
    assert "Hồ sơ mới sẽ được thêm: 2" in page and "Dòng lỗi, sẽ không được nhập: 1" in page
    assert "31/02/2026" in page and "Ngày hẹn trả" in page  # row report: the column and the value to fix
    assert "000.00.17.H34-260306-00001" in page and "0901***908" in page and "0901815908" not in page
    assert "dossier-import.js" in page and "<progress" in page

    upload_id = preview_url.rsplit("/", 1)[1]
    done = client.post(preview_url, data={"csrf_token": token(client)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/ket-qua")
    assert count() == 2
    stored = db.session.scalar(select(Dossier).where(Dossier.code == "000.00.17.H34-260306-00001"))
    assert stored.source == "upload" and stored.counter_id == world.counter_a.id
    result = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Thêm mới: 2" in result and "Dòng lỗi, không nhập: 1" in result
    assert not (upload_folder / f"{upload_id}.rows.json").exists()  # the rows are deleted once imported
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.import")).all()[-1]
    assert audit.details["created"] == 2 and audit.details["source"] == "upload"
    assert "Phạm" not in json.dumps(audit.details) and "0901815908" not in json.dumps(audit.details)

    report = client.get(f"{UPLOAD}/{upload_id}/bao-cao.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["Dòng", "Cột", "Loại", "Cần sửa"]
    assert [line[:2] for line in lines[1:]] == [["3", "Ngày hẹn trả"], ["4", "Số điện thoại"]]
    xlsx = client.get(f"{UPLOAD}/{upload_id}/bao-cao.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(2, 1).value == 3 and sheet.cell(2, 2).value == "Ngày hẹn trả"

    # A second confirmation imports nothing twice; the same file again updates nothing.
    client.post(preview_url, data={"csrf_token": token(client)})
    again = send(client, csv_bytes(rows))
    client.post(again.headers["Location"], data={"csrf_token": token(client)})
    assert count() == 2


def test_progress_in_chunks_with_script(client, login_as, world, monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK", 4)
    login_as("office")
    preview_url = send(client, xlsx_bytes([dossier_row(n) for n in range(1, 11)]), "ho-so.xlsx").headers["Location"]
    csrf = token(client)
    states = []
    for _ in range(5):
        answer = client.post(preview_url, data={"csrf_token": csrf, "chunk": "1"},
                             headers={"Accept": "application/json"})
        assert answer.status_code == 200
        states.append(answer.get_json())
        if states[-1]["finished"]:
            break
    assert [s["done"] for s in states] == [4, 8, 10] and states[-1]["totals"]["created"] == 10
    assert count() == 10
    assert client.get(states[-1]["result_url"]).status_code == 200
    audits = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "dossier.import"))
    assert audits == 1  # one audit row per file, written with its last chunk


@pytest.mark.parametrize("data, name, words", [
    (b"", "x.csv", "Tệp trống"),
    ("Mã hồ sơ,Người nộp\r\nHS-1,A\r\n".encode(), "x.csv", "Tệp thiếu cột bắt buộc"),
    ("Mã hồ sơ,Tên thủ tục,Ngày tiếp nhận,Ngày hẹn trả\r\nHS-1,Cấp phép,01/03/2026,05/03/2026\r\n".encode("cp1258",
                                                                                                          "replace"),
     "x.csv", "UTF-8"),
    (b"not a workbook", "x.xlsx", "xlsx"),
])
def test_an_unreadable_file_comes_back_with_its_message(client, login_as, world, data, name, words):
    login_as("office")
    response = send(client, data, name)
    assert response.status_code == 400 and words in response.get_data(as_text=True)
    assert count() == 0


def test_no_file_chosen(client, login_as, world):
    login_as("office")
    response = client.post(UPLOAD, data={"csrf_token": token(client)}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Hãy chọn tệp" in response.get_data(as_text=True)


def test_a_file_above_the_limit_gets_a_clear_413_page(client, login_as, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "DOSSIER_UPLOAD_MAX_BYTES", 50_000)
    login_as("office")
    response = send(client, csv_bytes([dossier_row(n) for n in range(1, 400)]))
    assert response.status_code == 413 and "Tệp quá lớn" in response.get_data(as_text=True)
    assert "tối đa 48 KB" in response.get_data(as_text=True)


def test_a_file_above_the_app_wide_limit_is_taken(client, login_as, world, app):
    login_as("office")
    rows = [dossier_row(n, **{"Tên thủ tục": "Cấp chứng chỉ hành nghề " * 8}) for n in range(1, 12_001)]
    data = csv_bytes(rows)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    response = send(client, data)
    assert response.status_code == 303


def test_an_upload_is_its_owners_only(client, login_as, world):
    login_as("office")
    preview_url = send(client, csv_bytes([dossier_row(1)])).headers["Location"]
    client.post("/logout", data={"csrf_token": token(client, "/xu-ly/ho-so/")})
    login_as("office")
    assert client.get(preview_url).status_code == 404
    assert client.post(preview_url, data={"csrf_token": token(client)}).status_code == 404
    assert client.get(f"{UPLOAD}/../../etc").status_code == 404
    assert count() == 0


def test_an_upload_can_be_discarded(client, login_as, world, upload_folder):
    login_as("office")
    preview_url = send(client, csv_bytes([dossier_row(1)])).headers["Location"]
    response = client.post(preview_url + "/huy", data={"csrf_token": token(client)})
    assert response.status_code == 303 and list(upload_folder.iterdir()) == []
    assert client.get(preview_url).status_code == 404 and count() == 0


def test_an_administrator_chooses_the_agency(client, login_as, world):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    login_as("admin")
    page = client.get(UPLOAD).get_data(as_text=True)
    assert "Sở Y tế" in page and world.agency.name in page
    assert send(client, csv_bytes([dossier_row(1)]), agency="").status_code == 400
    preview_url = send(client, csv_bytes([dossier_row(1)]), agency=str(other.id)).headers["Location"]
    client.post(preview_url, data={"csrf_token": token(client)})
    assert db.session.scalar(select(Dossier.agency_id)) == other.id


def test_an_office_cannot_import_for_another_agency(client, login_as, world):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    login_as("office")
    assert send(client, csv_bytes([dossier_row(1)]), agency=str(other.id)).status_code == 400
    assert count() == 0


# --- list and detail ----------------------------------------------------------------------------------------

def test_list_masks_phones_and_shows_names_to_the_office_only(client, login_as, world):
    make_dossier(world)
    login_as("office")
    page = client.get("/xu-ly/ho-so/").get_data(as_text=True)
    assert "HS-1" in page and "Phạm Thị Dung" in page and "0901***908" in page and "0901815908" not in page


def test_a_viewer_sees_no_names(client, login_as, world):
    make_dossier(world)
    login_as("viewer")
    page = client.get("/xu-ly/ho-so/").get_data(as_text=True)
    assert "HS-1" in page and "Phạm Thị Dung" not in page and "0901815908" not in page


def test_list_filters(client, login_as, world):
    make_dossier(world, "HS-ON-TIME")
    make_dossier(world, "HS-LATE", returned_date=date(2026, 3, 20))
    make_dossier(world, "HS-OPEN", returned_date=None, status="processing", channel="in_person")
    login_as("office")

    def codes(query: str) -> set[str]:
        page = client.get("/xu-ly/ho-so/?" + query).get_data(as_text=True)
        return {c for c in ("HS-ON-TIME", "HS-LATE", "HS-OPEN") if c in page}

    assert codes("") == {"HS-ON-TIME", "HS-LATE", "HS-OPEN"}
    assert codes("late=1") == {"HS-LATE"}
    assert codes("status=processing") == {"HS-OPEN"}
    assert codes("channel=online") == {"HS-ON-TIME", "HS-LATE"}
    assert codes("returned_from=15/03/2026&returned_to=2026-03-31") == {"HS-LATE"}
    assert codes("q=late") == {"HS-LATE"}
    assert codes("q=%25") == set()  # a wildcard is a character to find, not a pattern
    bad = client.get("/xu-ly/ho-so/?returned_from=hôm qua")
    assert bad.status_code == 400 and "dd/mm/yyyy" in bad.get_data(as_text=True)


def test_list_is_scoped_to_the_agency(client, login_as, world):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    make_dossier(world, "HS-OURS")
    theirs = make_dossier(world, "HS-THEIRS", agency_id=other.id)
    login_as("office")
    page = client.get("/xu-ly/ho-so/").get_data(as_text=True)
    assert "HS-OURS" in page and "HS-THEIRS" not in page
    assert client.get(f"/xu-ly/ho-so/{theirs.id}").status_code == 404


def test_a_unit_sees_the_dossiers_of_its_counters(client, login_as, world):
    make_dossier(world, "HS-A", counter_id=world.counter_a.id)
    make_dossier(world, "HS-B", counter_id=world.counter_b.id)
    login_as("unit", unit=world.unit_a)
    page = client.get("/xu-ly/ho-so/").get_data(as_text=True)
    assert "HS-A" in page and "HS-B" not in page


def test_detail_shows_the_late_reasons_and_keeps_a_place_for_slips(client, login_as, world):
    dossier = make_dossier(world, "HS-LATE", returned_date=date(2026, 3, 13), supplement_count=2)
    login_as("office")
    page = client.get(f"/xu-ly/ho-so/{dossier.id}").get_data(as_text=True)
    assert "Hồ sơ trễ hẹn" in page and "3 ngày" in page and "2 lần" in page
    assert "Phạm Thị Dung" in page and "0901815908" in page
    on_time = make_dossier(world, "HS-OK")
    page = client.get(f"/xu-ly/ho-so/{on_time.id}").get_data(as_text=True)
    assert "Hồ sơ trễ hẹn" not in page
    assert client.get("/xu-ly/ho-so/999999").status_code == 404


def test_detail_masks_for_a_viewer(client, login_as, world):
    dossier = make_dossier(world)
    login_as("viewer")
    page = client.get(f"/xu-ly/ho-so/{dossier.id}").get_data(as_text=True)
    assert "Phạm Thị Dung" not in page and "0901815908" not in page and "0901***908" in page
