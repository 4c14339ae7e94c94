"""Dossiers from the one-stop system (Một cửa điện tử) and the apology slips of the late ones.

A dossier arrives by upload, `flask import-dossiers` or `POST /api/v1/dossiers`, always keyed by its code: a
second import updates the row, never duplicates it. The citizen's name, phone and e-mail are personal data
(kept for the survey invitation and the slip, erased with `erase_personal_data`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, case, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import LOCAL_TZ, utcnow
from .messaging import BigId
from .survey import IllegalTransition

DOSSIER_CHANNELS = ("in_person", "online", "postal")  # Trực tiếp / Trực tuyến / Bưu chính công ích
DOSSIER_STATUSES = ("received", "processing", "supplement", "returned", "cancelled")
DOSSIER_SOURCES = ("upload", "cli", "api", "demo")
SLIP_DELIVERY_METHODS = ("counter", "email", "sms", "post")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Dossier(db.Model):
    """One dossier (hồ sơ) as the one-stop system reports it; `code` is the key every import matches on."""

    __tablename__ = "dossiers"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_in(DOSSIER_CHANNELS)})", name="channel_known"),
        CheckConstraint(f"status IN ({_in(DOSSIER_STATUSES)})", name="status_known"),
        CheckConstraint(f"source IN ({_in(DOSSIER_SOURCES)})", name="source_known"),
        CheckConstraint("supplement_count >= 0", name="supplements_not_negative"),
        Index("ix_dossiers_agency_returned", "agency_id", "returned_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    procedure_name: Mapped[str] = mapped_column(String(500))
    field_name: Mapped[str | None] = mapped_column(String(255))
    counter_name: Mapped[str | None] = mapped_column(String(120))  # as the one-stop system wrote them
    officer_name: Mapped[str | None] = mapped_column(String(120))
    citizen_name: Mapped[str | None] = mapped_column(String(255))  # personal data
    phone: Mapped[str | None] = mapped_column(String(20))  # personal data, as 0xxxxxxxxx (phones.normalise_phone)
    email: Mapped[str | None] = mapped_column(String(120))  # personal data
    received_date: Mapped[date] = mapped_column(Date)
    appointment_date: Mapped[date] = mapped_column(Date)
    returned_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="received")
    status_text: Mapped[str | None] = mapped_column(String(80))  # the one-stop system's own words
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(10), default="in_person")
    source: Mapped[str] = mapped_column(String(10), default="upload")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agency = relationship("OrgUnit")
    counter = relationship("Counter")
    officer = relationship("Officer")
    service = relationship("Service")
    slips: Mapped[list[ApologySlip]] = relationship(back_populates="dossier", order_by="ApologySlip.id")

    @hybrid_property
    def returned_late(self) -> bool:
        """Returned after its appointment date."""
        return self.returned_date is not None and self.returned_date > self.appointment_date

    @returned_late.inplace.expression
    @classmethod
    def _returned_late_expression(cls):  # noqa: ANN206 - a SQL expression
        return case((cls.returned_date.is_(None), False), else_=cls.returned_date > cls.appointment_date)

    @hybrid_property
    def is_late(self) -> bool:
        """Late (trễ hẹn): returned after the appointment date, or asked for supplements more than once."""
        return self.returned_late or self.supplement_count > 1

    @is_late.inplace.expression
    @classmethod
    def _is_late_expression(cls):  # noqa: ANN206 - a SQL expression
        return or_(cls.returned_date > cls.appointment_date, cls.supplement_count > 1)

    def overdue_on(self, today: date) -> bool:
        """Not returned and past its appointment date on `today` (late even before it is returned)."""
        return self.returned_date is None and self.status != "cancelled" and today > self.appointment_date

    def erase_personal_data(self) -> None:
        """Name, phone and e-mail removed (on request or after retention); the dossier's facts stay."""
        self.citizen_name = self.phone = self.email = None
        self.personal_data_erased_at = utcnow()


class ApologySlip(db.Model):
    """A "Phiếu xin lỗi và hẹn lại ngày trả kết quả" for a late dossier, and when and how it reached the citizen.

    `delivered_late` is set when it was delivered after the original appointment date (the rule says no later).
    """

    __tablename__ = "apology_slips"
    __table_args__ = (
        CheckConstraint(f"delivery_method IS NULL OR delivery_method IN ({_in(SLIP_DELIVERY_METHODS)})",
                        name="delivery_method_known"),
        CheckConstraint("new_appointment_date > original_appointment_date", name="new_date_later"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))  # Số: 12/PXL-…
    reason: Mapped[str] = mapped_column(Text)
    original_appointment_date: Mapped[date] = mapped_column(Date)
    extra_working_days: Mapped[int] = mapped_column(Integer)
    new_appointment_date: Mapped[date] = mapped_column(Date)
    signer_name: Mapped[str] = mapped_column(String(120))
    signer_title: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_method: Mapped[str | None] = mapped_column(String(10))
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivered_late: Mapped[bool] = mapped_column(default=False)

    dossier: Mapped[Dossier] = relationship(back_populates="slips")

    def deliver(self, at: datetime, method: str, user_id: int | None) -> None:
        """Delivered once, by a known method; late when its local date is after the original appointment date."""
        if self.delivered_at is not None:
            raise IllegalTransition("the slip was delivered already")
        if method not in SLIP_DELIVERY_METHODS:
            raise IllegalTransition(f"unknown delivery method {method!r}")
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        self.delivered_at = at.astimezone(UTC)
        self.delivery_method, self.delivered_by_id = method, user_id
        self.delivered_late = at.astimezone(LOCAL_TZ).date() > self.original_appointment_date
