"""The queue as an XLSX file for the office's reports: the same scope and filter as the page, and no personal
data (names, phones, addresses, e-mails never leave in a file)."""

from __future__ import annotations

import io
from datetime import datetime

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from ..extensions import db
from ..labels import (
    COMPLAINT_CHANNEL_LABELS,
    COMPLAINT_KIND_LABELS,
    COMPLAINT_OUTCOME_LABELS,
    COMPLAINT_STATE_LABELS,
    label_of,
)
from ..models import User
from ..timeutil import to_local
from .deadlines import answered_on_time, current_due
from .queries import QueueFilter, queue_query

MAX_ROWS = 100_000


def _local(value: datetime | None) -> datetime | None:
    return to_local(value).replace(tzinfo=None) if value else None  # Excel has no time zones: local time


def queue_workbook(user: User, f: QueueFilter) -> bytes:
    """An XLSX of the items the user may read that match the filter."""
    book = Workbook()
    sheet = book.active
    sheet.title = "PAKN"
    headers = [_("Mã"), _("Tiếp nhận"), _("Loại"), _("Kênh"), _("Trạng thái"), _("Kết quả"), _("Đơn vị"),
               _("Tiêu đề"), _("Hạn bước hiện tại"), _("Hạn trả lời"), _("Thông báo người gửi"), _("Đúng hạn")]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for c in db.session.scalars(queue_query(user, f).limit(MAX_ROWS)):
        on_time = answered_on_time(c)
        sheet.append([c.code, _local(c.received_at), label_of(COMPLAINT_KIND_LABELS, c.kind),
                      label_of(COMPLAINT_CHANNEL_LABELS, c.channel), label_of(COMPLAINT_STATE_LABELS, c.state),
                      label_of(COMPLAINT_OUTCOME_LABELS, c.outcome), c.unit.name if c.unit else "",
                      c.title or "", _local(current_due(c)), _local(c.answer_due_at), _local(c.notified_at),
                      "" if on_time is None else (_("Có") if on_time else _("Không"))])
    for column, width in zip("ABCDEFGHIJKL", (16, 18, 12, 16, 22, 22, 30, 40, 18, 18, 18, 10), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
