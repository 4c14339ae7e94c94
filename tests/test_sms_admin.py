"""/admin/sms: who may change an agency's SMS settings, what is refused and why, the audit row, the segment
count and the cost of a campaign; /admin/sms/funnel: the numbers, and no personal data."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import AgencySmsSettings, AuditEvent, Campaign, OutboxMessage
from feedback_app.timeutil import local_today, utcnow

from . import factories
from .invitation_helpers import dossier, invite


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _form(client, agency_id, **values):
    html = client.get(f"/admin/sms?agency={agency_id}").get_data(as_text=True)
    data = {"csrf_token": _csrf(html), "agency_id": agency_id, "sender_name": "", "invitation_template": "",
            "ascii_only": "", "send_at": "", "quiet_hours": "", "min_days_between": "", "link_valid_days": "",
            "price_per_segment": ""}
    data.update(values)
    return client.post("/admin/sms", data={k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("office", 200), ("viewer", 403), ("unit", 403),
                                              ("counter", 403)])
def test_who_may_open_the_settings(client, login_as, world, role, status):
    login_as(role)
    assert client.get("/admin/sms").status_code == status


def test_anonymous_is_sent_to_login(client, world):
    assert client.get("/admin/sms").status_code == 302
    assert client.get("/admin/sms/funnel").status_code == 302


def test_office_manages_only_its_own_agency(client, login_as, world):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    db.session.commit()
    login_as("office")
    assert client.get(f"/admin/sms?agency={other.id}").status_code == 404
    html = client.get("/admin/sms").get_data(as_text=True)
    token = _csrf(html)
    refused = client.post("/admin/sms", data={"csrf_token": token, "agency_id": other.id, "sender_name": "SYT"})
    assert refused.status_code == 404
    assert db.session.get(AgencySmsSettings, other.id) is None


def test_save_writes_settings_and_an_audit_row(client, login_as, world):
    user = login_as("office")
    response = _form(client, world.agency.id, sender_name="SXDKH", invitation_template="{agency}: {link} {reply}",
                     ascii_only="1", send_at="18:30", use_own_quiet="y", quiet_hours="22:00-06:30",
                     min_days_between="10", link_valid_days="5", price_per_segment="600", paused="y")
    assert response.status_code == 303, response.get_data(as_text=True)
    row = db.session.get(AgencySmsSettings, world.agency.id)
    assert (row.sender_name, row.ascii_only, row.send_at, row.quiet_hours, row.min_days_between,
            row.link_valid_days, row.paused) == ("SXDKH", True, "18:30", "22:00-06:30", 10, 5, True)
    assert Decimal(str(row.price_per_segment)) == Decimal("600") and row.updated_by_id == user.id
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sms_settings.update"))
    assert audit.user_id == user.id and audit.details["changes"]["sender_name"] == [None, "SXDKH"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    # The server's count of the invitation as sent: brand in front, without diacritics, one GSM-7 segment.
    assert "SXDKH: So Xay dung" in page and "GSM-7" in page and "1 tin nhắn" in page
    assert "tạm dừng gửi tin mời" in page
    # Saving again without a change adds no audit row; empty quiet hours with the box ticked means none.
    _form(client, world.agency.id, sender_name="SXDKH", invitation_template="{agency}: {link} {reply}",
          ascii_only="1", send_at="18:30", use_own_quiet="y", quiet_hours="", min_days_between="10",
          link_valid_days="5", price_per_segment="600", paused="y")
    assert db.session.get(AgencySmsSettings, world.agency.id).quiet_hours == ""
    back = _form(client, world.agency.id)  # everything empty: the installation's values again
    assert back.status_code == 303
    row = db.session.get(AgencySmsSettings, world.agency.id)
    assert row.sender_name is None and row.quiet_hours is None and row.paused is False


@pytest.mark.parametrize(("values", "message"), [
    ({"invitation_template": "Mời đánh giá {agency}"}, "phải có {link}"),
    ({"invitation_template": "{ten} {link}"}, "{ten}"),
    ({"sender_name": "SO XAY DUNG"}, "không có khoảng trắng"),
    ({"sender_name": "SOXAYDUNGKHANH"}, "tối đa 11"),
    ({"sender_name": "SởXD"}, "chữ cái không dấu"),
    ({"send_at": "7 giờ tối"}, "HH:MM"),
    ({"use_own_quiet": "y", "quiet_hours": "21:00"}, "HH:MM-HH:MM"),
    ({"link_valid_days": "0"}, "từ 1 đến 90"),
    ({"min_days_between": "-1"}, "từ 0 đến 365"),
    ({"price_per_segment": "abc"}, ""),
])
def test_bad_values_are_refused_with_what_to_fix(client, login_as, world, values, message):
    login_as("admin")
    response = _form(client, world.agency.id, **{"sender_name": "SXDKH", **values})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert db.session.get(AgencySmsSettings, world.agency.id) is None  # nothing half-saved
    for value in values.values():
        assert value in html or value == "y"  # what was typed is kept


def test_long_template_is_saved_with_a_warning(client, login_as, world):
    login_as("admin")
    long_text = "{agency} " + "Đánh giá sự hài lòng " * 12 + "{link}"
    assert _form(client, world.agency.id, invitation_template=long_text).status_code == 303
    page = client.get(f"/admin/sms?agency={world.agency.id}").get_data(as_text=True)
    assert "UCS-2" in page and "quá 3" in page and "Chưa có tên định danh" in page


def test_campaign_cost(client, login_as, world):
    login_as("admin")
    campaign = Campaign(name="Đợt 1/2026", period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                        channels=["sms"], target_sample=100)
    campaign.units = [world.agency]
    db.session.add(campaign)
    for day, phone in [(date(2026, 3, 2), "0905000001"), (date(2026, 3, 30), "0905000001"),
                       (date(2026, 3, 15), "0905000002"), (date(2026, 3, 15), None), (date(2026, 4, 1), "0905000003")]:
        dossier(world.agency.id, phone=phone, returned=day)
    dossier(world.unit_a.id, phone="0905000004", returned=date(2026, 3, 3))  # a unit below the agency counts
    dossier(world.agency.id, phone="0905000005", status="processing", returned=None)
    db.session.add(AgencySmsSettings(agency_id=world.agency.id, price_per_segment=Decimal("700"), ascii_only=True,
                                     invitation_template="{agency} {link}", paused=False))
    db.session.commit()
    html = client.get(f"/admin/sms?agency={world.agency.id}&campaign={campaign.id}").get_data(as_text=True)
    table = html[html.index('id="campaign-cost"'):html.index("</table>", html.index('id="campaign-cost"'))]
    numbers = re.findall(r"<td>(.*?)</td>", table, re.S)
    assert numbers[0] == "4" and numbers[1] == "3" and numbers[2] == "1" and numbers[3].startswith("700")
    assert "2.800 đ" in numbers[4] and "4 × 1 × 700" in numbers[4]
    assert client.get(f"/admin/sms?agency={world.agency.id}&campaign=999999").status_code == 200


def test_funnel_numbers_and_no_personal_data(client, login_as, world):
    login_as("viewer")
    a = [invite(world.agency.id, counter=world.counter_a, officer=world.officer_a, phone=f"09050001{i:02d}")[0]
         for i in range(4)]
    b = invite(world.agency.id, counter=world.counter_b, officer=world.officer_b, phone="0905000200",
               channel="online")[0]
    invite(world.agency.id, counter=world.counter_a, phone=None)  # skipped: no phone
    invite(world.agency.id, counter=world.counter_a, phone="0905000100")  # skipped: invited recently
    for inv in a[:3] + [b]:
        message = db.session.get(OutboxMessage, inv.outbox_message_id)
        message.status, message.sent_at = "sent", utcnow()
    for inv in a[:2]:
        db.session.get(OutboxMessage, inv.outbox_message_id).delivery_status = "delivered"
    a[0].opened_at = a[1].opened_at = utcnow()
    a[0].status, a[0].answered_at, a[0].answered_via = "answered", utcnow(), "link"
    db.session.commit()
    html = client.get("/admin/sms/funnel").get_data(as_text=True)
    row = re.search(r"<tr><th scope=\"row\">Trực tiếp</th>(.*?)</tr>", html).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert [re.sub(r"\s*<small>.*", "", c) for c in cells] == ["1", "3", "2", "2", "1"]
    assert "66,67%" in cells[2] and "33,33%" in cells[4]
    online = re.findall(r"<td>(.*?)</td>", re.search(r"<th scope=\"row\">Trực tuyến</th>(.*?)</tr>", html).group(1))
    assert [re.sub(r"\s*<small>.*", "", c) for c in online] == ["0", "1", "0", "0", "0"]
    assert "Hồ sơ không có số điện thoại hợp lệ" in html and "đã được mời trong thời gian giãn cách" in html
    assert "0905" not in html and "Nguyễn Văn Dân" not in html
    by_officer = client.get("/admin/sms/funnel?by=officer").get_data(as_text=True)
    assert world.officer_a.full_name in by_officer and world.officer_b.full_name in by_officer
    by_counter = client.get("/admin/sms/funnel?by=counter").get_data(as_text=True)
    assert world.counter_a.name in by_counter
    old = client.get("/admin/sms/funnel?from=01/01/2020&to=31/01/2020").get_data(as_text=True)
    assert "Chưa có lời mời nào" in old
    bad = client.get("/admin/sms/funnel?from=32/01/2026")
    assert bad.status_code == 400 and "dd/mm/yyyy" in bad.get_data(as_text=True)
    swapped = client.get(f"/admin/sms/funnel?from={(local_today()).strftime('%d/%m/%Y')}"
                         f"&to={(local_today() - timedelta(days=3)).strftime('%d/%m/%Y')}")
    assert swapped.status_code == 400


def test_funnel_is_scoped_to_the_viewers_units(client, login_as, world):
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    invite(other.id)
    db.session.commit()
    login_as("office")
    html = client.get("/admin/sms/funnel").get_data(as_text=True)
    assert "Chưa có lời mời nào" in html
    assert client.get("/admin/sms/funnel").status_code == 200


def test_the_office_from_the_van_phong_unit_manages_and_reads_its_agency(client, login_as, world):
    # An office account sits in the Văn phòng unit below the Sở; it was refused the settings (403) and read an
    # empty funnel, while the dossier and PAKN pages already gave it the whole agency.
    van_phong = factories.unit("Văn phòng Sở", "phong", parent=world.agency)
    invitation = invite(world.agency.id, counter=world.counter_a, phone="0905000111")[0]
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    message.status, message.sent_at = "sent", utcnow()
    db.session.commit()
    login_as("office", unit=van_phong)
    page = client.get("/admin/sms")
    assert page.status_code == 200 and world.agency.name in page.get_data(as_text=True)
    assert _form(client, world.agency.id, sender_name="SXDKH").status_code == 303
    assert db.session.get(AgencySmsSettings, world.agency.id).sender_name == "SXDKH"
    assert "Chưa có lời mời nào" not in client.get("/admin/sms/funnel").get_data(as_text=True)


def test_the_office_sees_only_the_campaigns_that_concern_its_agency(client, login_as, world):
    # Every campaign of the installation was listed, with its cost on request, to any agency's office.
    other = factories.unit("Sở Y tế", "so", parent=world.province)
    theirs = Campaign(name="Khảo sát riêng của Sở Y tế", period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                      channels=["sms"], target_sample=100)
    theirs.units = [other]
    province = Campaign(name="Đợt khảo sát toàn tỉnh", period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                        channels=["sms"], target_sample=100)
    province.units = [world.province]
    db.session.add_all([theirs, province])
    db.session.commit()
    login_as("office")
    html = client.get("/admin/sms").get_data(as_text=True)
    assert "Đợt khảo sát toàn tỉnh" in html and "Khảo sát riêng của Sở Y tế" not in html
    asked = client.get(f"/admin/sms?campaign={theirs.id}").get_data(as_text=True)
    assert 'id="campaign-cost"' not in asked and "Khảo sát riêng của Sở Y tế" not in asked
