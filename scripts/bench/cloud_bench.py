"""logInsights on one node vs two (2 shards): indexing by batch size, and query latency.

Run:  .venv/bin/python scripts/bench/cloud_bench.py [--docs 20000] [--queries 300]

Two local SolrClouds from the Maven-built launcher, one after the other in the same run: one
node with one shard, then two nodes with two shards (one replica each). On each, DOCS failure
documents of realistic size (the pipeline's own rendering, messages of about 250 characters) are
posted through `LogInsightsIndex.post_documents` at several batch sizes (fresh versions each
time, so Solr indexes every post), then QUERIES documented requests (the seed's, per-shop
filters, a text search) are timed one after another.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from rig import ACCOUNTS, ROOT, failed_attempts, free_port

from pipeline.documents import failure_document
from pipeline.indexing import LogInsightsIndex
from pipeline.query import compact_json
from pipeline.solr.local import LocalSolr

BATCHES = (100, 250, 500, 1000, 2000)
SHOPS = [f"bench-shop-{n}" for n in range(20)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    zone = ZoneInfo("America/New_York")
    attempts = failed_attempts(args.docs, SHOPS)
    rows = []
    for nodes, shards in ((1, 1), (2, 2)):
        local = LocalSolr(
            launcher_dir=ROOT / "solr" / "launcher",
            configset_dir=ROOT / "solr" / "configsets" / "logInsights" / "conf",
            state_dir=Path(tempfile.mkdtemp(prefix="loginsights-cloud-bench-")),
            accounts=ACCOUNTS,
        )
        port = free_port() if nodes == 1 else _two_ports()
        solr, _ = local.start(mode="cloud", nodes=nodes, port=port, shards=shards,
                              replication_factor=1)  # fmt: skip
        try:
            rates = {}
            for version, batch in enumerate(BATCHES, 1):
                docs = [failure_document(a, ttl="+60DAYS", zone=zone, version=version)
                        for a in attempts]  # fmt: skip
                index = LogInsightsIndex(",".join(solr.urls), batch_size=batch, timeout=60,
                                         account=ACCOUNTS.indexer)  # fmt: skip
                began = time.perf_counter()
                index.post_documents(docs)
                rates[batch] = args.docs / (time.perf_counter() - began)
            index.soft_commit()
            latencies = _queries(solr.urls[0], args.queries)
            rows.append((nodes, shards, rates, latencies))
        finally:
            local.stop(port)
    print(f"### One node vs two ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(f"Command: `.venv/bin/python scripts/bench/cloud_bench.py --docs {args.docs} "
          f"--queries {args.queries}`\n")  # fmt: skip
    print("| nodes | shards | " + " | ".join(f"docs/s, batch {b}" for b in BATCHES)
          + " | query p50 ms | query p99 ms |")  # fmt: skip
    print("|---" * (len(BATCHES) + 4) + "|")
    for nodes, shards, rates, latencies in rows:
        cells = " | ".join(f"{rates[b]:,.0f}" for b in BATCHES)
        p50, p99 = _pct(latencies, 0.5) * 1e3, _pct(latencies, 0.99) * 1e3
        print(f"| {nodes} | {shards} | {cells} | {p50:.1f} | {p99:.1f} |")


def _two_ports() -> int:
    for _ in range(50):
        port = free_port()
        try:
            import socket

            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two free ports")


def _queries(solr_url: str, count: int) -> list[float]:
    mix = [{"params": {"q": "docType:SHOPIFY_ORDER"}}]
    mix += [{"params": {"q": "*:*", "fq": f"shop:{shop}"}} for shop in SHOPS]
    mix += [{"params": {"q": "errorMessage:address", "rows": 20}}]
    session, latencies = requests.Session(), []
    session.auth = ACCOUNTS.reader.auth
    for n in range(count + 20):
        began = time.perf_counter()
        form = {"json": compact_json(mix[n % len(mix)])}
        session.post(f"{solr_url}/logInsights/search", data=form, timeout=30).raise_for_status()
        if n >= 20:  # the first ones warm caches
            latencies.append(time.perf_counter() - began)
    return latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


if __name__ == "__main__":
    main()
