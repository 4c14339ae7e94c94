"""Sample size for a survey period: n = N / (1 + N·e²)."""

from __future__ import annotations

import math
from decimal import Decimal


def sample_size(transactions: int, margin: float | Decimal = 0.05) -> int:
    """Slovin's formula, rounded up: how many responses a period of N transactions needs."""
    if transactions < 0:
        raise ValueError("the number of transactions cannot be negative")
    e = float(margin)
    if not 0 < e < 1:
        raise ValueError("the margin of error must lie between 0 and 1")
    if transactions == 0:
        return 0
    return math.ceil(transactions / (1 + transactions * e * e))
