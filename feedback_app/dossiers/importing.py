"""Reading dossier rows: a CSV or XLSX file (upload, CLI) or the API's JSON items, into checked values.

Columns are found by their header, in the one-stop system's Vietnamese words or the API's snake_case names, with
case, diacritics and spacing ignored. A row with a problem that loses a fact (no code, a wrong date) is an
error and is not imported; one whose problem only loses a detail (a phone that is not a phone) is a warning and
is imported without it. The file itself is refused (FileProblem) only when no row can be read.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..models.dossier import Dossier
from ..parsing import clean_text
from ..phones import normalise_phone
from ..timeutil import DateOutOfRange, local_today, parse_date

# field -> the headers it may have (compared by `header_key`); the first is how the one-stop system writes it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Mã hồ sơ", "Số hồ sơ", "code", "dossier_code"),
    "procedure_code": ("Mã thủ tục", "Mã TTHC", "procedure_code"),
    "procedure_name": ("Tên thủ tục", "Thủ tục", "Tên TTHC", "procedure_name", "procedure"),
    "field_name": ("Lĩnh vực", "field_name", "field"),
    "citizen_name": ("Người nộp", "Tên người nộp", "Chủ hồ sơ", "citizen_name", "applicant"),
    "phone": ("Số điện thoại", "Điện thoại", "SĐT", "phone"),
    "email": ("Thư điện tử", "Email", "E-mail"),
    "counter_name": ("Quầy", "Quầy tiếp nhận", "counter_name", "counter"),
    "officer_name": ("Cán bộ tiếp nhận", "Cán bộ", "officer_name", "officer"),
    "received_date": ("Ngày tiếp nhận", "Ngày nhận", "received_date"),
    "appointment_date": ("Ngày hẹn trả", "Ngày hẹn trả kết quả", "appointment_date"),
    "returned_date": ("Ngày trả kết quả", "Ngày trả", "returned_date"),
    "supplement_count": ("Số lần bổ sung", "supplement_count"),
    "channel": ("Hình thức nộp", "Kênh nộp", "channel"),
    "status": ("Trạng thái", "status"),
}
REQUIRED = ("code", "procedure_name", "received_date", "appointment_date")
MAX_LENGTHS = {name: Dossier.__table__.c[name].type.length for name in (
    "code", "procedure_code", "procedure_name", "field_name", "counter_name", "officer_name", "citizen_name",
    "email")}
HEADER_SEARCH_ROWS = 10  # exports often start with a title and a blank line before the header row

CHANNELS = {"tructiep": "in_person", "inperson": "in_person", "tructuyen": "online", "online": "online",
            "dichvucongtructuyen": "online", "buuchinhcongich": "postal", "buuchinh": "postal",
            "postal": "postal", "quabuuchinh": "postal"}
STATUSES = {
    "received": "received", "datiepnhan": "received", "moitiepnhan": "received", "tiepnhan": "received",
    "processing": "processing", "dangxuly": "processing", "danggiaiquyet": "processing", "dangthuly": "processing",
    "supplement": "supplement", "chobosung": "supplement", "yeucaubosung": "supplement", "bosung": "supplement",
    "returned": "returned", "datraketqua": "returned", "datra": "returned", "hoanthanh": "returned",
    "dahoanthanh": "returned", "cancelled": "cancelled", "dahuy": "cancelled", "huy": "cancelled",
    "tuchoi": "cancelled", "ruthoso": "cancelled", "khongtiepnhan": "cancelled",
}
LABELS = {"code": _l("Mã hồ sơ"), "procedure_name": _l("Tên thủ tục"), "received_date": _l("Ngày tiếp nhận"),
          "appointment_date": _l("Ngày hẹn trả")}


class FileProblem(Exception):
    """The file cannot be read at all: the message says what to do."""


@dataclass
class Issue:
    """One thing to fix: a row (as numbered in the file, or the API item's index), a column, a message."""

    row: int
    column: str
    message: str
    level: str = "error"  # or "warning": the row is imported without that detail


@dataclass
class Row:
    """A row read from a file or the API: its number, the values to save (None when it has an error), issues."""

    number: int
    values: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)


@dataclass
class ParsedFile:
    rows: list[Row]
    columns: dict[str, str]  # field -> header as written in the file

    @property
    def issues(self) -> list[Issue]:
        return [i for r in self.rows for i in r.issues]


def header_key(text: object) -> str:
    """"Mã hồ sơ", "MA HO SO", "ma_ho_so" -> "mahoso"."""
    text = unicodedata.normalize("NFD", str(text or "").replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)).casefold())


