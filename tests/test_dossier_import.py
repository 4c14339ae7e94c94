"""Dossier imports: reading CSV/XLSX (encodings, headers, dates, malformed files), the row report, saving
idempotently by code (batches, other agencies, 10,000 rows), the invitation hook and `flask import-dossiers`."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from feedback_app.dossiers import services
from feedback_app.dossiers.importing import FileProblem, header_key, parse_file, parse_items
from feedback_app.dossiers.services import ImportRun, import_rows
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Dossier, OutboxMessage, SurveyInvitation
from feedback_app.timeutil import local_today

from . import factories

SAMPLE = Path("/work/shared/data/dossiers-sample.csv")
HEADER = ["STT", "Mã hồ sơ", "Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Người nộp", "Số điện thoại", "Quầy",
          "Cán bộ tiếp nhận", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày trả kết quả", "Số lần bổ sung",
          "Hình thức nộp", "Trạng thái"]


def dossier_row(n: int, **overrides: str) -> list[str]:
    """A row of the one-stop system's export (HEADER's order), returned on time unless overridden."""
    values = {"STT": str(n), "Mã hồ sơ": f"000.00.17.H34-260306-{n:05d}", "Mã thủ tục": "1.009796",
              "Tên thủ tục": "Cấp chứng chỉ hành nghề hoạt động xây dựng", "Lĩnh vực": "Hoạt động xây dựng",
              "Người nộp": "Phạm Thị Dung", "Số điện thoại": "0901815908", "Quầy": "Quầy 20",
              "Cán bộ tiếp nhận": "Nguyễn Thị Mai", "Ngày tiếp nhận": "06/03/2026", "Ngày hẹn trả": "03/04/2026",
              "Ngày trả kết quả": "01/04/2026", "Số lần bổ sung": "0", "Hình thức nộp": "Trực tuyến",
              "Trạng thái": "Đã trả kết quả"}
    values.update(overrides)
    return [values[h] for h in HEADER]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8-sig",
              delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], header: list[str] = HEADER, title: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_for(world, source: str = "cli") -> ImportRun:
    return ImportRun(user=None, agency_id=world.agency.id, source=source)


def import_bytes(world, data: bytes, name: str = "ho-so.csv"):
    parsed = parse_file(data, name)
    return import_rows(run_for(world), parsed.rows, parsed.columns)


def count_dossiers() -> int:
    return db.session.scalar(select(func.count(Dossier.id)))


# --- reading ------------------------------------------------------------------------------------------------

def test_header_keys_ignore_case_diacritics_and_spacing():
    assert header_key("Mã hồ sơ") == header_key("MA HO SO") == header_key(" ma_ho_so ") == "mahoso"
    assert header_key("Số điện thoại") == "sodienthoai"


def test_the_sample_file_reads_without_problems(app, db_session):
    parsed = parse_file(SAMPLE.read_bytes(), SAMPLE.name)
    assert len(parsed.rows) == 24 and not parsed.issues
    first = parsed.rows[0]
    assert first.number == 2  # as Excel numbers it: the header is row 1
    assert first.values["code"] == "000.00.17.H34-260306-1001"
    assert first.values["received_date"] == date(2026, 3, 6)
    assert first.values["returned_date"] == date(2026, 4, 9)
    assert first.values["channel"] == "online" and first.values["status"] == "returned"
    assert first.values["status_text"] == "Đã trả kết quả"
    assert {r.values["channel"] for r in parsed.rows} == {"in_person", "online", "postal"}


def test_english_headers_iso_dates_and_semicolons(app, db_session):
    header = ["code", "procedure_code", "procedure_name", "phone", "received_date", "appointment_date",
              "returned_date", "supplement_count", "channel", "status"]
    data = csv_bytes([["HS-1", "1.1", "Thủ tục A", "+84 901 234 567", "2026-03-01", "2026-03-10", "", "2",
                       "online", "processing"]], header, encoding="utf-8", delimiter=";")
    row = parse_file(data, "x.csv").rows[0]
    assert not row.issues
    assert row.values["phone"] == "0901234567"
    assert row.values["appointment_date"] == date(2026, 3, 10) and row.values["returned_date"] is None
    assert row.values["supplement_count"] == 2 and row.values["status"] == "processing"


def test_utf16_with_bom_is_read(app, db_session):
    parsed = parse_file(csv_bytes([dossier_row(1)], encoding="utf-16"), "x.csv")
    assert parsed.rows[0].values["citizen_name"] == "Phạm Thị Dung"


@pytest.mark.parametrize("encoding", ["cp1258", "cp1252", "utf-16-le"])
def test_a_file_in_another_encoding_says_how_to_save_it(app, db_session, encoding):
    text = csv_bytes([dossier_row(1)], encoding="utf-8").decode()
    data = text.encode(encoding, errors="replace")  # "Mã" is 4D E3 in both Windows code pages: not UTF-8
    with pytest.raises(FileProblem, match="UTF-8"):
        parse_file(data, "x.csv")


def test_missing_columns_are_named_in_one_message(app, db_session):
    header = ["Mã hồ sơ", "Người nộp", "Số điện thoại"]
    with pytest.raises(FileProblem) as error:
        parse_file(csv_bytes([["HS-1", "A", "0901234567"]], header), "x.csv")
    message = str(error.value)
    assert "Tên thủ tục" in message and "Ngày tiếp nhận" in message and "Ngày hẹn trả" in message
    assert "“Mã hồ sơ”" not in message


@pytest.mark.parametrize("data, name, words", [
    (b"", "x.csv", "trống"),
    (b"   \r\n\r\n", "x.csv", "trống"),
    ("\ufeffMã hồ sơ,Tên thủ tục,Ngày tiếp nhận,Ngày hẹn trả\r\n".encode(), "x.csv", "chỉ có dòng tiêu đề"),
    (b"this is not a spreadsheet", "x.xlsx", ".xlsx"),
    (b"PK\x03\x04 truncated zip", "x.xlsx", ".xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "x.xls", ".xls"),
])
def test_unreadable_files_get_a_clear_message(app, db_session, data, name, words):
    with pytest.raises(FileProblem, match=words):
        parse_file(data, name)


def test_too_many_rows_is_refused(app, db_session):
    with pytest.raises(FileProblem, match="3 dòng"):
        parse_file(csv_bytes([dossier_row(n) for n in range(4)]), "x.csv", max_rows=3)


def test_row_report_names_row_column_and_fix(app, db_session):
    rows = [
        dossier_row(1),
        dossier_row(2, **{"Ngày hẹn trả": "31/02/2026"}),
        dossier_row(3, **{"Mã hồ sơ": ""}),
        dossier_row(4, **{"Số điện thoại": "12345"}),
        dossier_row(5, **{"Ngày tiếp nhận": "10/04/2026", "Ngày hẹn trả": "01/04/2026", "Ngày trả kết quả": ""}),
        dossier_row(6, **{"Hình thức nộp": "Fax"}),
        dossier_row(7, **{"Số lần bổ sung": "hai"}),
        dossier_row(8, **{"Ngày trả kết quả": "", "Trạng thái": "Đã trả kết quả"}),
        dossier_row(9, **{"Tên thủ tục": "", "Mã thủ tục": ""}),
        dossier_row(10, **{"Ngày tiếp nhận": "06/03/1850"}),
    ]
    parsed = parse_file(csv_bytes(rows), "x.csv")
    by_row = {r.number: r for r in parsed.rows}
    assert by_row[2].values is not None
    bad_date = by_row[3].issues[0]
    assert (bad_date.column, bad_date.level) == ("Ngày hẹn trả", "error") and "31/02/2026" in bad_date.message
    assert by_row[4].issues[0].column == "Mã hồ sơ" and by_row[4].values is None
    phone = by_row[5].issues[0]
    assert phone.level == "warning" and by_row[5].values is not None and by_row[5].values["phone"] is None
    assert "trước ngày tiếp nhận" in by_row[6].issues[0].message and by_row[6].values is None
    assert by_row[7].issues[0].column == "Hình thức nộp" and by_row[7].values is None
    assert by_row[8].issues[0].column == "Số lần bổ sung"
    assert by_row[9].issues[0].column == "Ngày trả kết quả"
    assert by_row[10].issues[0].column == "Tên thủ tục"
    assert by_row[11].issues[0].column == "Ngày tiếp nhận" and "năm" in by_row[11].issues[0].message


def test_xlsx_with_title_rows_date_cells_and_number_cells(app, db_session):
    row: list[object] = dossier_row(1)
    row[HEADER.index("Ngày tiếp nhận")] = datetime(2026, 3, 6, 8, 30)
    row[HEADER.index("Ngày hẹn trả")] = date(2026, 4, 3)
    row[HEADER.index("Số điện thoại")] = 901815908  # Excel dropped the leading zero
    row[HEADER.index("Số lần bổ sung")] = 2.0
    parsed = parse_file(xlsx_bytes([row], title="DANH SÁCH HỒ SƠ ĐÃ TRẢ KẾT QUẢ"), "x.xlsx")
    (only,) = parsed.rows
    assert only.number == 4 and not only.issues
    assert only.values["received_date"] == date(2026, 3, 6) and only.values["appointment_date"] == date(2026, 4, 3)
    assert only.values["phone"] == "0901815908" and only.values["supplement_count"] == 2


def test_api_items_use_the_same_checks(app, db_session):
    rows = parse_items([{"code": "A", "procedure_name": "P", "received_date": "01/03/2026",
                         "appointment_date": "2026-03-05"},
                        {"code": "B", "procedure_name": "P", "received_date": "x", "appointment_date": "01/03/2026"},
                        "not an object", {"code": ["A"], "procedure_name": "P"}])
    assert rows[0].values is not None and rows[0].number == 0
    assert rows[1].values is None and rows[1].issues[0].column == "received_date"
    assert rows[2].values is None and rows[3].values is None and rows[3].issues[0].column == "code"


# --- saving -------------------------------------------------------------------------------------------------

def test_import_matches_counter_officer_and_service_and_is_idempotent(app, db_session, world):
    world.counter_a.name = "Quầy 20"
    factories.officer(world.unit_a, "Trần Quốc Bảo")
    factories.officer(world.unit_b, "Trần Quốc Bảo")  # two officers with one name: not guessed
    db_session.commit()
    rows = [dossier_row(1, **{"Mã thủ tục": world.service_a.code}),
            dossier_row(2, **{"Cán bộ tiếp nhận": "Trần Quốc Bảo", "Quầy": "Quầy không có"})]
    result = import_bytes(world, csv_bytes(rows))
    assert (result.created, result.updated, result.errors) == (2, 0, 0)
    first = db.session.scalar(select(Dossier).where(Dossier.code == "000.00.17.H34-260306-00001"))
    assert first.counter_id == world.counter_a.id and first.officer_id == world.officer_a.id
    assert first.service_id == world.service_a.id and first.agency_id == world.agency.id
    assert first.source == "cli" and not first.is_late
    second = db.session.scalar(select(Dossier).where(Dossier.code == "000.00.17.H34-260306-00002"))
    assert second.counter_id is None and second.counter_name == "Quầy không có"
    assert second.officer_id is None and second.officer_name == "Trần Quốc Bảo"

    before = first.updated_at
    again = import_bytes(world, csv_bytes(rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    rows[0] = dossier_row(1, **{"Mã thủ tục": world.service_a.code, "Ngày trả kết quả": "10/04/2026",
                                "Số lần bổ sung": "2"})
    changed = import_bytes(world, csv_bytes(rows))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert count_dossiers() == 2
    db.session.expire_all()
    first = db.session.get(Dossier, first.id)
    assert first.returned_date == date(2026, 4, 10) and first.supplement_count == 2 and first.is_late
    assert first.updated_at > before
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.import")).all()
    assert len(audits) == 3
    assert audits[-1].details["updated"] == 1 and "Phạm" not in str(audits[-1].details)


def test_a_code_of_another_agency_is_refused_for_that_row_only(app, db_session, world):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db_session.commit()
    import_rows(ImportRun(None, other.id, "cli"), *_parsed(csv_bytes([dossier_row(1)])))
    result = import_bytes(world, csv_bytes([dossier_row(1), dossier_row(2)]))
    assert (result.created, result.errors) == (1, 1)
    assert result.issues[0].column == "Mã hồ sơ" and "cơ quan khác" in result.issues[0].message
    moved = db.session.scalar(select(Dossier).where(Dossier.code == "000.00.17.H34-260306-00001"))
    assert moved.agency_id == other.id


def _parsed(data: bytes):
    parsed = parse_file(data, "x.csv")
    return parsed.rows, parsed.columns


def test_erased_personal_data_is_not_brought_back(app, db_session, world):
    import_bytes(world, csv_bytes([dossier_row(1)]))
    dossier = db.session.scalar(select(Dossier))
    dossier.erase_personal_data()
    db_session.commit()
    import_bytes(world, csv_bytes([dossier_row(1, **{"Số lần bổ sung": "1"})]))
    db.session.expire_all()
    dossier = db.session.scalar(select(Dossier))
    assert dossier.phone is None and dossier.citizen_name is None and dossier.supplement_count == 1


def test_every_saved_dossier_goes_to_the_invitation_hook(app, db_session, world, monkeypatch):
    seen: list[tuple[str, int | None]] = []
    monkeypatch.setattr(services, "schedule_invitations", lambda ds: seen.extend((d.code, d.id) for d in ds))
    rows = [dossier_row(1), dossier_row(2), dossier_row(3, **{"Ngày hẹn trả": "sai"})]
    import_bytes(world, csv_bytes(rows))
    assert sorted(code for code, _id in seen) == ["000.00.17.H34-260306-00001", "000.00.17.H34-260306-00002"]
    assert all(dossier_id for _code, dossier_id in seen)  # saved (flushed) before the hook sees them
    seen.clear()
    import_bytes(world, csv_bytes([dossier_row(1), dossier_row(2, **{"Số lần bổ sung": "1"})]))
    assert [code for code, _id in seen] == ["000.00.17.H34-260306-00002"]  # unchanged ones are not saved again


def test_a_lost_insert_race_becomes_an_update(app, db_session, world, monkeypatch):
    """Another import stores the code between our look-up and our insert: the unique constraint refuses the
    insert, and the batch is redone as an update instead of failing or duplicating."""
    import_bytes(world, csv_bytes([dossier_row(1)]))
    real = services._upsert
    calls = {"n": 0}

    def hide_existing_once(run, rows, columns):
        calls["n"] += 1
        if calls["n"] == 1:
            monkeypatch.setattr(services.db.session, "scalars", _no_rows_once(services.db.session.scalars))
        return real(run, rows, columns)

    monkeypatch.setattr(services, "_upsert", hide_existing_once)
    result = import_bytes(world, csv_bytes([dossier_row(1, **{"Số lần bổ sung": "3"}), dossier_row(2)]))
    assert calls["n"] == 2 and (result.created, result.updated) == (1, 1)
    assert count_dossiers() == 2


def _no_rows_once(real):
    state = {"used": False}

    def scalars(statement, *args, **kwargs):
        if not state["used"]:
            state["used"] = True
            return iter(())
        return real(statement, *args, **kwargs)

    return scalars


def test_ten_thousand_rows_with_some_bad_ones(app, db_session, world):
    # With the real invitation hook: its reads are once per batch (the time is in bench/README.md, not here).
    today = local_today().strftime("%d/%m/%Y")
    rows = [dossier_row(n, **{"Số điện thoại": f"09{n:08d}", "Ngày trả kết quả": today,
                              "Ngày hẹn trả": "32/13/2026" if n % 1000 == 0 else today})
            for n in range(1, 10_001)]
    parsed = parse_file(csv_bytes(rows), "big.csv")
    result = import_rows(run_for(world), parsed.rows, parsed.columns)
    assert (result.created, result.errors) == (9990, 10)
    assert [i.row for i in result.issues] == [n + 1 for n in range(1000, 10_001, 1000)]
    assert count_dossiers() == 9990
    assert db.session.scalar(select(func.count(SurveyInvitation.id))
                             .where(SurveyInvitation.status == "scheduled")) == 9990
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.channel == "sms")) == 9990
    again = import_rows(run_for(world), parsed.rows, parsed.columns)
    assert (again.created, again.unchanged) == (0, 9990) and count_dossiers() == 9990
    assert db.session.scalar(select(func.count(SurveyInvitation.id))) == 9990


def test_big_xlsx_reads(app, db_session):
    data = xlsx_bytes([dossier_row(n) for n in range(1, 2001)])
    parsed = parse_file(data, "big.xlsx")
    assert len(parsed.rows) == 2000 and not parsed.issues
    assert load_workbook(io.BytesIO(data)).active.max_row == 2001


def test_a_code_repeated_in_one_file_is_reported(app, db_session, world):
    # The later row is imported over the earlier one; before, the report said nothing and counted one created and
    # one updated dossier.
    parsed = parse_file(csv_bytes([dossier_row(1), dossier_row(2), dossier_row(3, **{
        "Mã hồ sơ": dossier_row(1)[1], "Người nộp": "Lê Văn Sau"})]), "x.csv")
    [issue] = parsed.issues
    assert (issue.row, issue.column, issue.level) == (4, "Mã hồ sơ", "warning") and "dòng 2" in issue.message
    result = import_rows(run_for(world), parsed.rows, parsed.columns)
    assert (result.created, result.errors, count_dossiers()) == (2, 0, 2)
    assert db.session.scalar(select(Dossier.citizen_name).where(Dossier.code == dossier_row(1)[1])) == "Lê Văn Sau"
    api = parse_items([{"code": "A-1", "procedure_name": "X", "received_date": "01/02/2026",
                        "appointment_date": "02/02/2026"}] * 2)
    assert [len(r.issues) for r in api] == [0, 1] and "index 0" in api[1].issues[0].message

def test_dates_after_today_are_refused(app, db_session, world):
    # Returned "next year" (a typo) was imported as returned and its SMS invitation scheduled for that day.
    later = (local_today() + timedelta(days=300)).strftime("%d/%m/%Y")
    result = import_bytes(world, csv_bytes([
        dossier_row(1, **{"Ngày tiếp nhận": "01/01/2026", "Ngày hẹn trả": later, "Ngày trả kết quả": later}),
        dossier_row(2, **{"Ngày tiếp nhận": later, "Ngày hẹn trả": later, "Ngày trả kết quả": "",
                          "Trạng thái": "Đang xử lý"}),
        dossier_row(3, **{"Ngày hẹn trả": later, "Ngày trả kết quả": "", "Trạng thái": "Đang xử lý"}),  # normal
    ]))
    assert (result.created, result.errors) == (1, 2)
    assert {(i.row, i.column) for i in result.issues} == {(2, "Ngày trả kết quả"), (3, "Ngày tiếp nhận")}
    assert all("sau hôm nay" in i.message for i in result.issues)
    assert db.session.scalar(select(func.count(SurveyInvitation.id))) == 0

def _xlsx_bomb(rows: int) -> bytes:
    """A small .xlsx whose sheet unpacks to `rows` more rows (no <dimension>, so openpyxl reads them all)."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([dossier_row(1)])))
    out = io.BytesIO()
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>y</t></is></c></row>' * 10_000
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info, data)
                continue
            head, tail = re.sub(r"<dimension[^>]*/>", "", data.decode()).split("</sheetData>")
            with bomb.open(info.filename, "w", force_zip64=True) as member:
                member.write(head.encode())
                for _ in range(rows // 10_000):
                    member.write(row)
                member.write(("</sheetData>" + tail).encode())
    return out.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(app, db_session):
    # About 0.6 MB packed, 174 MB unpacked: read as before, half a minute of CPU and half a gigabyte (a 20 MB upload
    # unpacks to gigabytes); now refused at once from the sizes the zip's directory declares.
    import time

    data = _xlsx_bomb(2_000_000)
    assert len(data) < 1024 * 1024
    started = time.monotonic()
    with pytest.raises(FileProblem, match="giải nén quá lớn"):
        parse_file(data, "bomb.xlsx")
    assert time.monotonic() - started < 5


# --- the command ------------------------------------------------------------------------------------------

def test_cli_imports_prints_counts_and_row_errors(app, db_session, world, tmp_path):
    path = tmp_path / "ho-so.csv"
    path.write_bytes(csv_bytes([dossier_row(1), dossier_row(2, **{"Ngày tiếp nhận": "hôm qua"})]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-dossiers", str(path), "--agency", world.agency.code])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and "1 with errors" in result.output
    assert "row 3\tNgày tiếp nhận\terror" in result.output
    result = runner.invoke(args=["import-dossiers", str(path), "--agency", world.agency.code])
    assert "0 created" in result.output and "1 unchanged" in result.output
    assert count_dossiers() == 1
    assert db.session.scalar(select(Dossier)).source == "cli"


def test_cli_refuses_unreadable_files_with_a_non_zero_exit(app, db_session, world, tmp_path):
    runner = app.test_cli_runner()
    bad = tmp_path / "ho-so.csv"
    bad.write_bytes(csv_bytes([dossier_row(1)], encoding="utf-8").decode().encode("cp1258", errors="replace"))
    result = runner.invoke(args=["import-dossiers", str(bad), "--agency", world.agency.code])
    assert result.exit_code != 0 and "UTF-8" in result.output
    result = runner.invoke(args=["import-dossiers", str(tmp_path / "missing.csv"), "--agency", world.agency.code])
    assert result.exit_code != 0 and "Cannot read" in result.output
    result = runner.invoke(args=["import-dossiers", str(bad), "--agency", "NO-SUCH"])
    assert result.exit_code != 0 and "No unit" in result.output
    result = runner.invoke(args=["import-dossiers", str(bad)])  # the world has two agencies' worth of units
    assert result.exit_code != 0
    assert count_dossiers() == 0


def test_two_imports_of_one_file_at_once_store_each_dossier_once(app, tmp_root):
    """Real transactions on their own database: both imports look the codes up before either inserts; the loser
    of each insert race redoes its batch as updates, and nothing is duplicated or lost."""
    import threading

    from feedback_app.surveys.questionnaires import seed_questionnaires

    from .conftest import migrated_app

    if app.config["BACKEND"] != "postgresql":
        pytest.skip("SQLite lets one writer at a time: two imports cannot both insert before either commits")
    application = migrated_app(app.config["BACKEND"], tmp_root, "dossier_race")
    with application.app_context():
        seed_questionnaires()
        world = factories.build_world()
        db.session.commit()
        agency_id = world.agency.id
    data = csv_bytes([dossier_row(n) for n in range(1, 301)])
    start = threading.Barrier(2)
    results, failures = [], []
    real_upsert = services._upsert

    calls: list[int] = []

    def upsert_after_both_looked(run, rows, columns):
        calls.append(len(rows))
        outcome = real_upsert(run, rows, columns)
        if len(calls) <= 2:  # not on the loser's retry: nobody to wait for then
            start.wait(timeout=10)  # both have read "no such code" before either flushes its inserts
        return outcome

    def run_import() -> None:
        with application.app_context():
            try:
                parsed = parse_file(data, "x.csv")
                results.append(import_rows(ImportRun(None, agency_id, "cli"), parsed.rows, parsed.columns))
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(error)
            finally:
                db.session.remove()

    services._upsert = upsert_after_both_looked
    try:
        threads = [threading.Thread(target=run_import) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        services._upsert = real_upsert
    with application.app_context():
        stored = db.session.scalar(select(func.count(Dossier.id)))
        db.session.remove()
        db.engine.dispose()
    assert not failures, failures
    assert stored == 300
    assert len(results) == 2 and all(r.errors == 0 for r in results)
    assert len(calls) == 3  # the loser's batch was redone once, as updates
    assert sum(r.created for r in results) == 300 and sum(r.updated + r.unchanged for r in results) == 300
