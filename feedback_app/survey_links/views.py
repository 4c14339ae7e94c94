"""/s/<token>: the questionnaire tied to a returned dossier's counter, officer and service, answered once."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("survey_links", __name__, url_prefix="/s")
