"""What the one-time link's pages do: find the invitation by its token, note the first opening, keep a
half-answered questionnaire (the draft) and spend the link with a finished response.

Nothing here ever reads or shows the dossier's phone or the citizen's name; the stored response holds the
officer and service of the dossier, never the dossier itself, and the invitation never holds the response's id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import SurveyInvitation
from ..sms.invitations import InvitationClosed, answer_invitation, hash_token, is_expired, survey_target
from ..surveys.specs import CounterInfo, OfficerSpec, UnknownVersion, VersionSpec
from ..surveys.submission import COMMENT_MAX, parse_values
from ..timeutil import utcnow

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{12}$")
_FIELD = re.compile(r"^q(\d{1,9})$")


@dataclass(frozen=True)
class LinkPage:
    """What the page of an open link shows: where the answer goes, about whom and which procedure."""

    invitation: SurveyInvitation
    counter: CounterInfo
    version: VersionSpec
    officer: OfficerSpec | None
    service_name: str | None


def find(token: str) -> SurveyInvitation | None:
    """The invitation behind a token; None for anything malformed, unknown or never sent (skipped)."""
    if not TOKEN_RE.match(token or ""):
        return None
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.token_hash == hash_token(token)))
    if invitation is None or invitation.status == "skipped":
        return None
    return invitation


def state(invitation: SurveyInvitation) -> str:
    """'answered', 'expired' or 'open'."""
    if invitation.status == "answered":
        return "answered"
    return "expired" if is_expired(invitation) else "open"


def page_for(invitation: SurveyInvitation, version_id: int | None = None) -> LinkPage:
    """The counter, version, officer and service of an open link (the draft's version while it is still asked)."""
    try:
        counter, version = survey_target(invitation, version_id)
    except UnknownVersion:
        counter, version = survey_target(invitation)
    officer = invitation.officer
    spec = None
    if officer is not None:
        from ..models.org import initials

        spec = OfficerSpec(officer.id, officer.full_name, initials(officer.full_name),
                           officer.photo_mime is not None and officer.active and counter.id is not None
                           and officer.id in counter.officer_ids)
    service = invitation.service
    return LinkPage(invitation, counter, version, spec, service.name if service is not None else None)


def mark_opened(invitation: SurveyInvitation) -> None:
    """The first opening of the link (the funnel's "opened"); later ones change nothing."""
    if invitation.opened_at is None:
        invitation.opened_at = utcnow()
        db.session.commit()


def answer_fields(version: VersionSpec, values: Any) -> MultiDict:
    """Only this version's questions (q<id>), comments cut to their limit: the draft and the submission never
    carry anything else (not the officer or service a forged form might name)."""
    known = {q.id for q in version.questions}
    kept: MultiDict = MultiDict()
    for name in values:
        match = _FIELD.match(name)
        if not match or int(match.group(1)) not in known:
            continue
        for value in values.getlist(name)[:20]:
            kept.add(name, str(value)[:COMMENT_MAX])
    return kept


def draft_values(invitation: SurveyInvitation, version: VersionSpec) -> MultiDict:
    """The saved answers of a half-answered questionnaire, when they were given to this version."""
    draft = invitation.draft or {}
    if draft.get("version_id") != version.id:
        return MultiDict()
    values = draft.get("values") or {}
    return answer_fields(version, MultiDict([(k, v) for k, vs in values.items() for v in vs]))


def draft_version_id(invitation: SurveyInvitation) -> int | None:
    draft = invitation.draft or {}
    value = draft.get("version_id")
    return value if isinstance(value, int) else None


def save_draft(invitation: SurveyInvitation, version: VersionSpec, values: Any) -> None:
    """Keep the answers given so far (replacing the previous draft); raises InvitationClosed when the link can
    no longer be answered."""
    current = state(invitation)
    if current != "open":
        raise InvitationClosed(current)
    kept = answer_fields(version, values)
    invitation.draft = {"version_id": version.id, "values": {k: kept.getlist(k) for k in kept}}
    invitation.draft_saved_at = utcnow()
    db.session.commit()


def submit(page: LinkPage, values: Any, language: str) -> int:
    """Store the finished questionnaire and spend the link; commits. Raises SurveyValidationError (what to fix),
    DuplicateSubmission (the SMS reply came first) or InvitationClosed."""
    parsed = parse_values(page.counter, page.version, answer_fields(page.version, values))
    response_id = answer_invitation(page.invitation, parsed, via="link", version=page.version, counter=page.counter,
                                    language=language)
    db.session.commit()
    return response_id
