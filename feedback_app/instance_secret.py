"""The development secret: random, made on first run, kept in the instance folder readable by its owner only."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

MIN_LENGTH = 32


def load_or_create_secret(path: Path) -> str:
    """The secret stored at path; a new random one is written there (mode 0600) when none exists."""
    if not path.exists():
        _create(path)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a copy or an unpack may have widened it; nobody else needs to read it
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < MIN_LENGTH:
        raise RuntimeError(f"{path} holds no usable secret: delete it and a new one is made at the next start")
    return secret


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, then linked into place: a second process starting at the same
    # moment either wins the link or reads the finished file, never a half-written one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
