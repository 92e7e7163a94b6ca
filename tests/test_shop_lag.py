"""A shop's freshness as every view shows it: its lag, and how long its orders waited."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import simulator, worker_for_sim

from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.shop_lag import percentile, shop_lag_report
from pipeline.simulators import OrderCatalog
from pipeline.worker import ImportWorker


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        ([float(n) for n in range(1, 101)], 0.99, 99.0),
    ],  # fmt: skip
)
def test_percentiles_are_nearest_rank(values: list[float], share: float, expected: float) -> None:
    assert percentile(values, share) == expected


def test_the_shop_table_says_how_long_the_last_hours_orders_waited(tmp_path: Path) -> None:
    created = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    stored_at = created + timedelta(seconds=42)
    with (
        simulator(Platform.SHOPIFY, OrderCatalog()) as sim,
        Ledger(tmp_path / "l.db", clock=lambda: stored_at) as ledger,
    ):
        sim.place_order(created_at=created)
        sim.place_order(created_at=created, address=None)  # a failure waited as long
        made = worker_for_sim(sim, "shop-a", ledger, start=created - timedelta(minutes=1),
                              settle_lag_seconds=0)  # fmt: skip
        worker = ImportWorker(replace(made.context, clock=lambda: stored_at))  # one clock
        worker.import_range(created - timedelta(minutes=1), created + timedelta(seconds=1))
        (row,) = shop_lag_report(ledger, ["shop-a"], now=created + timedelta(minutes=5))
        (later,) = shop_lag_report(ledger, ["shop-a"], now=created + timedelta(hours=2))
    assert row["latencyP50Seconds"] == row["latencyP99Seconds"] == 42
    assert later["latencyP50Seconds"] is None, "only the last hour's orders count"
