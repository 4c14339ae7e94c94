"""Build a counter's QR code (SVG, PNG) pointing at <public address>/q/<code>."""

from __future__ import annotations

import io
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from flask import current_app, has_request_context, request
from markupsafe import Markup

from ..models import Counter
from ..surveys.specs import CounterInfo

LOCAL_BASE_URL = "http://127.0.0.1:5000"  # `make run`, for commands that run outside any request


def public_base_url() -> str:
    """PUBLIC_BASE_URL (required in production); otherwise the address this request came to."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured
    # Development: a tablet on the office network reaches the app at the LAN address, not at 127.0.0.1.
    return request.host_url.rstrip("/") if has_request_context() else LOCAL_BASE_URL


def survey_url(counter: Counter | CounterInfo) -> str:
    """The address printed under the code and encoded in it."""
    return f"{public_base_url()}/q/{counter.code}"


def pakn_form_url(counter: Counter | CounterInfo) -> str:
    """The public PAKN form for a counter's agency (the kiosk's thank-you screen shows it as a QR code)."""
    return f"{public_base_url()}/pakn/new?quay={quote(counter.code, safe='')}"


def qr_svg_markup(data: str) -> Markup:
    """A QR code of any address as inline SVG (no XML declaration), for a page that must work offline."""
    svg = _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    return Markup(svg[svg.index("<svg"):])  # noqa: S704 - the qrcode library's own SVG of our own address


def _qr(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(counter: Counter | CounterInfo) -> bytes:
    """A scalable SVG for print."""
    image = _qr(survey_url(counter)).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode").encode()


def qr_png(counter: Counter | CounterInfo, box_size: int = 10) -> bytes:
    """A PNG for screens and documents."""
    code = _qr(survey_url(counter))
    code.box_size = box_size
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
