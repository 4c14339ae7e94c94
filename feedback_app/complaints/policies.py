"""Deadline policies as data: how many working days each step may take, per kind and legal basis."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import DeadlinePolicy

LEGAL_BASIS = "Nghị định 20/2008/NĐ-CP, sửa đổi bởi Nghị định 92/2017/NĐ-CP"
# Reminder steps: working days relative to the answer deadline, and who is told (escalating).
DEFAULT_REMINDERS = [
    {"offset_days": -2, "to": "handler"},
    {"offset_days": 0, "to": "unit_head"},
    {"offset_days": 1, "to": "office_head"},
]
DEFAULTS = (
    {"kind": "phan_anh", "answer_days": 10},
    {"kind": "kien_nghi", "answer_days": 15},
    {"kind": "gop_y", "answer_days": 15},
)


def seed_policies() -> int:
    """Create the default policy of each kind that has none; returns how many were added (no commit)."""
    have = set(db.session.scalars(select(DeadlinePolicy.kind)))
    added = 0
    for default in DEFAULTS:
        if default["kind"] not in have:
            db.session.add(DeadlinePolicy(legal_basis=LEGAL_BASIS, classify_days=5, reminders=DEFAULT_REMINDERS,
                                          max_extension_days=10, active=True, **default))
            added += 1
    db.session.flush()
    return added


def policy_for(kind: str) -> DeadlinePolicy | None:
    """The active policy of a kind (the newest one if several are active)."""
    return db.session.scalar(select(DeadlinePolicy).where(DeadlinePolicy.kind == kind,
                                                          DeadlinePolicy.active.is_(True))
                             .order_by(DeadlinePolicy.id.desc()).limit(1))
