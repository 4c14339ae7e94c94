"""What people read for the codes the models store: translatable labels, kept out of the models."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "kiosk": _l("Kiosk tại quầy"), "qr": _l("Mã QR"), "web": _l("Trang web"), "sms": _l("SMS"),
    "paper": _l("Phiếu giấy"),
}
UNIT_TYPE_LABELS = {
    "ubnd": _l("Ủy ban nhân dân"), "so": _l("Sở, ngành"), "ttpvhcc": _l("Trung tâm Phục vụ hành chính công"),
    "motcua": _l("Bộ phận Một cửa"), "phong": _l("Phòng, đơn vị"),
}
EVENT_KIND_LABELS = {"merge": _l("Hợp nhất / sáp nhập"), "rename": _l("Đổi tên"), "split": _l("Chia tách")}
COMPARISON_LABELS = {"gt": _l("trên (>)"), "gte": _l("từ … trở lên (≥)")}
TOTAL_LABEL = _l("Tổng hợp")
UNKNOWN_GROUP_LABEL = _l("Không xác định")


def label_of(labels: dict[str, object], code: str | None) -> str:
    """The label of a code, or the code itself when it has none."""
    return str(labels.get(code, code or "")) if code is not None else ""


def choices_of(labels: dict[str, object]) -> list[tuple[str, object]]:
    """(code, label) pairs for a select, in the labels' order."""
    return list(labels.items())
