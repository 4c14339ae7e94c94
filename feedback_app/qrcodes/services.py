"""Build a counter's QR code (SVG, PNG) pointing at PUBLIC_BASE_URL/q/<code>."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import current_app

from ..models import Counter


def survey_url(counter: Counter) -> str:
    """The address printed under the code and encoded in it."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/q/{counter.code}"


def _qr(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(counter: Counter) -> bytes:
    """A scalable SVG for print."""
    image = _qr(survey_url(counter)).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode").encode()


def qr_png(counter: Counter, box_size: int = 10) -> bytes:
    """A PNG for screens and documents."""
    code = _qr(survey_url(counter))
    code.box_size = box_size
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