_ALIASES = {header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def match_headers(headers: Iterable[object]) -> dict[str, int]:
    """field -> index of its column (the first one when a header repeats)."""
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = _ALIASES.get(header_key(header))
        if name is not None and name not in found:
            found[name] = index
    return found


def missing_columns(found: Mapping[str, int]) -> list[str]:
    """The required fields without a column (a procedure may come by its code alone)."""
    missing = [name for name in REQUIRED if name not in found]
    if "procedure_name" in missing and "procedure_code" in found:
        missing.remove("procedure_name")
    return missing


# --- reading files ----------------------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:4096]:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise FileProblem(_("Không đọc được tệp: tệp CSV không ở bảng mã UTF-8 (có thể là Windows-1258, TCVN3 hoặc "
                        "UTF-16 không có BOM). Hãy mở tệp bằng Excel, chọn Lưu thành (Save As) > “CSV UTF-8 "
                        "(Comma delimited) (*.csv)” hoặc lưu thành .xlsx, rồi tải lên lại."))


def _csv_rows(data: bytes) -> Iterator[list[object]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as error:
        raise FileProblem(_("Không đọc được tệp CSV từ dòng %(line)d (sai định dạng, ví dụ dấu ngoặc kép không "
                            "đóng). Hãy mở tệp bằng Excel và lưu lại thành “CSV UTF-8” hoặc .xlsx.",
                            line=reader.line_num)) from error


XLSX_MAX_UNPACKED = 128 * 1024 * 1024  # 50,000 rows of a one-stop export unpack to 20-80 MB
_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError, TypeError, EOFError)


