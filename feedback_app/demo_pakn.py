"""Demo PAKN and hotline calls for the demo agency: items in every state, some overdue, some published, made
through the same services the pages use (so deadlines, history and notices are real)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from .complaints import actions
from .complaints.intake import Intake, Sender, file_complaint
from .extensions import db
from .models import AnswerTemplate, HotlineCall, OrgUnit, User
from .timeutil import LOCAL_TZ, utcnow

SENDERS = [
    ("Nguyễn Văn Bình", "15 Lê Thánh Tôn, phường Nha Trang", "0905 214 578", "binh.nv@example.vn"),
    ("Trần Thị Hương", "thôn Phú Bình, xã Diên Khánh", "0914 337 162", ""),
    ("Lê Quang Vinh", "22 Hùng Vương, phường Cam Ranh", "0983 620 914", "vinhlq@example.vn"),
    ("Phạm Thị Thu", "tổ 4, phường Ninh Hòa", "0372 558 031", ""),
    ("Huỳnh Minh Tâm", "08 Trần Phú, phường Nha Trang", "0935 771 246", "tam.hm@example.vn"),
]
MATTERS = [
    ("phan_anh", "Trễ hẹn trả giấy phép xây dựng", "Tôi nộp hồ sơ cấp giấy phép xây dựng nhà ở riêng lẻ, phiếu hẹn "
     "trả kết quả đã quá 5 ngày nhưng chưa nhận được kết quả và không có phiếu xin lỗi, hẹn lại."),
    ("phan_anh", "Công chức hướng dẫn chưa đầy đủ", "Tại quầy số 3, tôi được yêu cầu bổ sung giấy tờ hai lần, mỗi lần "
     "một loại khác nhau. Đề nghị hướng dẫn đầy đủ ngay từ lần đầu."),
    ("kien_nghi", "Bổ sung chỗ ngồi chờ", "Buổi sáng khu vực chờ tại Trung tâm Phục vụ hành chính công thiếu ghế, "
     "người cao tuổi phải đứng chờ lâu. Kiến nghị bố trí thêm ghế và máy lấy số."),
    ("kien_nghi", "Rút ngắn thời gian đăng kiểm", "Đề nghị Trung tâm Đăng kiểm mở thêm dây chuyền vào cuối tháng để "
     "giảm thời gian chờ của xe tải."),
    ("phan_anh", "Thu phí không đúng niêm yết", "Tôi bị thu thêm phí photo hồ sơ tại bộ phận một cửa, không có biên "
     "lai. Đề nghị kiểm tra."),
    ("gop_y", "Trang thông tin khó tra cứu", "Trang thông tin điện tử của Sở khó tìm thủ tục cấp chứng chỉ hành "
     "nghề; nên có ô tìm kiếm."),
    ("phan_anh", "Không nhận được tin nhắn báo kết quả", "Hồ sơ đăng ký xe của tôi đã có kết quả nhưng tôi không nhận "
     "được tin nhắn báo, phải đến hỏi nhiều lần."),
    ("kien_nghi", "Thanh toán trực tuyến", "Đề nghị cho phép nộp lệ phí cấp phép bằng chuyển khoản hoặc ví điện tử."),
]
ANSWERS = [
    "Sở Xây dựng đã kiểm tra: hồ sơ của Ông/Bà trễ hẹn do chờ ý kiến của cơ quan phối hợp. Sở xin lỗi Ông/Bà; giấy "
    "phép đã được ký và trả ngày làm việc kế tiếp. Sở đã nhắc nhở bộ phận liên quan gửi phiếu xin lỗi đúng hạn.",
    "Sở tiếp thu kiến nghị và đã bố trí thêm 20 ghế chờ cùng một máy lấy số thứ tự tại khu vực tiếp nhận từ ngày "
    "01 tháng sau.",
]


def _local(days_ago: int, hour: int = 9) -> datetime:
    day = (utcnow().astimezone(LOCAL_TZ) - timedelta(days=days_ago)).date()
    # Stored in UTC (SQLite keeps the wall time of whatever zone it is given).
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=LOCAL_TZ).astimezone(UTC)


def load_demo_pakn(units: dict[str, OrgUnit], rng: random.Random) -> int:
    """PAKN in every step of the workflow and a week of hotline calls; returns how many items."""
    office = db.session.scalar(select(User).where(User.role == "office", User.org_unit_id == units["SXD"].id))
    unit_user = db.session.scalar(select(User).where(User.role == "unit"))
    hotline = db.session.scalar(select(User).where(User.role == "hotline"))
    agency = units["SXD"]
    db.session.add(AnswerTemplate(agency=agency, kind="phan_anh", title="Xin lỗi vì trễ hẹn", body=(
        "Sở Xây dựng đã kiểm tra nội dung Ông/Bà phản ánh. Hồ sơ trễ hẹn do … Sở xin lỗi Ông/Bà và đã trả kết quả "
        "ngày … Sở đã chấn chỉnh bộ phận liên quan.")))
    db.session.add(AnswerTemplate(agency=None, kind="kien_nghi", title="Tiếp thu kiến nghị", body=(
        "Cơ quan cảm ơn kiến nghị của Ông/Bà. Nội dung được tiếp thu như sau: …")))
    # (days ago received, matter, sender or None for anonymous, how far along)
    plan = [(1, 0, 0, "received"), (2, 2, None, "received"), (3, 5, None, "received"), (4, 1, 1, "classified"),
            (6, 3, 2, "assigned"), (9, 4, 3, "drafted"), (12, 6, 4, "approved"), (20, 0, 2, "notified"),
            (25, 2, 0, "published"), (40, 7, 1, "closed"), (8, 4, 4, "not_accepted"), (30, 1, 3, "overdue")]
    items = []
    for days_ago, matter, sender_index, step in plan:
        kind, title, content = MATTERS[matter]
        sender = Sender(*SENDERS[sender_index]) if sender_index is not None else Sender()
        complaint, _secret = file_complaint(Intake(
            agency_id=agency.id, kind=kind, title=title, content=content, channel=rng.choice(
                ["web", "web", "kiosk", "hotline", "letter", "email"]),
            sender=sender, consent=sender_index is not None, received_at=_local(days_ago)))
        db.session.commit()
        _advance(complaint, step, office, unit_user, units)
        items.append(complaint)
    for day in range(1, 8):  # the week before today: every call is in the past
        for n in range(rng.randint(2, 5)):
            outcome = rng.choice(["answered", "answered", "answered", "transferred", "not_pakn", "dropped"])
            db.session.add(HotlineCall(agency_id=agency.id, operator_id=hotline.id,
                                       started_at=_local(day, 8 + n), duration_seconds=rng.randint(40, 600),
                                       caller_name=rng.choice([None, "Anh Tuấn", "Chị Hoa", "Ông Sáu"]),
                                       caller_phone=f"09{rng.randint(10_000_000, 99_999_999)}",
                                       topic=rng.choice(["Hỏi thủ tục cấp phép xây dựng", "Hỏi lịch đăng kiểm",
                                                         "Hỏi tiến độ hồ sơ", "Phí, lệ phí"]),
                                       notes="Công dân hỏi; tổng đài viên hướng dẫn theo quy định hiện hành.",
                                       outcome=outcome))
    db.session.flush()
    return len(items)


def _advance(complaint, step: str, office: User, unit_user: User, units: dict[str, OrgUnit]) -> None:
    if step == "received":
        return
    if step == "not_accepted":
        actions.classify(office, complaint, None, "not_accepted", reason="Nội dung đã được trả lời tại PAKN trước.")
        return
    actions.classify(office, complaint, None, "handle")
    if step == "classified":
        return
    actions.assign(office, [complaint], units["SXD-TTDK"].id)
    if step in ("assigned", "overdue"):
        return
    actions.draft(unit_user, complaint, None, ANSWERS[complaint.id % 2])
    if step == "drafted":
        return
    actions.approve(office, complaint, None)
    if step == "approved":
        return
    actions.notify_sender(office, complaint, None)
    if step == "notified":
        return
    actions.publish(office, complaint, None, complaint.title + ". " + complaint.content[:160], complaint.answer_text)
    if step == "closed":
        actions.close(office, complaint, None)
