"""An agency's SMS settings (/admin/sms): who may change them, the change itself with its audit row, and the
figures the template editor shows (segments of the rendered text, the cost of a send to a whole campaign)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ..audit import record
from ..complaints.access import scope_units
from ..extensions import db
from ..models import AgencySmsSettings, Campaign, Dossier, OrgUnit, User
from ..qrcodes.services import public_base_url
from ..scoping import unit_with_descendants
from ..timeutil import utcnow
from . import templates
from .rules import Rules, effective_rules

AGENCY_TYPES = ("so", "ubnd")
MANAGER_ROLES = ("admin", "office")
FIELDS = ("sender_name", "invitation_template", "ascii_only", "send_at", "quiet_hours", "min_days_between",
          "link_valid_days", "price_per_segment", "paused")


class NotAllowed(Exception):
    """The user may not change this agency's settings."""


def agencies_for(user: User) -> list[OrgUnit]:
    """The agencies whose SMS settings the user manages: every agency for administrators, those in its scope
    for the Văn phòng."""
    stmt = select(OrgUnit).where(OrgUnit.unit_type.in_(AGENCY_TYPES), OrgUnit.valid_to.is_(None))
    if user.role not in MANAGER_ROLES:
        return []
    units = scope_units(user)  # the office's whole agency, even from an account in the Văn phòng unit below it
    if units is not None:
        stmt = stmt.where(OrgUnit.id.in_(sorted(units)))
    return list(db.session.scalars(stmt.order_by(OrgUnit.name)))


def settings_of(agency_id: int) -> AgencySmsSettings | None:
    return db.session.get(AgencySmsSettings, agency_id)


def rules_of(agency_id: int) -> Rules:
    return effective_rules(settings_of(agency_id), current_app.config)


def save_settings(user: User, agency: OrgUnit, values: dict[str, Any]) -> AgencySmsSettings:
    """Store an agency's settings (values already checked by the form), with one audit row naming what changed;
    commits."""
    if agency.id not in {a.id for a in agencies_for(user)}:
        raise NotAllowed(agency.id)
    row = settings_of(agency.id)
    if row is None:
        row = AgencySmsSettings(agency_id=agency.id, paused=False)
        db.session.add(row)
    changes = {}
    for name in FIELDS:
        new = values.get(name)
        old = getattr(row, name)
        if _differs(old, new):
            changes[name] = [_shown(old), _shown(new)]
            setattr(row, name, new)
    if changes:
        row.updated_by_id, row.updated_at = user.id, utcnow()
        db.session.flush()
        record(user, "sms_settings.update", row, agency_id=agency.id, changes=changes)
    db.session.commit()
    return row


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal | float | int) and isinstance(new, Decimal | float | int) and not isinstance(
            old, bool) and not isinstance(new, bool):
        return Decimal(str(old)) != Decimal(str(new))
    return old != new


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def preview(agency: OrgUnit, rules: Rules) -> templates.Rendered:
    """The invitation as this agency sends it, with a link as long as a real one."""
    return templates.render(rules.template, agency=agency.name, link=templates.sample_link(public_base_url()),
                            rules=rules)


@dataclass(frozen=True)
class CampaignCost:
    """A send to every returned dossier with a phone in a campaign's period and units (this agency's part)."""

    campaign: Campaign
    dossiers: int
    phones: int
    segments: int
    price_per_segment: Decimal
    period_start: date
    period_end: date

    @property
    def total(self) -> Decimal:
        return self.dossiers * self.segments * self.price_per_segment


def campaign_cost(agency: OrgUnit, campaign: Campaign, rendered: templates.Rendered, rules: Rules) -> CampaignCost:
    """How many messages a campaign's period would send for this agency, and what they cost."""
    units = unit_with_descendants([u.id for u in campaign.units]) & unit_with_descendants([agency.id])
    stmt = select(func.count(Dossier.id), func.count(func.distinct(Dossier.phone))).where(
        Dossier.status == "returned", Dossier.phone.is_not(None), Dossier.phone != "",
        Dossier.returned_date >= campaign.period_start, Dossier.returned_date <= campaign.period_end,
        Dossier.agency_id.in_(sorted(units) or [-1]))
    dossiers, phones = db.session.execute(stmt).one()
    return CampaignCost(campaign, dossiers or 0, phones or 0, rendered.count.segments, rules.price_per_segment,
                        campaign.period_start, campaign.period_end)


def campaigns(agency: OrgUnit) -> list[Campaign]:
    """The campaigns that concern the agency (a unit of theirs is the agency, one of its units or one above it),
    newest first: another agency's campaigns are not shown to its office."""
    related = set(unit_with_descendants([agency.id]))
    unit: OrgUnit | None = agency.parent
    while unit is not None and unit.id not in related:
        related.add(unit.id)
        unit = unit.parent
    return list(db.session.scalars(select(Campaign).where(Campaign.units.any(OrgUnit.id.in_(sorted(related))))
                                   .order_by(Campaign.period_start.desc()).limit(50)))
