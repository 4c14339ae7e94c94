"""Apology slips of late dossiers: create, print (HTML), download (DOCX), record delivery."""

from __future__ import annotations

from flask import Blueprint


def register_slip_views(bp: Blueprint) -> None:
    """Attach the slip routes to the dossiers blueprint."""
