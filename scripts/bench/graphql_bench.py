"""Shopify GraphQL: how much of the cost budget an import uses, and bulk vs paged id listing.

Run:  .venv/bin/python scripts/bench/graphql_bench.py [--orders 5000] [--restore 500]
                                                      [--day 100000]

1. Import ORDERS orders (last 24 hours, 20 a page) through the GraphQL connector from a
   simulator whose cost bucket holds 2,000 points and restores RESTORE a second. The least time
   the bucket allows is (total actual cost - 2,000) / RESTORE; "budget used" is that over the
   measured time. THROTTLED answers are counted.
2. Reconciliation's id listing of a DAY-order day: one bulk operation (poll + JSONL) against the
   paged id-only query (250 ids a page, cost 252 a page), both timed at the same restore rate.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from rig import ROOT  # noqa: F401  (puts the repository on sys.path)

from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.shops import ShopConfig
from pipeline.simulators import OrderCatalog, ShopifySimulator
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource
from pipeline.sources.transport import ShopTransport
from pipeline.windows import ImportWindow
from pipeline.worker import ImportWorker


def source(sim: ShopifySimulator, **options: object) -> ShopifyGraphQLSource:
    return ShopifyGraphQLSource(
        "bench", sim.url, SecretStr(sim.access_token),
        transport=ShopTransport("bench"), **options,  # type: ignore[arg-type]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--restore", type=float, default=500.0)
    parser.add_argument("--day", type=int, default=100_000)
    args = parser.parse_args()
    end = datetime.now(UTC) - timedelta(minutes=5)
    start = end - timedelta(hours=24)
    catalog = OrderCatalog.generate(args.orders, seed=3, start=start, end=end)
    with (
        ShopifySimulator(catalog, graphql_restore_rate=args.restore) as sim,
        Ledger(Path(tempfile.mkdtemp()) / "ledger.sqlite3") as ledger,
    ):
        shop = ShopConfig.model_validate({"name": "bench", "platform": "shopify",
                                          "base_url": sim.url, "start": start,
                                          "window_minutes": 24 * 60})  # fmt: skip
        connector = source(sim)
        worker = ImportWorker(ShopContext(shop, connector, ledger))
        began = time.perf_counter()
        worker.import_range(start, end)
        import_seconds = time.perf_counter() - began
        spent = sim.graphql.spent
        throttled = sim.graphql.throttled
        stored = ledger.count_orders("bench") + len(ledger.failures("bench"))
    least = max(0.0, spent - 2000) / args.restore

    day = OrderCatalog.generate(args.day, seed=4, start=start, end=end)
    span = ImportWindow(start=start, end=end)
    timings = {}
    for mode in ("bulk", "paged"):
        with ShopifySimulator(day, graphql_restore_rate=args.restore, bulk_seconds=1.0) as sim:
            connector = source(sim, bulk_above=0 if mode == "bulk" else 10**9,
                               bulk_poll_seconds=0.5)  # fmt: skip
            began = time.perf_counter()
            count = sum(1 for _ in connector.list_ids(span))
            timings[mode] = (time.perf_counter() - began, count, sim.graphql.spent)
    print(f"### Shopify GraphQL ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(f"Command: `.venv/bin/python scripts/bench/graphql_bench.py --orders {args.orders} "
          f"--restore {args.restore:g} --day {args.day}`\n")  # fmt: skip
    print("| orders | points spent | restore/s | least time the bucket allows | import time "
          "| budget used | THROTTLED |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    used = least / import_seconds
    print(f"| {stored:,} | {spent:,.0f} | {args.restore:g} | {least:.1f} s "
          f"| {import_seconds:.1f} s | {used:.2f} | {throttled} |\n")  # fmt: skip
    print(f"| listing the ids of a {args.day:,}-order day | seconds | ids | points spent |")
    print("|---|---|---|---|")
    for mode, (seconds, count, points) in timings.items():
        print(f"| {mode} | {seconds:.1f} | {count:,} | {points:,.0f} |")


if __name__ == "__main__":
    main()
