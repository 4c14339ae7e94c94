"""The last check before the worker hands an SMS to the gateway (opt-out, an agency's pause, quiet hours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Hold:
    """Do not send now: `until` a later moment (quiet hours, a paused agency), or never (`cancel_reason`)."""

    until: datetime | None = None
    cancel_reason: str | None = None


def before_send(message_id: int) -> Hold | None:
    """None to send the outbox message now; a Hold to postpone or cancel it. (Filled in by the rules work.)"""
    return None
