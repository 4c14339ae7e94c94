"""n = N / (1 + N·e²)."""

import pytest

from feedback_app.surveys.sampling import sample_size


@pytest.mark.parametrize(("n_transactions", "margin", "expected"), [
    (3200, 0.05, 356),     # 3200 / 9 = 355.6
    (100, 0.05, 80),       # 100 / 1.25
    (1_000_000, 0.05, 400),
    (1, 0.05, 1),
    (0, 0.05, 0),
    (10_000, 0.03, 1000),  # 10000 / 10 ... = 1000 exactly? 10000/(1+9) = 1000
])
def test_sample_size(n_transactions, margin, expected):
    assert sample_size(n_transactions, margin) == expected


@pytest.mark.parametrize(("n_transactions", "margin"), [(-1, 0.05), (10, 0), (10, 1.5)])
def test_sample_size_rejects_nonsense(n_transactions, margin):
    with pytest.raises(ValueError):
        sample_size(n_transactions, margin)
