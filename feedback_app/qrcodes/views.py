"""QR images (public: they only encode a public address) and the A5 poster (staff)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import force_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..extensions import db
from ..models import Counter
from ..scoping import can_read_unit
from ..security import roles_required
from .services import qr_png, qr_svg, survey_url

bp = Blueprint("qrcodes", __name__)


def _counter(code: str, active_only: bool = True) -> Counter:
    """The counter; its public QR images exist only while its survey page does."""
    stmt = select(Counter).where(Counter.code == code)
    if active_only:
        stmt = stmt.where(Counter.active.is_(True))
    counter = db.session.scalar(stmt)
    if counter is None:
        abort(404)
    return counter


def _image(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/qr/<code>.svg")
def counter_svg(code: str) -> Response:
    """The counter's QR code as SVG."""
    return _image(qr_svg(_counter(code)), "image/svg+xml", f"qr-{code}.svg")


@bp.get("/qr/<code>.png")
def counter_png(code: str) -> Response:
    """The counter's QR code as PNG."""
    return _image(qr_png(_counter(code)), "image/png", f"qr-{code}.png")


@bp.get("/admin/counters/<code>/poster")
@roles_required("admin", "office")
def poster(code: str) -> Any:
    """A printable A5 poster: agency, counter, short instructions, the code and its short URL."""
    counter = _counter(code, active_only=False)  # staff may print the poster before switching a counter on
    if not can_read_unit(current_user, counter.agency_id):
        abort(404)
    svg = qr_svg(counter).decode()
    svg = Markup(svg[svg.index("<svg"):])  # noqa: S704 - our own SVG, without its XML declaration to inline it
    # The poster speaks to citizens at the counter: Vietnamese whatever language the staff page is read in,
    # English only when asked for on the poster itself (not with ?lang=, which would switch the staff pages).
    language = "en" if request.args.get("language") == "en" else "vi"
    with force_locale(language):
        return render_template("admin/poster.html", counter=counter, svg=svg, url=survey_url(counter))
