"""What people read for the codes the models store: translatable labels, kept out of the models."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "kiosk": _l("Kiosk tại quầy"), "qr": _l("Mã QR"), "web": _l("Trang web"), "sms": _l("SMS"),
    "paper": _l("Phiếu giấy"), "pakn": _l("Sau trả lời PAKN"),
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
# PAKN (feedback_app/models/complaint.py holds the codes).
COMPLAINT_KIND_LABELS = {"phan_anh": _l("Phản ánh"), "kien_nghi": _l("Kiến nghị"), "gop_y": _l("Góp ý")}
COMPLAINT_NATURE_LABELS = {"pakn": _l("Phản ánh, kiến nghị"), "khieu_nai": _l("Khiếu nại"), "to_cao": _l("Tố cáo")}
COMPLAINT_CHANNEL_LABELS = {
    "web": _l("Trang web"), "kiosk": _l("Kiosk tại quầy"), "hotline": _l("Đường dây nóng"), "letter": _l("Thư"),
    "email": _l("Thư điện tử"), "paper": _l("Phiếu giấy"), "survey": _l("Từ phiếu khảo sát"),
    "open311": _l("Hệ thống khác (Open311)"), "sms": _l("SMS"),
}
COMPLAINT_STATE_LABELS = {
    "received": _l("Mới tiếp nhận"), "classified": _l("Đã phân loại"), "assigned": _l("Đã giao đơn vị"),
    "drafted": _l("Đã có dự thảo trả lời"), "approved": _l("Đã duyệt trả lời"),
    "notified": _l("Đã thông báo người gửi"), "published": _l("Đã công khai"), "closed": _l("Đã kết thúc"),
}
COMPLAINT_OUTCOME_LABELS = {
    "answered": _l("Đã trả lời"), "not_accepted": _l("Không thụ lý"), "forwarded": _l("Chuyển cơ quan khác"),
    "duplicate": _l("Trùng lặp"), "withdrawn": _l("Người gửi rút lại"), "referred": _l("Chuyển xử lý theo luật riêng"),
}
COMPLAINT_ACTION_LABELS = {
    "received": _l("Tiếp nhận"), "classify": _l("Phân loại"), "assign": _l("Giao đơn vị"),
    "draft": _l("Dự thảo trả lời"),
    "approve": _l("Duyệt trả lời"), "return": _l("Trả lại dự thảo"), "notify": _l("Thông báo người gửi"),
    "publish": _l("Công khai"), "close": _l("Kết thúc"), "extended": _l("Gia hạn"), "duplicate": _l("Đánh dấu trùng"),
    "follow": _l("Nhận trả lời của mục chính"), "withdraw": _l("Rút lại"), "share": _l("Chia sẻ thông tin người gửi"),
    "note": _l("Ghi chú"), "erase": _l("Xóa thông tin cá nhân"),
    "deadline_moved": _l("Hạn thay đổi theo lịch làm việc"),
    "satisfaction_answered": _l("Người gửi đánh giá"),
}
DUE_STATUS_LABELS = {"overdue": _l("Quá hạn"), "due_soon": _l("Sắp đến hạn"), "on_time": _l("Trong hạn")}
HOTLINE_OUTCOME_LABELS = {
    "answered": _l("Đã giải đáp"), "pakn": _l("Chuyển thành PAKN"), "transferred": _l("Chuyển máy"),
    "not_pakn": _l("Không phải PAKN"), "dropped": _l("Cuộc gọi bị ngắt"),
}
TOTAL_LABEL = _l("Tổng hợp")
UNKNOWN_GROUP_LABEL = _l("Không xác định")


def label_of(labels: dict[str, object], code: str | None) -> str:
    """The label of a code, or the code itself when it has none."""
    return str(labels.get(code, code or "")) if code is not None else ""


def choices_of(labels: dict[str, object]) -> list[tuple[str, object]]:
    """(code, label) pairs for a select, in the labels' order."""
    return list(labels.items())
