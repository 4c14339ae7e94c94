"""Organisation units as a dated tree, their merge/rename events, counters, services and officers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

UNIT_TYPES = ("ubnd", "so", "ttpvhcc", "motcua", "phong")  # labels: feedback_app/labels.py
EVENT_KINDS = ("merge", "rename", "split")


class OrgUnit(db.Model):
    """An agency or one of its units, valid between two dates."""

    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str | None] = mapped_column(String(120))
    unit_type: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date, default=date(2000, 1, 1))
    valid_to: Mapped[date | None] = mapped_column(Date)
    hotline: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(255))
    is_demo: Mapped[bool] = mapped_column(default=False)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"


class OrgEvent(db.Model):
    """A merge, rename or split: links predecessor units to their successor on a date."""

    __tablename__ = "org_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    legal_basis: Mapped[str | None] = mapped_column(String(255))

    predecessor: Mapped[OrgUnit] = relationship(foreign_keys=[predecessor_id])
    successor: Mapped[OrgUnit] = relationship(foreign_keys=[successor_id])

    __table_args__ = (
        UniqueConstraint("predecessor_id", "successor_id", name="uq_org_events_pair"),
        CheckConstraint("predecessor_id <> successor_id", name="distinct_units"),
    )


class Field(db.Model):
    """A field (lĩnh vực) that groups administrative procedures."""

    __tablename__ = "fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))


class Service(db.Model):
    """An administrative procedure (thủ tục hành chính, TTHC) handled by an agency."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("agency_id", "code", name="uq_services_agency_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(500))
    field_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    field: Mapped[Field | None] = relationship()
    agency: Mapped[OrgUnit] = relationship()


officer_counters = Table(
    "officer_counters",
    db.metadata,
    Column("officer_id", Integer, ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True),
    Column("counter_id", Integer, ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
)


class Counter(db.Model):
    """A counter (quầy) at a service centre where an agency receives dossiers."""

    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    service_centre_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    questionnaire_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaires.id"))
    active: Mapped[bool] = mapped_column(default=True)

    service_centre: Mapped[OrgUnit] = relationship(foreign_keys=[service_centre_id])
    agency: Mapped[OrgUnit] = relationship(foreign_keys=[agency_id])
    officers: Mapped[list[Officer]] = relationship(secondary=officer_counters, back_populates="counters")

    def __repr__(self) -> str:
        return f"<Counter {self.code}>"


class Officer(db.Model):
    """A civil servant (công chức) who serves at counters and is rated by name."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(120))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    photo: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)  # only the photo route reads it
    photo_mime: Mapped[str | None] = mapped_column(String(40))

    unit: Mapped[OrgUnit] = relationship()
    counters: Mapped[list[Counter]] = relationship(secondary=officer_counters, back_populates="officers")

    @property
    def initials(self) -> str:
        return initials(self.full_name)


def initials(full_name: str) -> str:
    """Two letters for the avatar when there is no photo: family name and given name."""
    parts = full_name.split()
    return (parts[0][0] + parts[-1][0]).upper() if len(parts) > 1 else full_name[:2].upper()


class KioskDevice(db.Model):
    """A tablet registered by staff as the kiosk of a counter; its responses are marked with it."""

    __tablename__ = "kiosk_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last time the device said its queue was empty: a response it sends later cannot have been
    # completed before then (see surveys/submission.py, _completed_at).
    queue_empty_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    counter: Mapped[Counter] = relationship()
