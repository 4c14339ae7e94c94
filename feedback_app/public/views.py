"""Home page, language switch, the ways to send feedback, and the health check."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select, text

from ..extensions import db
from ..models import Counter, OrgUnit
from ..redirects import safe_local_path

bp = Blueprint("public", __name__)
health_bp = Blueprint("health", __name__)


@bp.get("/")
def home() -> Any:
    """Where a visitor lands: the counters' survey pages and the staff login."""
    counters = db.session.scalars(select(Counter).where(Counter.active.is_(True)).order_by(Counter.code)).all()
    return render_template("public/home.html", counters=counters)


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    """Switch between Vietnamese and English and go back to the page the visitor was on."""
    home = url_for("public.home")
    target = request.args.get("next")
    if target is None and request.referrer:
        # The referrer is a full address: only its path and query, and only when it is this site.
        referrer = urlsplit(request.referrer)
        if referrer.scheme in ("http", "https") and referrer.netloc == request.host:
            target = f"{referrer.path}?{referrer.query}" if referrer.query else referrer.path
    response = redirect(safe_local_path(target, home))
    if code in ("vi", "en"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax")
    return response


@bp.get("/phan-anh")
def feedback_channels() -> Any:
    """How to send a complaint or recommendation (phản ánh, kiến nghị) to the agency of a counter."""
    code = request.args.get("quay")
    counter = None
    if code:
        counter = db.session.scalar(select(Counter).where(Counter.code == code, Counter.active.is_(True)))
        if counter is None:  # as its survey page: an inactive or unknown counter has no page
            abort(404, description=_("Không tìm thấy quầy này. Vui lòng quét lại mã QR dán tại quầy."))
    agency = counter.agency if counter else None
    if agency is None:
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.unit_type == "so", OrgUnit.valid_to.is_(None))
                                   .order_by(OrgUnit.id))
    return render_template("public/feedback_channels.html", counter=counter, agency=agency)


@health_bp.get("/healthz")
def health() -> Any:
    """Load balancer check: the app answers and the database is reachable."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
