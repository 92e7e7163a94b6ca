"""Benchmark /api/solr-query against the same queries sent to Solr directly, in the same run.

Run:  .venv/bin/python scripts/bench/api_bench.py [--requests 2000] [--clients 16]

A local SolrCloud (Maven-built launcher) holds DOCS failure documents; `loginsights serve` runs
in its own process (one uvicorn worker). The same mix of documented requests is sent by CLIENTS
concurrent clients (threads, one HTTP session each) first straight to Solr's /search (exactly as
the query module sends it: the `json` parameter, compact), then through a bare Python proxy
(bare_proxy.py: uvicorn and aiohttp without loginsights, the floor of serving Python here) and then
through the API; the three are repeated for ROUNDS rounds and the medians are reported. Prints a
Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from rig import ACCOUNTS, ROOT, failed_attempts, free_port, local_solr

from pipeline.documents import failure_document
from pipeline.indexing import LogInsightsIndex
from pipeline.query import compact_json

TOKEN = "bench-token"
SHOPS = [f"bench-shop-{n}" for n in range(20)]


def seed(solr_url: str, docs: int) -> None:
    index = LogInsightsIndex(solr_url, account=ACCOUNTS.indexer)
    zone = ZoneInfo("America/New_York")
    attempts = failed_attempts(docs, SHOPS)
    index.post_documents(
        [failure_document(a, ttl="+60DAYS", zone=zone, version=1) for a in attempts]
    )
    index.soft_commit()


def queries() -> list[dict[str, object]]:
    mix: list[dict[str, object]] = [{"params": {"q": "docType:SHOPIFY_ORDER"}}]
    mix += [{"params": {"q": "*:*", "fq": f"shop:{shop}", "rows": 10}} for shop in SHOPS]
    mix += [{"params": {"q": "errorMessage:address", "sort": "timestamp desc", "rows": 20}}]
    return mix


def load(send: Callable[[requests.Session, dict[str, object]], int], total: int, clients: int):
    """Send ``total`` requests from ``clients`` threads; latencies (s) and wall time (s)."""
    mix = queries()
    latencies: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def one(n: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        began = time.perf_counter()
        status = send(session, mix[n % len(mix)])
        elapsed = time.perf_counter() - began
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        with lock:
            latencies.append(elapsed)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(total)))
    return latencies, time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    select: str, api_url: str, floor_url: str, args: argparse.Namespace
) -> dict[str, list[tuple[float, float, float]]]:
    """(p50 s, p99 s, requests/s) of each round: straight to Solr, through a bare Python proxy
    (the floor), and through the API."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    reader = ACCOUNTS.reader.auth  # the baseline logs in as the API does

    def direct(session: requests.Session, value: dict[str, object]) -> int:
        form = {"json": compact_json(value)}
        return session.post(select, data=form, timeout=30, auth=reader).status_code

    def through_api(session: requests.Session, value: dict[str, object]) -> int:
        body = json.dumps({"json": value, "coreName": "logInsights"})
        return session.post(
            f"{api_url}/api/solr-query", data=body, headers=headers, timeout=30
        ).status_code

    def through_floor(session: requests.Session, value: dict[str, object]) -> int:
        body = json.dumps({"json": value, "coreName": "logInsights"})
        return session.post(floor_url, data=body, headers=headers, timeout=30).status_code

    paths = (("direct", direct), ("floor", through_floor), ("api", through_api))
    for _, send in paths:  # warm every path
        load(send, 200, args.clients)
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in paths}
    for _ in range(args.rounds):
        for name, send in paths:
            latencies, wall = load(send, args.requests, args.clients)
            rows[name].append((pct(latencies, 0.5), pct(latencies, 0.99), len(latencies) / wall))
    return rows


def serve_api(solr_url: str, port: int) -> subprocess.Popen[bytes]:
    """`loginsights serve` in its own process, once its /healthz answers."""
    env = {**os.environ, "LOGINSIGHTS_SOLR_URL": solr_url, "LOGINSIGHTS_API_TOKENS": TOKEN}
    api = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    return api


def serve_bare_proxy(solr_url: str, port: int) -> subprocess.Popen[bytes]:
    """The floor: bare_proxy.py under uvicorn, once it answers."""
    env = {**os.environ, "SOLR": solr_url, "CRED": ":".join(ACCOUNTS.reader.auth)}
    proxy = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "scripts" / "bench"),
         "bare_proxy:app", "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    return proxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--docs", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-api-bench-"))
    port = free_port()
    with local_solr(work) as solr_url:
        seed(solr_url, args.docs)
        api = serve_api(solr_url, port)
        floor_port = free_port()
        floor = serve_bare_proxy(solr_url, floor_port)
        try:
            rows = measure(f"{solr_url}/logInsights/search", f"http://127.0.0.1:{port}",
                           f"http://127.0.0.1:{floor_port}/", args)  # fmt: skip
        finally:
            for process in (api, floor):
                process.terminate()
                process.wait()

    def median(name: str, column: int) -> float:
        return statistics.median(row[column] for row in rows[name])

    d50, d99, dput = median("direct", 0), median("direct", 1), median("direct", 2)
    a50, a99, aput = median("api", 0), median("api", 1), median("api", 2)
    f50, f99, fput = median("floor", 0), median("floor", 1), median("floor", 2)
    print(f"### /api/solr-query vs Solr direct ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(
        f"Command: `.venv/bin/python scripts/bench/api_bench.py --requests {args.requests} "
        f"--clients {args.clients} --rounds {args.rounds} --docs {args.docs}`\n"
    )
    print("| path | p50 ms | p99 ms | requests/s |")
    print("|---|---|---|---|")
    print(f"| Solr /search directly (baseline) | {d50 * 1e3:.1f} | {d99 * 1e3:.1f} | {dput:,.0f} |")
    print(f"| through a bare Python proxy (floor) | {f50 * 1e3:.1f} | {f99 * 1e3:.1f} "
          f"| {fput:,.0f} |")  # fmt: skip
    print(f"| through /api/solr-query | {a50 * 1e3:.1f} | {a99 * 1e3:.1f} | {aput:,.0f} |")
    print(
        f"| added by the floor | +{(f50 - d50) * 1000:.1f} | +{(f99 - d99) * 1000:.1f} "
        f"| ratio {fput / dput:.2f} |"
    )
    print(
        f"| added by the API | +{(a50 - d50) * 1000:.1f} | +{(a99 - d99) * 1000:.1f} "
        f"| ratio {aput / dput:.2f} |"
    )


if __name__ == "__main__":
    main()
