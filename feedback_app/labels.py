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
# The role codes live in models.user.ROLES (with the database's check constraint); these are their names.
ROLE_LABELS = {
    "admin": _l("Quản trị hệ thống"), "office": _l("Văn phòng Sở"), "unit": _l("Đơn vị chuyên môn"),
    "counter": _l("Công chức tại quầy"), "viewer": _l("Lãnh đạo / chỉ xem"), "hotline": _l("Đường dây nóng"),
}
VERSION_STATUS_LABELS = {"draft": _l("Nháp"), "published": _l("Đang áp dụng"), "retired": _l("Đã thay thế")}
FLAG_REASON_LABELS = {"kiosk_gap": _l("Kiosk gửi quá nhanh"), "ip_burst": _l("Nhiều phiếu từ một địa chỉ mạng")}
REFUSAL_REASON_LABELS = {
    "invalid": _l("Thiếu hoặc sai câu trả lời"), "unknown_version": _l("Phiếu khảo sát không còn áp dụng"),
}
TOTAL_LABEL = _l("Tổng hợp")
UNKNOWN_GROUP_LABEL = _l("Không xác định")


def label_of(labels: dict[str, object], code: str | None) -> str:
    """The label of a code, or the code itself when it has none."""
    return str(labels.get(code, code or "")) if code is not None else ""


def choices_of(labels: dict[str, object]) -> list[tuple[str, object]]:
    """(code, label) pairs for a select, in the labels' order."""
    return list(labels.items())
