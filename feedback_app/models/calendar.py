"""The working-time calendar's own data: an administrator's exceptions and agencies' office hours."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .org import OrgUnit
from .user import User

BASIS_MAX = 500


class CalendarException(db.Model):
    """A day off or a make-up working day the `holidays` package does not know (yet), with its legal basis.

    Removing one deletes the row; the audit trail keeps what it was and who removed it."""

    __tablename__ = "calendar_exceptions"
    __table_args__ = (CheckConstraint("basis <> ''", name="basis_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column()
    basis: Mapped[str] = mapped_column(String(BASIS_MAX))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: loaded by the CLI
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    created_by: Mapped[User | None] = relationship()


class OfficeHours(db.Model):
    """An agency's office sessions; its units without their own use the nearest ancestor's, else 07:00-11:30
    and 13:30-17:00.

    A table of its own rather than columns on org_units: most units inherit, the calendar keeps its data
    together, and changing hours is one audited row."""

    __tablename__ = "office_hours"
    __table_args__ = (
        CheckConstraint("morning_start < morning_end AND morning_end <= afternoon_start "
                        "AND afternoon_start < afternoon_end", name="sessions_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), unique=True)
    morning_start: Mapped[time] = mapped_column(Time)
    morning_end: Mapped[time] = mapped_column(Time)
    afternoon_start: Mapped[time] = mapped_column(Time)
    afternoon_end: Mapped[time] = mapped_column(Time)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    unit: Mapped[OrgUnit] = relationship()
    updated_by: Mapped[User | None] = relationship()
