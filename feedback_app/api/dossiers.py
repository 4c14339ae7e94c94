"""POST /api/v1/dossiers: the one-stop system's feed, authenticated by a per-system API key (scope 'dossiers')."""

from __future__ import annotations

from flask import Blueprint


def register_dossier_api(bp: Blueprint) -> None:
    """Attach the dossier feed to the API blueprint."""
