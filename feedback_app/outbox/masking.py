"""Recipients as administrators see them: enough to recognise, never the whole address."""

from __future__ import annotations


def mask_recipient(recipient: str | None) -> str:
    """'nguyenvan@example.vn' -> 'ng***@example.vn'; '0912345678' -> '09******78'."""
    text = (recipient or "").strip()
    if not text:
        return "—"
    local, at, domain = text.rpartition("@")
    if at:
        return f"{local[:2]}***@{domain}" if len(local) > 2 else f"{local[:1]}***@{domain}"
    if len(text) <= 4:
        return "*" * len(text)
    return f"{text[:2]}{'*' * (len(text) - 4)}{text[-2:]}"
