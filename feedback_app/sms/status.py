"""Delivery status of sent SMS: reports from the gateways, never moving backwards; the daily reconciliation."""

from __future__ import annotations


def register_jobs() -> None:
    """Periodic jobs of delivery reports (the daily reconciliation)."""
