"""Soak: gunicorn's threaded workers under a steady load of citizens on PostgreSQL lose no worker and store
every acknowledged response exactly once (bench/soak.py; longer runs and their figures: bench/README.md)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from .conftest import _PG_PROBLEM, PG_URL

SECONDS = float(os.environ.get("SOAK_SECONDS", "45"))


@pytest.mark.soak
@pytest.mark.skipif(bool(_PG_PROBLEM), reason=_PG_PROBLEM or "")
def test_threaded_workers_survive_a_steady_load_and_store_every_acknowledged_response(tmp_path):
    from bench.soak import soak

    url = sa.engine.make_url(PG_URL)
    target = url.set(database=f"{url.database}_soak_bench").render_as_string(hide_password=False)
    report = soak(target, SECONDS, clients=10, worker_class="gthread", workers=2, threads=8, log_dir=tmp_path)
    assert report["problems"] == [], report
    assert report["acknowledged"] > 100 and report["acknowledged"] == report["stored"]
