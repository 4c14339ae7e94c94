"""The slip's words (shared by the DOCX, the printable page and the e-mail) and the DOCX itself.

The layout is that of an administrative document (Nghị định 30/2020/NĐ-CP): the issuing agency top left in
capitals over a short rule with the number below; the national title and motto top right with the rule under
the motto and the place and date in italics below; the document's name centred in bold; the signer at the right
over "Nơi nhận" at the left; Times New Roman, 13-14 pt, on A4 with margins of 20 mm top and bottom, 30 mm left and
15 mm right. The wording follows Mẫu số 04 of Thông tư 01/2018/TT-VPCP. The document is Vietnamese whatever the
reader's language, like every administrative document.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

from ..models import ApologySlip
from .slips import local_date, place_of

FONT = "Times New Roman"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TITLE = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
PARENT_TYPES = ("ubnd", "so")  # a governing body named above the agency (UBND tỉnh above a Sở)


def ddmmyyyy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def written_date(day: date) -> str:
    """"ngày 05 tháng 02 năm 2026", "ngày 24 tháng 11 năm 2026": a zero before days under 10 and months 1-2
    (Nghị định 30/2020, so that nothing can be written in front of them)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


@dataclass
class SlipContent:
    """What the slip says, in order, whatever it is rendered to."""

    parent_name: str | None
    agency_name: str
    number: str
    place_date: str
    recipient: str
    opening: str
    facts: list[tuple[str, str]]
    paragraphs: list[str]
    signer_title: str
    signer_name: str
    copies: list[str] = field(default_factory=lambda: ["- Như trên;", "- Lưu: VT."])
    title: str = TITLE
    nation: str = NATION
    motto: str = MOTTO


def slip_content(slip: ApologySlip) -> SlipContent:
    """The slip's text from the slip, its dossier and its agency."""
    dossier = slip.dossier
    agency = dossier.agency
    parent = agency.parent if agency.parent is not None and agency.parent.unit_type in PARENT_TYPES else None
    place = place_of(agency)
    written = written_date(local_date(slip.created_at))
    citizen = dossier.citizen_name or "người nộp hồ sơ"
    procedure = dossier.procedure_name + (f" (mã {dossier.procedure_code})" if dossier.procedure_code else "")
    reason = slip.reason.rstrip().rstrip(".")
    facts = [("Mã hồ sơ", dossier.code), ("Thủ tục hành chính", procedure),
             ("Ngày tiếp nhận", ddmmyyyy(dossier.received_date)),
             ("Ngày hẹn trả kết quả", ddmmyyyy(slip.original_appointment_date))]
    return SlipContent(
        parent_name=parent.name.upper() if parent else None,
        agency_name=agency.name.upper(),
        number=f"Số: {slip.number}",
        place_date=f"{place}, {written}" if place else written[0].upper() + written[1:],
        recipient=f"Kính gửi: Ông/Bà {citizen}.",
        opening=f"Ngày {ddmmyyyy(dossier.received_date)}, {agency.name} tiếp nhận giải quyết hồ sơ đề nghị giải "
                f"quyết thủ tục hành chính của Ông/Bà:",
        facts=facts,
        paragraphs=[
            f"Tuy nhiên, {agency.name} không trả được kết quả giải quyết hồ sơ của Ông/Bà đúng ngày hẹn nêu trên, "
            f"lý do: {reason}.",
            f"Sự chậm trễ này đã gây phiền hà cho Ông/Bà. {agency.name} thành thật xin lỗi Ông/Bà và xin hẹn lại "
            f"ngày trả kết quả giải quyết hồ sơ là ngày {ddmmyyyy(slip.new_appointment_date)} (thêm "
            f"{slip.extra_working_days} ngày làm việc).",
            "Rất mong nhận được sự thông cảm của Ông/Bà vì sự chậm trễ này./.",
        ],
        signer_title=slip.signer_title.upper(),
        signer_name=slip.signer_name,
    )


# DOCX -----------------------------------------------------------------------------------------------------------

def _font(run, size: float, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic = bold, italic
    # Word picks the font of Vietnamese letters from the East Asian and complex-script slots as well.
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _line(paragraph: Paragraph, text: str, size: float, *, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, after: float = 0) -> Paragraph:
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(0)
    paragraph.paragraph_format.space_after = Pt(after)
    if text:
        _font(paragraph.add_run(text), size, bold, italic)
    return paragraph


def _rule(paragraph: Paragraph, indent_cm: float) -> None:
    """The short solid line under the agency's name and under the motto: a bottom border, narrowed by indents."""
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = Cm(indent_cm)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _two_columns(document, left_cm: float, right_cm: float):
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, width in zip(table.rows[0].cells, (left_cm, right_cm), strict=True):
        cell.width = Cm(width)
    return table.rows[0].cells


def build_docx(slip: ApologySlip) -> bytes:
    """The slip as a Word document (A4, Times New Roman), ready to print, sign and stamp."""
    doc = slip_content(slip)
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(13)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)

    left, right = _two_columns(document, 6.5, 10)
    first = left.paragraphs[0]
    if doc.parent_name:
        _line(first, doc.parent_name, 12)
        first = left.add_paragraph()
    _line(first, doc.agency_name, 12, bold=True)
    _rule(_line(left.add_paragraph(), "", 6), 2.2)
    _line(left.add_paragraph(), doc.number, 13)
    _line(right.paragraphs[0], doc.nation, 12, bold=True)
    motto = _line(right.add_paragraph(), doc.motto, 13, bold=True)
    _rule(motto, 1.7)
    _line(right.add_paragraph(), doc.place_date, 13, italic=True).paragraph_format.space_before = Pt(6)

    _line(document.add_paragraph(), doc.title, 14, bold=True).paragraph_format.space_before = Pt(18)
    _line(document.add_paragraph(), doc.recipient, 13, after=12).paragraph_format.space_before = Pt(12)
    _body(document, doc.opening)
    for label, value in doc.facts:
        paragraph = _body(document, "")
        _font(paragraph.add_run(f"- {label}: "), 13)
        _font(paragraph.add_run(value), 13, bold=label == "Mã hồ sơ")
    for text in doc.paragraphs:
        _body(document, text)

    left, right = _two_columns(document, 7, 9.5)
    _line(left.paragraphs[0], "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for copy in doc.copies:
        _line(left.add_paragraph(), copy, 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(right.paragraphs[0], doc.signer_title, 13, bold=True)
    _line(right.add_paragraph(), "(Ký, ghi rõ họ tên và đóng dấu)", 13, italic=True, after=60)
    _line(right.add_paragraph(), doc.signer_name, 13, bold=True)

    document.core_properties.title = f"{doc.title} {slip.number}"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _body(document, text: str) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt = paragraph.paragraph_format
    fmt.first_line_indent, fmt.space_before, fmt.space_after, fmt.line_spacing = Cm(1), Pt(0), Pt(6), 1.15
    if text:
        _font(paragraph.add_run(text), 13)
    return paragraph
