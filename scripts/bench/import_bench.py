"""Benchmark the import worker against the Shopify simulator.

Run:  .venv/bin/python scripts/bench/import_bench.py [--sizes 10000 100000]

For each size: a Shopify simulator (its own process, rate limit lifted) holding SIZE orders over
24 hours, 2 % of them flawed; then, in this order, in the same run:
1. the baseline: a bare loop that only fetches and parses the same pages (the same hourly
   windows, Link paging, 250 per page) in a child process;
2. `loginsights import` of the same day into an empty ledger, with a local Solr receiving the
   failure documents, in a child process that reports its own peak RSS (ru_maxrss).
Prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rig import bare_listing, day_start, local_solr, measured_cli, shopify_simulator, shops_file


def run_size(size: int, solr_url: str, work: Path) -> dict[str, float]:
    with shopify_simulator(size, "missing-address:0.01", "bad-email:0.01") as url:
        start = day_start()
        baseline = bare_listing(url, start, datetime.now(UTC))
        totals, seconds, peak_mb = measured_cli(
            ["import", "--shop", "bench", "--json"],
            shops=shops_file(work, "bench", url, start),
            ledger=work / f"ledger-{size}.sqlite3",
            solr_url=solr_url,
            work=work,
        )
    assert totals["imported"] + totals["failed"] == baseline["orders"] == size, totals
    return {
        "size": size,
        "import_seconds": seconds,
        "orders_per_second": size / seconds,
        "bare_seconds": baseline["seconds"],
        "bare_per_second": size / baseline["seconds"],
        "peak_rss_mb": peak_mb,
        "failed": totals["failed"],
        "cpu_per_100k": totals["_cpu_seconds"] * 100_000 / size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-import-bench-"))
    with local_solr(work) as solr_url:
        rows = [run_size(size, solr_url, work) for size in args.sizes]
    print(f"### Import worker ({datetime.now(UTC):%Y-%m-%d}, Shopify simulator, 2 cores)\n")
    sizes = " ".join(str(s) for s in args.sizes)
    print(f"Command: `.venv/bin/python scripts/bench/import_bench.py --sizes {sizes}`\n")
    print(
        "| orders | import s | orders/s | bare fetch+parse orders/s | ratio to bare loop "
        "| failures posted | peak RSS of the import (MB) | CPU s per 100k orders |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['size']:,} | {row['import_seconds']:.1f} | {row['orders_per_second']:,.0f} "
            f"| {row['bare_per_second']:,.0f} | "
            f"{row['orders_per_second'] / row['bare_per_second']:.2f} | {row['failed']:,.0f} "
            f"| {row['peak_rss_mb']:.0f} | {row['cpu_per_100k']:.1f} |"
        )


if __name__ == "__main__":
    main()
