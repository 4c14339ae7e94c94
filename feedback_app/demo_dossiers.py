"""Demo dossiers for `make run`: a month of the one-stop system's feed for Sở Xây dựng, imported through the same
service as an upload, so their invitations are scheduled by the same rules; the older invitations are then walked
through the funnel (sent, delivered, opened, answered by link or by an SMS reply), two late dossiers get apology
slips, and a few citizens' SMS (a complaint, an opt-out, a question) are received through the inbound service."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from .dossiers.importing import COLUMNS, parse_items
from .dossiers.services import ImportRun, import_rows
from .dossiers.slips import create_slip, record_delivery
from .extensions import db
from .models import Counter, Dossier, OrgUnit, OutboxMessage, Response, Service, SurveyInvitation, User
from .sms.inbound import IncomingSms, receive
from .sms.invitations import answer_invitation, survey_target
from .surveys.submission import ParsedResponse, parse_values
from .timeutil import LOCAL_TZ, local_today, utcnow

CITIZENS = ["Phạm Thị Dung", "Đặng Quốc Khánh", "Lê Hoàng Cường", "Nguyễn Văn An", "Trần Thị Bích", "Võ Văn Tâm",
            "Huỳnh Thị Mai", "Công ty TNHH Xây dựng Nha Trang", "Công ty CP Vận tải Cam Ranh", "Bùi Minh Trí",
            "Ngô Thị Hạnh", "Đỗ Văn Lợi"]
CHANNELS = [("Trực tiếp", 60), ("Trực tuyến", 30), ("Bưu chính công ích", 10)]


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _feed(counter: Counter, services: list[Service], rng: random.Random, today: date) -> list[dict]:
    """Eighty dossiers received over the last three weeks: most returned (some late), some still open."""
    items = []
    for n in range(1, 81):
        received = today - timedelta(days=rng.randint(2, 21))
        appointment = received + timedelta(days=rng.choice([3, 5, 7, 10, 14]))
        roll = rng.random()
        if roll < 0.72:  # returned: mostly on time, a few days late for some
            late = rng.random() < 0.15
            returned = appointment + timedelta(days=rng.randint(1, 4)) if late else \
                received + timedelta(days=rng.randint(1, (appointment - received).days))
            returned = min(returned, today)
            status = "Đã trả kết quả"
        else:
            returned, status = None, rng.choice(["Đang xử lý", "Đang xử lý", "Chờ bổ sung"])
        service = rng.choice(services)
        items.append({
            "code": f"000.00.17.H34-{received:%y%m%d}-{9000 + n}", "procedure_code": service.code,
            "procedure_name": service.name, "citizen_name": rng.choice(CITIZENS),
            "phone": "" if rng.random() < 0.08 else f"09{rng.randint(10_000_000, 99_999_999)}",
            "counter_name": counter.name, "officer_name": rng.choice(counter.officers).full_name,
            "received_date": _day(received), "appointment_date": _day(appointment),
            "returned_date": _day(returned) if returned else "",
            "supplement_count": str(2 if status == "Chờ bổ sung" and rng.random() < 0.5 else 0),
            "channel": rng.choices([c for c, _w in CHANNELS], [w for _c, w in CHANNELS])[0], "status": status,
        })
    return items


def _walk_funnel(agency_id: int, rng: random.Random, today: date) -> int:
    """Invitations of dossiers returned two days ago or earlier: sent at their time, most delivered, many opened,
    some answered (by the link's whole questionnaire, or by one digit replied). Returns the answers stored."""
    older = db.session.scalars(
        select(SurveyInvitation).join(Dossier, Dossier.id == SurveyInvitation.dossier_id)
        .where(SurveyInvitation.agency_id == agency_id, SurveyInvitation.status == "scheduled",
               Dossier.returned_date <= today - timedelta(days=2))).all()
    answered = []
    for invitation in older:
        sent = invitation.send_at
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == invitation.outbox_message_id).values(
            status="sent", sent_at=sent, provider="console", provider_id=f"demo-{invitation.id}",
            delivery_status="delivered" if rng.random() < 0.9 else "undelivered", delivery_updated_at=sent))
        invitation.status, invitation.sent_at = "sent", sent
        if rng.random() < 0.9:
            invitation.delivered_at = sent + timedelta(minutes=1)
            if rng.random() < 0.65:
                invitation.opened_at = sent + timedelta(minutes=rng.randint(5, 600))
                if rng.random() < 0.6:
                    answered.append(invitation)
    stored = []
    for invitation in answered:
        counter, version = survey_target(invitation)
        mood = rng.choice([5, 5, 4, 4, 4, 3, 2])
        if rng.random() < 0.7:  # the link's questionnaire, every question rated around the citizen's mood
            values = {f"q{q.id}": [str(max(1, min(5, mood + rng.choice([0, 0, 0, -1, 1]))))]
                      for q in version.questions if q.is_scale}
            values.update({f"q{f.screening.id}": ["0"] for f in version.factors if f.screening})
            parsed, via = parse_values(counter, version, values), "link"
        else:  # one digit replied to the SMS: the overall question
            overall = next(q for q in version.closing if q.kind == "overall")
            parsed = ParsedResponse([{"question_id": overall.id, "value": mood, "no_opinion": False,
                                      "option_id": None, "text": None}])
            via = "reply"
        stored.append(answer_invitation(invitation, parsed, via=via, version=version, counter=counter))
    if stored:
        db.session.execute(update(Response).where(Response.id.in_(stored)).values(is_demo=True))
    return len(stored)


