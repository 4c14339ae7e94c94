"""The one-time survey link in a real browser on a phone: open it, answer half, reload (the answers come back
from the draft the page saved by itself), finish, and see the link spent; no serious accessibility problem."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import Dossier, OutboxMessage, Response, SurveyInvitation
from feedback_app.sms.invitations import schedule_invitation
from feedback_app.timeutil import local_today

from .browser_support import LiveServer, choose, create_counter, expect_checked, screenshot

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect
except ImportError:  # reported by the browser_available fixture
    Axe = expect = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.usefixtures("no_server_errors")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def _invitation(live: LiveServer, counter_id: int, officer_id: int) -> tuple[int, str]:
    def build() -> tuple[int, str]:
        from feedback_app.models import Counter

        counter = db.session.get(Counter, counter_id)
        dossier = Dossier(code=f"BR-{counter.code}", agency_id=counter.agency_id, counter_id=counter.id,
                          officer_id=officer_id, procedure_name="Cấp giấy phép xây dựng",
                          citizen_name="Phạm Thị Dân", phone="0912345678",
                          received_date=date(2026, 1, 2), appointment_date=local_today(),
                          returned_date=local_today(), status="returned", channel="in_person", source="api")
        db.session.add(dossier)
        db.session.flush()
        invitation = schedule_invitation(dossier)
        db.session.commit()
        body = db.session.get(OutboxMessage, invitation.outbox_message_id).body
        return invitation.id, re.search(r"/s/([A-Za-z0-9_-]{12})", body).group(1)

    return live.call(build)


def _axe(page, what: str) -> list[str]:
    problems = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = "; ".join(", ".join(map(str, n["target"])) for n in violation["nodes"][:5])
            problems.append(f"{what}: {violation['id']} ({violation['impact']}): {violation['help']} [{targets}]")
    return problems


@pytest.mark.browser
def test_survey_link_half_answered_resumed_then_spent(live, new_context, artifacts):
    counter = create_counter(live, "SL", ["Lê Minh Khôi"], photos=("Lê Minh Khôi",))
    officer_id = counter.officers["Lê Minh Khôi"]
    invitation_id, token = _invitation(live, counter.id, officer_id)
    page = new_context(**PHONE).new_page()
    problems: list[str] = []

    page.goto(f"/s/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đánh giá sự hài lòng")
    expect(page.get_by_text("Công chức tiếp nhận: Lê Minh Khôi")).to_be_visible()
    photo = page.locator("img.avatar")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 256
    assert "0912345678" not in page.content() and "Phạm Thị Dân" not in page.content()
    screenshot(page, artifacts, "survey-link-1-opened")
    problems += _axe(page, "/s/<token>")

    # Half the questionnaire: the first two factors; the page saves a draft after each change.
    half = counter.factors["TCDV"] + counter.factors["TTHC"]
    for code in half:
        choose(page, counter.questions[code], counter.answer(code, 4), tap=True)
    expect(page.locator("#autosave")).to_have_text("Đã lưu các câu trả lời.")
    page.wait_for_load_state("networkidle")

    page.reload()
    for code in half:
        expect_checked(page, counter.questions[code], counter.answer(code, 4))
    expect(page.locator(".progress .count")).to_be_visible()
    screenshot(page, artifacts, "survey-link-2-resumed")

    rest = [c for f, codes in counter.factors.items() if f not in ("TCDV", "TTHC") for c in codes]
    for code in rest + ["TONGTHE"]:
        choose(page, counter.questions[code], counter.answer(code, 5), tap=True)
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà đã đánh giá!")).to_be_visible()
    screenshot(page, artifacts, "survey-link-3-thanks")
    problems += _axe(page, "/s/<token>/cam-on")

    page.goto(f"/s/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ông/Bà đã đánh giá hồ sơ này rồi. Xin cảm ơn!")
    screenshot(page, artifacts, "survey-link-4-used")
    problems += _axe(page, "/s/<token> used")
    page.goto("/s/AAAAAAAAAAAA")
    problems += _axe(page, "/s/<unknown>")
    assert not problems, "\n".join(problems)

    def stored() -> tuple[str, str | None, list[tuple[str, int | None, bool]]]:
        invitation = db.session.get(SurveyInvitation, invitation_id)
        rows = db.session.execute(select(Response.channel, Response.officer_id, Response.verified)
                                  .where(Response.counter_id == counter.id)).all()
        return invitation.status, invitation.answered_via, [tuple(r) for r in rows]

    status, via, responses = live.call(stored)
    assert (status, via) == ("answered", "link")
    assert responses == [("sms", officer_id, True)]
