"""Benchmark the daily reconciliation against the Shopify simulator, at 10,000 and 100,000 orders.

Run:  .venv/bin/python scripts/bench/reconcile_bench.py [--sizes 10000 100000]

For each size: a Shopify simulator (its own process, rate limit lifted) holding SIZE orders over
24 hours, 2 % of them flawed; the day is imported except for one hour (the orders an outage
lost), untimed. Then, in the same run:
1. the baseline: a bare loop that only lists ids and creation times (``fields=id,created_at``)
   of the same hourly windows: the least any reconciliation has to read;
2. `loginsights reconcile --hours 26` in a child process that reports its own peak RSS.
Prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rig import bare_listing, day_start, local_solr, measured_cli, shopify_simulator, shops_file


def run_size(size: int, solr_url: str, work: Path) -> dict[str, float]:
    with shopify_simulator(size, "missing-address:0.01", "bad-email:0.01") as url:
        start = day_start()
        end = datetime.now(UTC).replace(microsecond=0)
        shops = shops_file(work, "bench", url, start)
        ledger = work / f"ledger-{size}.sqlite3"
        lost_from, lost_to = start + timedelta(hours=10), start + timedelta(hours=11)
        for span in ((start, lost_from), (lost_to, end)):
            measured_cli(
                ["import", "--shop", "bench", "--from", span[0].isoformat(),
                 "--to", span[1].isoformat(), "--json"],
                shops=shops, ledger=ledger, solr_url=solr_url, work=work,
            )  # fmt: skip
        baseline = bare_listing(url, end - timedelta(hours=26), end, fields="id,created_at")
        report, seconds, peak_mb = measured_cli(
            ["reconcile", "--shop", "bench", "--hours", "26", "--json"],
            shops=shops, ledger=ledger, solr_url=solr_url, work=work,
        )  # fmt: skip
    assert report["atSource"] == baseline["orders"] == size, (report["atSource"], size)
    assert report["alreadyImported"] + report["importedNow"] + report["failedNow"] == size
    return {
        "size": size,
        "seconds": seconds,
        "bare_seconds": baseline["seconds"],
        "peak_rss_mb": peak_mb,
        "missing": len(report["missingIds"]),
        "imported_now": report["importedNow"],
        "failed_now": report["failedNow"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-reconcile-bench-"))
    with local_solr(work) as solr_url:
        rows = [run_size(size, solr_url, work) for size in args.sizes]
    print(f"### Reconciliation ({datetime.now(UTC):%Y-%m-%d}, Shopify simulator, 2 cores)\n")
    sizes = " ".join(str(s) for s in args.sizes)
    print(f"Command: `.venv/bin/python scripts/bench/reconcile_bench.py --sizes {sizes}`\n")
    print(
        "| orders in 24 h | missing (one lost hour + flawed) | imported now | failed now "
        "| reconcile s | bare id listing s | ratio to bare listing | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['size']:,} | {row['missing']:,} | {row['imported_now']:,} "
            f"| {row['failed_now']:,} | {row['seconds']:.1f} | {row['bare_seconds']:.1f} "
            f"| {row['bare_seconds'] / row['seconds']:.2f} | {row['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
