"""Files sent with a PAKN: images and PDF only, recognised by their first bytes (never by name or the browser's
claimed type), within size and count limits."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from ..models import Attachment

# Signatures of the accepted formats: (prefix at offset 0, extra check, mime type, extension).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", None, "image/png", "png"),
    (b"\xff\xd8\xff", None, "image/jpeg", "jpg"),
    (b"GIF87a", None, "image/gif", "gif"),
    (b"GIF89a", None, "image/gif", "gif"),
    (b"RIFF", (8, b"WEBP"), "image/webp", "webp"),
    (b"%PDF-", None, "application/pdf", "pdf"),
)
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
FORM_ALLOWANCE = 1024 * 1024  # the text fields of a multipart body, beside the files


@dataclass(frozen=True)
class Upload:
    """A file as received: its name as the sender's device gave it, and its bytes."""

    filename: str
    data: bytes


def upload_limit() -> int:
    """The largest body a form with attachments accepts: every file at its largest, plus the text."""
    config = current_app.config
    return config["PAKN_MAX_FILES"] * config["PAKN_MAX_FILE_BYTES"] + FORM_ALLOWANCE


def sniff(data: bytes) -> tuple[str, str] | None:
    """(mime type, extension) of an accepted format, from the content; None otherwise."""
    for prefix, extra, mime, ext in _SIGNATURES:
        if data.startswith(prefix) and (extra is None or data[extra[0]:extra[0] + len(extra[1])] == extra[1]):
            return mime, ext
    return None


def safe_name(filename: str, ext: str) -> str:
    """A name fit to show and to download: no path, no odd characters, the extension of the real type."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    base = _UNSAFE.sub("_", base).strip(" ._")[:80] or "tep"
    return f"{base}.{ext}"


def check_uploads(uploads: list[Upload]) -> tuple[list[Attachment], str | None]:
    """Attachments ready to add, or a message that says what to fix (nothing is kept then)."""
    uploads = [u for u in uploads if u.data]
    limit_count = current_app.config["PAKN_MAX_FILES"]
    limit_bytes = current_app.config["PAKN_MAX_FILE_BYTES"]
    if len(uploads) > limit_count:
        return [], _("Chỉ gửi được tối đa %(n)d tệp.", n=limit_count)
    result = []
    for upload in uploads:
        if len(upload.data) > limit_bytes:
            return [], _("Tệp %(name)s lớn hơn %(mb)d MB. Hãy chụp lại với độ phân giải thấp hơn hoặc chia nhỏ tệp.",
                         name=safe_name(upload.filename, "…"), mb=limit_bytes // (1024 * 1024))
        kind = sniff(upload.data)
        if kind is None:
            return [], _("Tệp %(name)s không phải ảnh (JPEG, PNG, GIF, WebP) hoặc PDF. Chỉ gửi được các loại tệp "
                         "này.", name=(upload.filename or "").rsplit("/", 1)[-1][:80])
        mime, ext = kind
        result.append(Attachment(filename=safe_name(upload.filename, ext), mime=mime, size=len(upload.data),
                                 sha256=hashlib.sha256(upload.data).hexdigest(), data=upload.data))
    return result, None
