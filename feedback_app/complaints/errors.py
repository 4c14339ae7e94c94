"""Named errors of the PAKN services; views turn them into clear 4xx messages."""

from __future__ import annotations


class ComplaintInputError(ValueError):
    """Input a person must fix: one message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotAllowed(PermissionError):
    """The user's role or scope does not allow this action on this item."""


class StaleComplaint(RuntimeError):
    """Someone else changed the item meanwhile (its version moved on)."""
