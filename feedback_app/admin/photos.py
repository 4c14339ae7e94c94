"""Officer portraits: any JPEG/PNG upload becomes a small square JPEG for the kiosk."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

PORTRAIT_SIZE = 256


class UnreadableImage(ValueError):
    """The upload is not an image Pillow can read; the message says what to do."""


def portrait_jpeg(data: bytes) -> tuple[bytes, str]:
    """A 256×256 JPEG cropped from the centre; UnreadableImage with a message people can act on otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            square = ImageOps.fit(image, (PORTRAIT_SIZE, PORTRAIT_SIZE))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise UnreadableImage(_("Không đọc được ảnh; vui lòng chọn một tệp ảnh JPEG hoặc PNG khác.")) from error
    out = io.BytesIO()
    square.save(out, format="JPEG", quality=85)
    return out.getvalue(), "image/jpeg"