def _broken_xlsx() -> FileProblem:
    return FileProblem(_("Không đọc được tệp Excel: tệp bị hỏng hoặc không phải tệp .xlsx. Hãy mở tệp bằng "
                         "Excel và lưu lại thành “Excel Workbook (*.xlsx)”."))


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a zip bomb before openpyxl unpacks it: the sizes its directory declares are what zipfile will ever
    read of each member (a member longer than declared fails its check), so their sum bounds the work."""
    try:
        declared = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except _XLSX_ERRORS as error:
        raise _broken_xlsx() from error
    if declared > XLSX_MAX_UNPACKED:
        raise FileProblem(_("Tệp Excel khi giải nén quá lớn (hơn %(size)d MB dữ liệu). Hãy chia thành nhiều tệp "
                            "nhỏ hơn (ví dụ theo tháng) hoặc lưu thành CSV UTF-8 rồi tải lên lại.",
                            size=XLSX_MAX_UNPACKED // (1024 * 1024)))


def _xlsx_rows(data: bytes) -> Iterator[list[object]]:
    """The first sheet's rows one at a time: the caller stops at its row limit without reading the rest."""
    from openpyxl import load_workbook  # a heavy import, only for spreadsheets

    _check_unpacked_size(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except _XLSX_ERRORS as error:
        raise _broken_xlsx() from error
    try:
        rows = sheet.iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except _XLSX_ERRORS as error:
                raise _broken_xlsx() from error
            yield list(row)
    finally:
        book.close()


def read_table(data: bytes, filename: str = "") -> Iterator[list[object]]:
    """The rows of a CSV (UTF-8, with or without BOM; UTF-16 with BOM) or XLSX file, by its content."""
    if not data.strip():
        raise FileProblem(_("Tệp trống: không có dòng nào để nhập."))
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_rows(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(_("Tệp Excel đời cũ (.xls) chưa được hỗ trợ. Hãy mở bằng Excel và lưu lại thành .xlsx "
                            "hoặc CSV UTF-8, rồi tải lên lại."))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileProblem(_("Không đọc được tệp Excel: tệp bị hỏng hoặc không phải tệp .xlsx. Hãy mở tệp bằng "
                            "Excel và lưu lại thành “Excel Workbook (*.xlsx)”."))
    return _csv_rows(data)


def _blank(cells: Iterable[object]) -> bool:
    return all(c is None or str(c).strip() == "" for c in cells)


def parse_file(data: bytes, filename: str = "", max_rows: int = 50000) -> ParsedFile:
    """Every row of the file checked; FileProblem when the file, its header or its size is wrong."""
    table = read_table(data, filename)
    headers: list[object] = []
    found: dict[str, int] = {}
    header_row = 0
    for number, cells in enumerate(table, start=1):
        matched = match_headers(cells)
        if not _blank(cells) and (not headers or len(matched) > len(found)):
            headers, found, header_row = cells, matched, number  # the row that looks most like a header
        if "code" in found or number >= HEADER_SEARCH_ROWS:
            break
    if not headers:
        raise FileProblem(_("Tệp trống: không có dòng nào để nhập."))
    missing = missing_columns(found)
    if missing:
        raise FileProblem(_("Tệp thiếu cột bắt buộc: %(columns)s. Dòng tiêu đề phải có các cột Mã hồ sơ, Tên thủ "
                            "tục, Ngày tiếp nhận, Ngày hẹn trả (như tệp xuất từ hệ thống một cửa).",
                            columns=", ".join(f"“{LABELS[m]}”" for m in missing)))
    columns = {name: str(headers[index]).strip() for name, index in found.items()}
    rows: list[Row] = []
    for number, cells in enumerate(table, start=header_row + 1):
        if _blank(cells):
            continue
        if len(rows) >= max_rows:
            raise FileProblem(_("Tệp có hơn %(n)d dòng hồ sơ. Hãy chia thành nhiều tệp nhỏ hơn rồi nhập lần lượt.",
                                n=max_rows))
        raw = {name: cells[index] if index < len(cells) else None for name, index in found.items()}
        rows.append(check_row(raw, number, columns))
    if not rows:
        raise FileProblem(_("Tệp chỉ có dòng tiêu đề, chưa có dòng hồ sơ nào để nhập."))
    flag_repeated_codes(rows, columns)
    return ParsedFile(rows, columns)


def flag_repeated_codes(rows: list[Row], columns: Mapping[str, str], api: bool = False) -> None:
    """A code that comes again in the same file or request: the later row is imported over the earlier one (the
    one-stop system's last word), with a warning, so the report does not hide that one row was overwritten."""
    first: dict[str, int] = {}
    for row in rows:
        code = row.values["code"] if row.values else None
        if code is None:
            continue
        if code not in first:
            first[code] = row.number
            continue
        message = (_("Mã hồ sơ trùng với hồ sơ có index %(row)d trong cùng yêu cầu: hồ sơ này được nhập đè lên hồ "
                     "sơ đó.", row=first[code]) if api else
                   _("Mã hồ sơ trùng với dòng %(row)d trong cùng tệp: dòng này được nhập đè lên dòng đó; hãy kiểm "
                     "tra lại.", row=first[code]))
        row.issues.append(Issue(row.number, columns.get("code") or str(LABELS["code"]), message, "warning"))


def parse_items(items: list[Any]) -> list[Row]:
    """The API's JSON items, numbered from 0 as in the request; field names are the same as the columns'."""
    rows = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rows.append(Row(index, None, [Issue(index, "", _("Mỗi hồ sơ phải là một đối tượng JSON."))]))
            continue
        keys = list(item.keys())
        found = match_headers(keys)
        raw = {name: item[keys[i]] for name, i in found.items()}
        columns = {name: name for name in COLUMNS} | {name: str(keys[i]) for name, i in found.items()}
        nested = [name for name, value in raw.items() if isinstance(value, dict | list | bool)]
        if nested:
            rows.append(Row(index, None, [Issue(index, columns[name], _("Phải là chuỗi ký tự hoặc số."))
                                          for name in nested]))
            continue
        rows.append(check_row(raw, index, columns))
    flag_repeated_codes(rows, {"code": "code"}, api=True)
    return rows


# --- checking one row -------------------------------------------------------------------------------------------

def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet number cell: 12.0 is 12
    return str(value).strip()


def _date(value: object) -> date:
    """A date cell or dd/mm/yyyy / yyyy-mm-dd text (a time after it, as some exports add, is ignored)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return parse_date(value.isoformat(), bounded=True)
    text = _text(value)
    text = re.split(r"[ T]", text, maxsplit=1)[0]
    text = re.sub(r"^(\d{1,2})[.-](\d{1,2})[.-](\d{4})$", r"\1/\2/\3", text)
    return parse_date(text, bounded=True)


class _Checker:
    def __init__(self, raw: Mapping[str, object], number: int, columns: Mapping[str, str]) -> None:
        self.raw, self.number, self.columns = raw, number, columns
        self.issues: list[Issue] = []

    def problem(self, name: str, message: str, level: str = "error") -> None:
        column = self.columns.get(name) or str(LABELS.get(name, name))
        self.issues.append(Issue(self.number, column, message, level))

    def text(self, name: str, required: bool = False) -> str | None:
        value, refused = clean_text(_text(self.raw.get(name)))
        if refused:
            self.problem(name, _("Có ký tự điều khiển không hợp lệ; hãy xóa ký tự đó."))
            return None
        value = re.sub(r"\s+", " ", value)
        if not value:
            if required:
                self.problem(name, _("Ô này không được để trống."))
            return None
        limit = MAX_LENGTHS.get(name)
        if limit and len(value) > limit:
            self.problem(name, _("Dài quá %(n)d ký tự; hãy rút gọn.", n=limit))
            return None
        return value

    def date(self, name: str, required: bool = False) -> date | None:
        value = self.raw.get(name)
        if value is None or _text(value) == "":
            if required:
                self.problem(name, _("Ô này không được để trống; hãy ghi ngày dạng dd/mm/yyyy."))
            return None
        try:
            return _date(value)
        except DateOutOfRange as error:
            self.problem(name, _("Ngày “%(value)s” phải nằm trong các năm %(first)d–%(last)d.",
                                 value=_text(value)[:20], first=error.first, last=error.last))
        except ValueError:
            self.problem(name, _("Ngày “%(value)s” chưa đúng dạng dd/mm/yyyy (ví dụ 25/03/2026).",
                                 value=_text(value)[:20]))
        return None


def check_row(raw: Mapping[str, object], number: int, columns: Mapping[str, str]) -> Row:
    """One row's values as the model stores them, or its errors; warnings drop only the detail they concern."""
    c = _Checker(raw, number, columns)
    values: dict[str, Any] = {name: c.text(name) for name in (
        "procedure_code", "field_name", "citizen_name", "counter_name", "officer_name")}
    values["code"] = c.text("code", required=True)
    values["procedure_name"] = c.text("procedure_name", required=not values["procedure_code"])
    values["received_date"] = c.date("received_date", required=True)
    values["appointment_date"] = c.date("appointment_date", required=True)
    values["returned_date"] = c.date("returned_date")
    received, appointment, returned = values["received_date"], values["appointment_date"], values["returned_date"]
    if received and appointment and appointment < received:
        c.problem("appointment_date", _("Ngày hẹn trả trước ngày tiếp nhận; hãy kiểm tra lại hai ngày này."))
    if received and returned and returned < received:
        c.problem("returned_date", _("Ngày trả kết quả trước ngày tiếp nhận; hãy kiểm tra lại hai ngày này."))
    # A dossier is not received or returned in the future: such a date is a typo (2062 for 2026), and a "returned"
    # one would be invited by SMS on that day, its message waiting in the outbox for months.
    today = local_today()
    for name in ("received_date", "returned_date"):
        if values[name] and values[name] > today:
            c.problem(name, _("Ngày %(day)s ở sau hôm nay (%(today)s); hãy kiểm tra lại ngày này.",
                              day=f"{values[name]:%d/%m/%Y}", today=f"{today:%d/%m/%Y}"))

    supplements = _text(raw.get("supplement_count"))
    values["supplement_count"] = 0
    if supplements:
        if re.fullmatch(r"\d{1,3}", supplements):
            values["supplement_count"] = int(supplements)
        else:
            c.problem("supplement_count", _("Số lần bổ sung phải là số nguyên từ 0 trở lên."))

    channel = header_key(raw.get("channel"))
    values["channel"] = CHANNELS.get(channel, "in_person" if not channel else None)
    if values["channel"] is None:
        c.problem("channel", _("Hình thức nộp chưa rõ; hãy ghi Trực tiếp, Trực tuyến hoặc Bưu chính công ích."))

    status_text = c.text("status")
    status = STATUSES.get(header_key(status_text)) if status_text else None
    if returned and status != "cancelled":
        status = "returned"  # the return date is the fact; a status column lagging behind it does not undo it
    elif status is None:
        status = "processing" if status_text else "received"
    elif status == "returned":
        c.problem("returned_date", _("Trạng thái là đã trả kết quả nhưng chưa có ngày trả kết quả; hãy ghi ngày "
                                     "trả dạng dd/mm/yyyy."))
    values["status"], values["status_text"] = status, (status_text or "")[:80] or None

    phone_raw = _text(raw.get("phone"))
    if phone_raw.isdigit() and len(phone_raw) == 9:
        phone_raw = "0" + phone_raw  # a number cell lost its leading zero
    values["phone"] = normalise_phone(phone_raw) if phone_raw else None
    if phone_raw and values["phone"] is None:
        c.problem("phone", _("Số điện thoại không hợp lệ (cần 10 chữ số, ví dụ 0901234567): hồ sơ vẫn được nhập "
                             "nhưng không có số điện thoại, nên sẽ không gửi tin nhắn khảo sát."), "warning")
    email = c.text("email")
    values["email"] = email if email and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) else None
    if email and values["email"] is None:
        c.problem("email", _("Địa chỉ thư điện tử không hợp lệ: hồ sơ vẫn được nhập nhưng không có địa chỉ này."),
                  "warning")
    errors = any(i.level == "error" for i in c.issues)
    return Row(number, None if errors else values, c.issues)
