"""Survey campaigns: the target sample and the progress toward it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, true

from ..extensions import db
from ..models import Campaign, OrgUnit, Response
from ..models.survey import COUNTED_REVIEW
from ..scoping import unit_with_descendants
from .sampling import sample_size


@dataclass
class Progress:
    """Responses collected toward a campaign's target sample."""

    collected: int
    target: int

    @property
    def pct(self) -> float:
        return 0.0 if self.target == 0 else min(100.0, round(100.0 * self.collected / self.target, 1))

    @property
    def label(self) -> str:
        pct = f"{self.pct:.1f}".replace(".", ",")  # the decimal comma, as the pct filter writes figures
        return _("%(collected)d/%(target)d phiếu (%(pct)s%%)", collected=self.collected, target=self.target, pct=pct)


def save_campaign(campaign: Campaign, data: dict[str, Any]) -> None:
    """Fill a campaign from form data; the target sample defaults to n = N/(1+N·e²)."""
    campaign.name = data["name"]
    campaign.period_start, campaign.period_end = data["period_start"], data["period_end"]
    campaign.channels = list(data["channels"])
    campaign.expected_transactions = data.get("expected_transactions")
    campaign.margin = Decimal(str(data.get("margin") or "0.05"))
    target = data.get("target_sample")
    if target is None:
        target = sample_size(campaign.expected_transactions or 0, campaign.margin)
    campaign.target_sample = target
    campaign.units = list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(data["unit_ids"]))))


def campaign_progress(campaign: Campaign) -> Progress:
    """Counted responses in the period, from the units in scope (and below), on the campaign's channels."""
    units = unit_with_descendants([u.id for u in campaign.units])
    collected = db.session.scalar(
        select(func.count(Response.id)).where(
            Response.local_date >= campaign.period_start,
            Response.local_date <= campaign.period_end,
            Response.unit_id.in_(sorted(units)),
            Response.channel.in_(campaign.channels or ["-"]),
            Response.review_status.in_(COUNTED_REVIEW),
            true() if current_app.config["COUNT_DEMO_RESPONSES"] else Response.is_demo.is_(False),
        )
    )
    return Progress(collected=collected or 0, target=campaign.target_sample)
