"""Benchmark the foundation: local Solr start-up, and the indexer against a raw /update.

Run:  .venv/bin/python scripts/bench/solr_bench.py [--docs 20000] [--rounds 3]

1. Start-up: seconds from `LocalSolr.start` to healthy with logInsights installed, cold (a fresh
   state directory: new ZooKeeper, collection created) and warm (restart on the same state).
2. Indexing: documents per second through the outbox flush and `post_documents` (builds documents,
   reads back earlier attempts with real-time get, posts with pysolr) and `post_documents` (posts
   prepared documents), each as a ratio of a raw `requests` POST of the same documents to
   /update in the same batch size, alternating in the same process so machine noise hits all.
Prints a Markdown section to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rig import ACCOUNTS, failed_attempts  # noqa: E402

from pipeline.documents import failure_document  # noqa: E402
from pipeline.flusher import OutboxFlusher  # noqa: E402
from pipeline.indexing import LogInsightsIndex  # noqa: E402
from pipeline.ledger import Ledger  # noqa: E402
from pipeline.settings import REPO_ROOT  # noqa: E402
from pipeline.solr.local import LocalSolr  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raw_update(url: str, documents: list[dict], batch: int) -> None:  # type: ignore[type-arg]
    session = requests.Session()
    session.auth = ACCOUNTS.indexer.auth  # the baseline logs in as the indexer does
    for start in range(0, len(documents), batch):
        response = session.post(
            f"{url}/update",
            data=json.dumps(documents[start : start + batch]),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        response.raise_for_status()


def timed(action) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="loginsights-bench-"))
    local = LocalSolr(
        launcher_dir=REPO_ROOT / "solr" / "launcher",
        configset_dir=REPO_ROOT / "solr" / "configsets" / "logInsights" / "conf",
        state_dir=state,
        accounts=ACCOUNTS,
    )
    local.build()
    port = free_port()
    cold = timed(lambda: local.start(mode="cloud", port=port))
    local.stop(port)
    warm_runs = []
    for _ in range(args.rounds):
        warm_runs.append(timed(lambda: local.start(mode="cloud", port=port)))
        local.stop(port)
    standalone_port = free_port()
    standalone_cold = timed(lambda: local.start(mode="standalone", port=standalone_port))
    local.stop(standalone_port)

    solr, _ = local.start(mode="cloud", port=port)
    try:
        index = LogInsightsIndex(
            solr.solr_url, batch_size=args.batch, timeout=60, account=ACCOUNTS.indexer
        )
        collection_url = index.collection_url
        shop = "bench"
        failures = failed_attempts(args.docs, [shop])
        zone = ZoneInfo("America/New_York")

        def documents(version: int) -> list[dict]:  # type: ignore[type-arg]
            """A fresh version each time, so that Solr indexes every post (versions only grow)."""
            return [
                failure_document(a, ttl="+60DAYS", zone=zone, version=version) for a in failures
            ]

        raw_update(collection_url, documents(1), args.batch)  # warm-up: JIT, caches
        raw, posted, flushed = [], [], []
        version = 10
        for _ in range(args.rounds):
            batch = documents(version := version + 1)
            raw.append(timed(lambda batch=batch: raw_update(collection_url, batch, args.batch)))
            batch = documents(version := version + 1)
            posted.append(timed(lambda batch=batch: index.post_documents(batch)))
            with tempfile.TemporaryDirectory() as folder:
                ledger = Ledger(Path(folder) / "outbox.sqlite3")
                for doc in documents(version := version + 1):
                    ledger.enqueue(doc)
                flusher = OutboxFlusher(ledger, index, batch_size=args.batch)
                flushed.append(timed(flusher.flush))
                assert ledger.outbox_counts() == (0, 0)
                ledger.close()
    finally:
        local.stop(port)

    def rate(seconds: list[float]) -> float:
        return args.docs / statistics.median(seconds)

    print(f"### Foundation ({datetime.now(UTC):%Y-%m-%d}, Solr 9.10.1 via launcher, 2 cores)\n")
    print(
        f"Command: `.venv/bin/python scripts/bench/solr_bench.py --docs {args.docs} "
        f"--rounds {args.rounds} --batch {args.batch}`\n"
    )
    print("| start-up to healthy, logInsights installed | seconds |")
    print("|---|---|")
    print(f"| SolrCloud, 1 node, cold (fresh state, collection created) | {cold:.1f} |")
    print(
        f"| SolrCloud, 1 node, warm (restart, median of {args.rounds}) | "
        f"{statistics.median(warm_runs):.1f} |"
    )
    print(f"| standalone, cold | {standalone_cold:.1f} |\n")
    print(
        f"| indexing {args.docs} documents, batches of {args.batch} (median of {args.rounds}) "
        "| docs/s | ratio to raw /update |"
    )
    print("|---|---|---|")
    print(f"| raw `requests` POST /update (baseline) | {rate(raw):,.0f} | 1.00 |")
    print(
        f"| `post_documents` (serialize + post) | {rate(posted):,.0f} | "
        f"{rate(posted) / rate(raw):.2f} |"
    )
    print(
        f"| outbox flush (stored JSON posted as is, rows deleted in one statement, soft "
        f"commit) | {rate(flushed):,.0f} | {rate(flushed) / rate(raw):.2f} |"
    )


if __name__ == "__main__":
    main()
