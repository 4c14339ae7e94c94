"""QR images (public: they only encode a public address) and the A5 poster (staff)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..extensions import db
from ..models import Counter
from ..models.survey import current_version_query
from ..scoping import can_read_unit
from ..security import roles_required
from ..survey_pages import counter_or_404, survey_minutes
from ..surveys.specs import version_spec
from .services import qr_png, qr_svg, survey_url

bp = Blueprint("qrcodes", __name__)


def _any_counter(code: str) -> Counter:
    """A counter, active or not (staff print a poster before switching a counter on)."""
    counter = db.session.scalar(select(Counter).where(Counter.code == code))
    if counter is None:
        abort(404)
    return counter


def _image(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    # An image of the configured public address may be kept by any cache; one that follows the address this
    # request came to (no PUBLIC_BASE_URL) must not be shared with visitors who came by another.
    shared = bool(current_app.config.get("PUBLIC_BASE_URL"))
    response.headers["Cache-Control"] = "public, max-age=86400" if shared else "private, max-age=86400"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/qr/<code>.svg")
def counter_svg(code: str) -> Response:
    """The counter's QR code as SVG (only while its survey page exists)."""
    return _image(qr_svg(counter_or_404(code)), "image/svg+xml", f"qr-{code}.svg")


@bp.get("/qr/<code>.png")
def counter_png(code: str) -> Response:
    """The counter's QR code as PNG."""
    return _image(qr_png(counter_or_404(code)), "image/png", f"qr-{code}.png")


@bp.get("/admin/counters/<code>/poster")
@roles_required("admin", "office")
def poster(code: str) -> Any:
    """A printable A5 poster: agency, counter, short instructions, the code and its short URL."""
    counter = _any_counter(code)
    if not can_read_unit(current_user, counter.agency_id):
        abort(404)
    svg = qr_svg(counter).decode()
    svg = Markup(svg[svg.index("<svg"):])  # noqa: S704 - our own SVG, without its XML declaration to inline it
    # The poster speaks to citizens at the counter: Vietnamese whatever language the staff page is read in,
    # English only when asked for on the poster itself (not with ?lang=, which would switch the staff pages).
    language = "en" if request.args.get("language") == "en" else "vi"
    with force_locale(language):
        return render_template("admin/poster.html", counter=counter, svg=svg, url=survey_url(counter),
                               minutes=_minutes(counter))


def _minutes(counter: Counter) -> int:
    """The honest time the counter's questionnaire takes, as its form says (the counter may be inactive)."""
    row = db.session.execute(current_version_query(counter.questionnaire_id)).first()
    return survey_minutes(version_spec(row.id, row.published_at)) if row else 1
