"""The ledger's engines and scale-out: SQLite vs PostgreSQL, one worker process vs two.

Run:  .venv/bin/python scripts/bench/ledger_bench.py [--shops 4] [--orders 25000]

SHOPS Shopify simulators (rate limit lifted, one child process) hold ORDERS orders each over the
last day, 2 % of them flawed; a local Solr takes the failure documents. In the same run:
1. one `loginsights run` process on a SQLite ledger;
2. one `loginsights run` process on a PostgreSQL 15 ledger (a throwaway cluster: initdb, pg_ctl);
3. two `loginsights run` processes on that PostgreSQL ledger (emptied first), sharing the shops
   through leases.
Each is timed from start to the moment every order of every shop is in the ledger.
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

from rig import ROOT, TOKEN, local_solr, postgres
from sqlalchemy import create_engine, text

from pipeline.ledger import Ledger
from pipeline.ledger.migrations import upgrade
from pipeline.ledger.schema import metadata

SIMULATORS = """
import json, sys, threading
from datetime import UTC, datetime, timedelta
from pipeline.simulators import Faults, OrderCatalog, ShopifySimulator
shops, orders = int(sys.argv[1]), int(sys.argv[2])
end = datetime.now(UTC) - timedelta(minutes=5)
flawed = Faults(missing_address_share=0.01, bad_email_share=0.01)
sims = []
for n in range(shops):
    catalog = OrderCatalog.generate(orders, seed=n + 7, start=end - timedelta(hours=24), end=end,
                                    faults=flawed)
    sims.append(ShopifySimulator(catalog, shop=f"s{n}", bucket_size=10**9, leak_rate=10**9).start())
print(json.dumps([sim.url for sim in sims]), flush=True)
threading.Event().wait()
"""


def fresh(url: str) -> None:
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        names = ", ".join(table.name for table in metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    engine.dispose()


def timed_run(ledger: str, processes: int, env: dict[str, str], shops: Path, total: int) -> float:
    env = {**env, "LOGINSIGHTS_LEDGER_URL": ledger} if "://" in ledger else env
    ledger_args = [] if "://" in ledger else ["--ledger", ledger]
    began = time.perf_counter()
    crew = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline.cli",
                "--shops-file",
                str(shops),
                *ledger_args,
                "run",
                "--poll",
                "3600",
                "--worker-name",
                f"bench-{n}",
            ],
            cwd=ROOT,
            env=env,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for n in range(processes)
    ]
    try:
        while time.perf_counter() - began < 1800:
            time.sleep(0.5)
            try:
                with Ledger(ledger) as store:
                    names = [f"s{n}" for n in range(len(shops.read_text().split("[shops.")) - 1)]
                    stored = sum(
                        store.count_orders(name) + len(store.failures(name)) for name in names
                    )
            except Exception:  # noqa: BLE001  (the ledger may not exist yet)
                continue
            if stored >= total:
                break
    finally:
        for process in crew:
            process.terminate()
        for process in crew:
            process.wait()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--orders", type=int, default=25_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-ledger-bench-"))
    total = args.shops * args.orders
    simulators = subprocess.Popen(
        [sys.executable, "-c", SIMULATORS, str(args.shops), str(args.orders)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    urls = json.loads(simulators.stdout.readline())  # type: ignore[union-attr]
    start = (datetime.now(UTC) - timedelta(hours=25)).replace(microsecond=0)
    shops = work / "shops.toml"
    shops.write_text(
        "".join(
            f'[shops.s{n}]\nplatform = "shopify"\napi = "rest"\nbase_url = "{url}"\n'
            f'access_token_env = "BENCH_TOKEN"\nstart = "{start.isoformat()}"\n'
            "window_minutes = 60\nsettle_lag_seconds = 60\n"
            for n, url in enumerate(urls)
        )
    )
    pg_url, pg_stop = postgres()
    results = []
    try:
        with local_solr(work) as solr_url:
            env = {**os.environ, "BENCH_TOKEN": TOKEN, "LOGINSIGHTS_SOLR_URL": solr_url,
                   "LOGINSIGHTS_STATE_DIR": str(work)}  # fmt: skip
            sqlite = str(work / "ledger.sqlite3")
            results.append(("SQLite", 1, timed_run(sqlite, 1, env, shops, total)))
            fresh(pg_url)
            results.append(("PostgreSQL", 1, timed_run(pg_url, 1, env, shops, total)))
            fresh(pg_url)
            results.append(("PostgreSQL", 2, timed_run(pg_url, 2, env, shops, total)))
    finally:
        subprocess.run(pg_stop, capture_output=True)
        simulators.terminate()
    base = results[0][2]
    print(f"### Ledger engines and workers ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(
        f"Command: `.venv/bin/python scripts/bench/ledger_bench.py --shops {args.shops} "
        f"--orders {args.orders}`\n"
    )
    print("| ledger | worker processes | orders | seconds | orders/s | vs SQLite, 1 worker |")
    print("|---|---|---|---|---|---|")
    for engine, processes, seconds in results:
        print(
            f"| {engine} | {processes} | {total:,} | {seconds:.1f} | {total / seconds:,.0f} "
            f"| {base / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