def _slips(agency: OrgUnit, today: date) -> int:
    """Two late dossiers get their apology slip; the first was handed over at the counter."""
    office = db.session.scalar(select(User).where(User.email == "vanphong@demo.khanhhoa.gov.vn"))
    late = db.session.scalars(select(Dossier).where(Dossier.agency_id == agency.id, Dossier.is_late,
                                                    Dossier.appointment_date < today)
                              .order_by(Dossier.appointment_date.desc()).limit(2)).all()
    for n, dossier in enumerate(late):
        # The first was written the day before its appointment and handed over that morning; the second today.
        written = datetime.combine(dossier.appointment_date - timedelta(days=1), time(8), LOCAL_TZ) if n == 0 else None
        slip = create_slip(office, dossier, reason="Hồ sơ cần lấy ý kiến thẩm định của Phòng Quản lý xây dựng.",
                           extra_days=5, signer_name="Nguyễn Văn Hòa", signer_title="Phó Giám đốc", now=written)
        if n == 0:
            record_delivery(office, slip, method="counter",
                            delivered_at=datetime.combine(dossier.appointment_date, time(9, 30), LOCAL_TZ))
    return len(late)


def _citizen_messages(agency_id: int) -> None:
    """A complaint, a question and an opt-out, as the console gateway would report them."""
    phones = db.session.scalars(select(Dossier.phone).where(Dossier.agency_id == agency_id,
                                                            Dossier.phone.is_not(None)).limit(3)).all()
    texts = ["PA Quầy 20 hẹn trả kết quả nhưng đến nơi chưa có, đề nghị thông báo trước khi trả.", "HD", "TU CHOI"]
    for n, (phone, text) in enumerate(zip(phones, texts, strict=False)):
        receive(IncomingSms(provider="console", provider_message_id=f"demo-in-{n}", sender=phone, body=text,
                            received_at=utcnow() - timedelta(hours=3 - n)))


def load_demo_dossiers(units: dict[str, OrgUnit], rng: random.Random) -> int:
    """The demo's dossiers, invitations, funnel, slips and SMS; commits (the import commits per batch)."""
    agency = units["SXD"]
    counter = db.session.scalar(select(Counter).where(Counter.code == "SXD-Q20"))
    services = list(db.session.scalars(select(Service).where(Service.agency_id == agency.id, Service.active)))
    today = local_today()
    rows = parse_items(_feed(counter, services, rng, today))
    import_rows(ImportRun(None, agency.id, "demo"), rows, {name: name for name in COLUMNS})
    _walk_funnel(agency.id, rng, today)
    _slips(agency, today)
    db.session.commit()
    _citizen_messages(agency.id)
    return len(rows)
