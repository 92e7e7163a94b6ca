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
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline.solr.local import LocalSolr  # noqa: E402

BARE_LOOP = """
import json, sys, time, requests
from datetime import datetime, timedelta
api = sys.argv[1]
start, end = datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
session, count = requests.Session(), 0
headers = {"X-Shopify-Access-Token": "shpat_simulated"}
began = time.perf_counter()
while start < end:  # the same hourly windows the worker reads
    stop = min(start + timedelta(hours=1), end)
    url, params = api, {"status": "any", "limit": 250}
    params.update(created_at_min=start.isoformat(), created_at_max=stop.isoformat())
    while url:
        response = session.get(url, params=params, headers=headers, timeout=60)
        count += sum(1 for o in response.json()["orders"]
                     if start <= datetime.fromisoformat(o["created_at"]) < stop)
        url, params = response.links.get("next", {}).get("url"), None
    start = stop
print(json.dumps({"orders": count, "seconds": time.perf_counter() - began}))
"""

# Runs the CLI in this child and reports the child's own peak RSS (KiB on Linux) on stderr.
MEASURED_CLI = """
import json, resource, runpy, sys
sys.argv = ["loginsights", *sys.argv[1:]]
try:
    runpy.run_module("pipeline.cli", run_name="__main__")
finally:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_kib": peak}), file=sys.stderr)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_size(size: int, solr_url: str, work: Path) -> dict[str, float]:
    port = free_port()
    simulator = subprocess.Popen(
        [
            sys.executable, "-m", "pipeline.cli", "simulate", "shopify", "--port", str(port),
            "--orders", str(size), "--seed", "3", "--rate", "1000000:1000000",
            "--fault", "missing-address:0.01", "--fault", "bad-email:0.01",
        ],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        json.loads(simulator.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        began_at = (datetime.now(UTC) - timedelta(hours=25)).replace(microsecond=0)
        window = (began_at.isoformat(), datetime.now(UTC).isoformat())
        bare = subprocess.run(
            [sys.executable, "-c", BARE_LOOP, f"{url}/admin/api/2024-10/orders.json", *window],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        baseline = json.loads(bare.stdout)
        shops = work / f"shops-{size}.toml"
        shops.write_text(
            f'[shops.bench]\nplatform = "shopify"\nbase_url = "{url}"\n'
            f'access_token_env = "BENCH_TOKEN"\nstart = "{began_at.isoformat()}"\n'
            "window_minutes = 60\nsettle_lag_seconds = 0\n"
        )
        env = {
            **os.environ,
            "BENCH_TOKEN": "shpat_simulated",
            "LOGINSIGHTS_SOLR_URL": solr_url,
            "LOGINSIGHTS_STATE_DIR": str(work),
        }
        began = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable, "-c", MEASURED_CLI, "--shops-file", str(shops),
                "--ledger", str(work / f"ledger-{size}.sqlite3"),
                "import", "--shop", "bench", "--json",
            ],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - began
        totals = json.loads(result.stdout)
        peak = json.loads(result.stderr.strip().splitlines()[-1])
        assert totals["imported"] + totals["failed"] == baseline["orders"] == size, totals
        return {
            "size": size,
            "import_seconds": seconds,
            "orders_per_second": size / seconds,
            "bare_seconds": baseline["seconds"],
            "bare_per_second": size / baseline["seconds"],
            "peak_rss_mb": peak["peak_rss_kib"] / 1024,
            "failed": totals["failed"],
        }
    finally:
        simulator.terminate()
        simulator.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-import-bench-"))
    local = LocalSolr(
        launcher_dir=ROOT / "solr" / "launcher",
        configset_dir=ROOT / "solr" / "configsets" / "logInsights" / "conf",
        state_dir=work / "solr",
    )
    port = free_port()
    solr, _ = local.start(mode="cloud", port=port)
    try:
        rows = [run_size(size, solr.solr_url, work) for size in args.sizes]
    finally:
        local.stop(port)
    print(f"### Import worker ({datetime.now(UTC):%Y-%m-%d}, Shopify simulator, 2 cores)\n")
    sizes = " ".join(str(s) for s in args.sizes)
    print(f"Command: `.venv/bin/python scripts/bench/import_bench.py --sizes {sizes}`\n")
    print(
        "| orders | import s | orders/s | bare fetch+parse orders/s | ratio to bare loop "
        "| failures posted | peak RSS of the import (MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['size']:,} | {row['import_seconds']:.1f} | {row['orders_per_second']:,.0f} "
            f"| {row['bare_per_second']:,.0f} | "
            f"{row['orders_per_second'] / row['bare_per_second']:.2f} | {row['failed']:,.0f} "
            f"| {row['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
