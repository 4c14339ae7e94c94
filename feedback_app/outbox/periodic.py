"""Periodic jobs: registered once (from create_app), run by the worker when due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    fn: Callable[[], int]


_registry: dict[str, PeriodicJob] = {}


def register_periodic(name: str, every_seconds: int, fn: Callable[[], int]) -> None:
    """A job the worker runs every `every_seconds` inside an app context; `fn` returns how many things it did.

    Registering the same name again replaces the job (create_app may run more than once in a process).
    """
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    _registry[name] = PeriodicJob(name, every_seconds, fn)


def registered_jobs() -> list[PeriodicJob]:
    return list(_registry.values())
