"""Staff decisions on responses that wait for review (bursts) and on responses the server refused."""

from __future__ import annotations

from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..models import Counter, RefusedSubmission, Response, User
from ..scoping import scope_condition

REVIEWER_ROLES = ("admin", "office")


class ReviewNotAllowed(PermissionError):
    """The user's role may not decide on responses."""


def _check(user: User) -> None:
    if user.role not in REVIEWER_ROLES:
        raise ReviewNotAllowed(user.role)


def review_responses(user: User, response_ids: list[int], decision: str) -> list[int]:
    """Accept or reject the pending responses among these ids that the user may see; audited. Responses
    decided meanwhile by someone else are left as they are. Returns the ids decided."""
    _check(user)
    rows = db.session.scalars(select(Response).where(
        Response.id.in_(response_ids), Response.review_status == "pending",
        scope_condition(user, Response.unit_id)).with_for_update()).all()
    for row in rows:
        row.decide(decision)
    decided = [r.id for r in rows]
    record(user, f"responses.review.{decision}", None, ids=decided)
    return decided


def resolve_refused(user: User, refused_ids: list[int], note: str) -> list[int]:
    """Mark refused responses the user may see as looked at; audited with the note."""
    _check(user)
    rows = db.session.scalars(
        select(RefusedSubmission).join(Counter, Counter.id == RefusedSubmission.counter_id)
        .where(RefusedSubmission.id.in_(refused_ids), RefusedSubmission.status == "open",
               scope_condition(user, Counter.agency_id)).with_for_update()).all()
    for row in rows:
        row.resolve(user.id)
    resolved = [r.id for r in rows]
    record(user, "refused_submissions.resolve", None, ids=resolved, note=note)
    return resolved
