"""Many shops at once, each at its platform's budget: how much of the budget `run` uses.

Run:  .venv/bin/python scripts/bench/shops_bench.py [--shops 20] [--orders 2000] [--concurrency 20]

SHOPS Shopify simulators with the DEFAULT bucket (40 calls, leaking 2 a second) serve ORDERS
orders each over the last day; `loginsights run` imports them at 25 orders a page, so every shop
needs more calls than its bucket holds. The least time those buckets allow, run in parallel, is
the slowest shop's (calls - 40) / 2 seconds; "budget used" is that minimum over the measured
wall time (1.0 = every bucket drained as fast as it leaks). The simulators count 429s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from rig import ROOT, TOKEN

from pipeline.ledger import Ledger

SIMULATORS = """
import json, sys, threading
from datetime import UTC, datetime, timedelta
from pipeline.simulators import OrderCatalog, ShopifySimulator
shops, orders = int(sys.argv[1]), int(sys.argv[2])
end = datetime.now(UTC) - timedelta(minutes=5)
sims = []
for n in range(shops):
    catalog = OrderCatalog.generate(orders, seed=n + 1, start=end - timedelta(hours=24), end=end)
    sims.append(ShopifySimulator(catalog, shop=f"bench{n}").start())
print(json.dumps([sim.url for sim in sims]), flush=True)
threading.Event().wait()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-shops-bench-"))
    simulators = subprocess.Popen(
        [sys.executable, "-c", SIMULATORS, str(args.shops), str(args.orders)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    urls = json.loads(simulators.stdout.readline())  # type: ignore[union-attr]
    start = (datetime.now(UTC) - timedelta(hours=25)).replace(microsecond=0)
    names = [f"bench{n}" for n in range(args.shops)]
    (work / "shops.toml").write_text(
        "".join(
            f'[shops.{name}]\nplatform = "shopify"\napi = "rest"\nbase_url = "{url}"\n'
            f'access_token_env = "BENCH_TOKEN"\nstart = "{start.isoformat()}"\n'
            "window_minutes = 60\nsettle_lag_seconds = 60\npage_size = 25\n"
            for name, url in zip(names, urls, strict=True)
        )
    )
    ledger_path = work / "ledger.sqlite3"
    env = {
        **os.environ,
        "BENCH_TOKEN": TOKEN,
        "LOGINSIGHTS_STATE_DIR": str(work),
        "LOGINSIGHTS_SOLR_URL": "http://127.0.0.1:9/solr",
    }  # no failures: Solr unused
    began = time.perf_counter()
    run = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "--shops-file", str(work / "shops.toml"),
         "--ledger", str(ledger_path), "run", "--concurrency", str(args.concurrency),
         "--poll", "3600"],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        done_at = None
        while done_at is None and time.perf_counter() - began < 3600:
            time.sleep(0.5)
            if not ledger_path.exists():
                continue
            with Ledger(ledger_path) as ledger:
                counts = [ledger.count_orders(name) for name in names]
            if sum(counts) >= args.shops * args.orders:
                done_at = time.perf_counter()
    finally:
        run.terminate()
        run.wait()
    wall = (done_at or time.perf_counter()) - began
    stats = [requests.get(f"{url}/_sim/stats", timeout=10).json() for url in urls]
    simulators.terminate()
    calls = [s["calls"] for s in stats]
    throttled = sum(s.get("throttled", 0) for s in stats)
    minimum = max(max(0.0, (c - 40) / 2.0) for c in calls)
    print(f"### {args.shops} shops at the default Shopify bucket ({datetime.now(UTC):%Y-%m-%d})\n")
    print(
        f"Command: `.venv/bin/python scripts/bench/shops_bench.py --shops {args.shops} "
        f"--orders {args.orders} --concurrency {args.concurrency}`\n"
    )
    print("| shops | concurrency | orders | calls (max per shop) | least time the buckets allow "
          "| wall | budget used | 429s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.shops} | {args.concurrency} | {args.shops * args.orders:,} | {max(calls)} "
        f"| {minimum:.1f} s | {wall:.1f} s | {minimum / wall:.2f} | {throttled} |"
    )


if __name__ == "__main__":
    main()
