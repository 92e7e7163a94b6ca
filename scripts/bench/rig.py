"""The bench rig shared by the benchmarks: a local Solr, a simulated shop in its own process,
and loginsights CLI runs in child processes that report their own peak RSS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline.models import FailedAttempt, Platform  # noqa: E402
from pipeline.solr.accounts import SolrAccounts  # noqa: E402
from pipeline.solr.local import LocalSolr  # noqa: E402

# Solr asks for credentials in benchmarks as it does for users; children (the CLI, `serve`)
# inherit them through the environment, as a deployment passes them.
ACCOUNTS = SolrAccounts.generate()
for _account in ACCOUNTS:
    os.environ[f"LOGINSIGHTS_SOLR_{_account.role.name}_PASSWORD"] = _account.auth[1]

TOKEN = "shpat_simulated"

# Runs the CLI in this child and reports the child's own peak RSS (KiB on Linux) on stderr.
MEASURED_CLI = """
import json, resource, runpy, sys
sys.argv = ["loginsights", *sys.argv[1:]]
try:
    runpy.run_module("pipeline.cli", run_name="__main__")
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"peak_rss_kib": usage.ru_maxrss, "cpu_seconds": cpu}), file=sys.stderr)
"""


# The baseline of the import and reconciliation benchmarks: list the same hourly windows with
# plain requests (Link paging, 250 a page), parse, count; FIELDS narrows the keys ("" for all).
BARE_LISTING = """
import json, sys, time, requests
from datetime import datetime, timedelta
api, fields = sys.argv[1], sys.argv[4]
start, end = datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
session, count = requests.Session(), 0
headers = {"X-Shopify-Access-Token": "shpat_simulated"}
extra = {"fields": fields} if fields else {}
began = time.perf_counter()
while start < end:
    stop = min(start + timedelta(hours=1), end)
    url, params = api, {"status": "any", "limit": 250, **extra}
    params.update(created_at_min=start.isoformat(), created_at_max=stop.isoformat())
    while url:
        response = session.get(url, params=params, headers=headers, timeout=60)
        count += sum(1 for o in response.json()["orders"]
                     if start <= datetime.fromisoformat(o["created_at"]) < stop)
        url, params = response.links.get("next", {}).get("url"), extra
    start = stop
print(json.dumps({"orders": count, "seconds": time.perf_counter() - began}))
"""


def bare_listing(url: str, start: datetime, end: datetime, fields: str = "") -> dict[str, Any]:
    """Run the baseline in a child: {"orders": n, "seconds": s}."""
    bare = subprocess.run(
        [sys.executable, "-c", BARE_LISTING, f"{url}/admin/api/2024-10/orders.json",
         start.isoformat(), end.isoformat(), fields],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(bare.stdout)
    return result


def failed_attempts(count: int, shops: list[str]) -> list[FailedAttempt]:
    """``count`` Shopify orders missing an address, spread over ``shops`` in turn."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        FailedAttempt(
            platform=Platform.SHOPIFY,
            shop=(shop := shops[n % len(shops)]),
            order_id=str(5_000_000_000_000 + n),
            order_name=f"#{1000 + n}",
            order_created_at=created + timedelta(seconds=n),
            error_message=f"Order #{1000 + n} has no shipping address; add it and re-import",
            site=f"https://{shop}.myshopify.com/1/orders/{n:032x}/authenticate?key=k",
        )
        for n in range(count)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_solr(work: Path) -> Iterator[str]:
    """A SolrCloud node from the Maven-built launcher; yields its base URL."""
    local = LocalSolr(
        launcher_dir=ROOT / "solr" / "launcher",
        configset_dir=ROOT / "solr" / "configsets" / "logInsights" / "conf",
        state_dir=work / "solr",
        accounts=ACCOUNTS,
    )
    port = free_port()
    solr, _ = local.start(mode="cloud", port=port)
    try:
        yield solr.solr_url
    finally:
        local.stop(port)


@contextmanager
def shopify_simulator(orders: int, *faults: str) -> Iterator[str]:
    """A Shopify simulator (rate limit lifted) with ``orders`` over the last 24 hours."""
    port = free_port()
    fault_args = [arg for fault in faults for arg in ("--fault", fault)]
    simulator = subprocess.Popen(
        [
            sys.executable, "-m", "pipeline.cli", "simulate", "shopify", "--port", str(port),
            "--orders", str(orders), "--seed", "3", "--rate", "1000000:1000000", *fault_args,
        ],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        json.loads(simulator.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        simulator.terminate()
        simulator.wait()


def postgres(*settings: str) -> tuple[str, list[str]]:
    """A throwaway PostgreSQL cluster (``settings``: more ``-c name=value``); (its URL, the
    command that stops it)."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1].parent
    data = Path(tempfile.mkdtemp(prefix="loginsights-pg-bench-")) / "data"
    data.mkdir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(data.parent, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    run = [*as_postgres, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U",
           "postgres", "--no-sync"]  # fmt: skip
    subprocess.run(run, check=True, capture_output=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c synchronous_commit=off"
    options += "".join(f" -c {setting}" for setting in settings)
    subprocess.run(
        [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
         str(data / "log"), "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [*as_postgres, str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
         "postgres", "bench"],
        check=True, capture_output=True,
    )  # fmt: skip
    stop = [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench", stop


def day_start() -> datetime:
    """An hour before the simulator's first order: where the shop's first window begins."""
    return (datetime.now(UTC) - timedelta(hours=25)).replace(microsecond=0)


def shops_file(work: Path, name: str, url: str, start: datetime) -> Path:
    path = work / f"shops-{name}.toml"
    path.write_text(
        f'[shops.{name}]\nplatform = "shopify"\napi = "rest"\nbase_url = "{url}"\n'
        f'access_token_env = "BENCH_TOKEN"\nstart = "{start.isoformat()}"\n'
        "window_minutes = 60\nsettle_lag_seconds = 0\n"
    )
    return path


def measured_cli(
    args: list[str], *, shops: Path, ledger: Path, solr_url: str, work: Path
) -> tuple[dict[str, Any], float, float]:
    """Run ``loginsights … --json`` in a child: (its JSON output, seconds, peak RSS in MB).

    The child's CPU seconds are in the output under ``_cpu_seconds``."""
    env = {
        **os.environ,
        "BENCH_TOKEN": TOKEN,
        "LOGINSIGHTS_SOLR_URL": solr_url,
        "LOGINSIGHTS_STATE_DIR": str(work),
    }
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURED_CLI, "--shops-file", str(shops), "--ledger", str(ledger),
         *args],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    usage = json.loads(result.stderr.strip().splitlines()[-1])
    output = json.loads(result.stdout)
    output["_cpu_seconds"] = usage["cpu_seconds"]
    return output, seconds, usage["peak_rss_kib"] / 1024
