"""Survey invitations for returned dossiers (one per dossier, sent at the agency's send time)."""

from __future__ import annotations

from ..models import Dossier, SurveyInvitation


def schedule_invitation(dossier: Dossier) -> SurveyInvitation | None:
    """Called by every import (upload, CLI, API) after a dossier is saved: invite it once when it is returned
    with a phone. Flushes, never commits. (Filled in by the invitations work.)"""
    return None


def register_jobs() -> None:
    """Periodic jobs of invitations (expiry)."""
