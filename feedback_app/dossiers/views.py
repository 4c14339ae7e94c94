"""Staff pages of dossiers: the list, one dossier, the import (upload with preview and row report)."""

from __future__ import annotations

from flask import Blueprint

from .slip_views import register_slip_views

bp = Blueprint("dossiers", __name__, url_prefix="/xu-ly/ho-so")
register_slip_views(bp)
