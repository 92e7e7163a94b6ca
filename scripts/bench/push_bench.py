"""The push path per order, against a bare receiver and a bare importer in the same run.

Run:  .venv/bin/python scripts/bench/push_bench.py [--shops 50] [--deliveries 1200] [--rate 40]

A simulator process serves ``--shops`` Shopify REST shops (``ShopFleet``) holding the orders to
be announced. Signed orders/create deliveries (the simulator's own REST rendering of each order,
as Shopify sends it) are posted at ``--rate`` a second, first to `loginsights serve` with three
`loginsights run` processes importing the noticed orders by id, then to the baseline: a bare
receiver (http.server, the HMAC check, one INSERT) and a bare importer (pending rows read every
0.1 s, a GET by id with requests, one INSERT and one UPDATE per order), both on the same
PostgreSQL. Reported per order: CPU of the receiver, of the importers and of PostgreSQL; the
answer time of a delivery; delivery received -> order stored (p50/p99).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from fleet_bench import cpu_seconds, percentile, postgres_cpu_seconds
from rig import ROOT, TOKEN, free_port, local_solr, postgres
from sqlalchemy import create_engine, text

from pipeline.ledger.migrations import upgrade

SECRET = "push-bench-app-secret"
SIMULATOR = """
import json, sys
from pipeline.simulators import OrderCatalog, ShopifySimulator
from pipeline.simulators.fleet import ShopFleet
shops, per_shop = int(sys.argv[1]), int(sys.argv[2])
sims = {f"p{n}": ShopifySimulator(OrderCatalog(), shop=f"p{n}", listen=False, seed=n + 1,
                                  bucket_size=100000, leak_rate=100000.0) for n in range(shops)}
fleet = ShopFleet(sims).start()
orders = [[name, sim.webhook_payload(sim.place_order())] for _ in range(per_shop)
          for name, sim in sims.items()]
print(json.dumps({"url": fleet.url, "orders": orders}), flush=True)
sys.stdin.readline()
"""
BARE_RECEIVER = """
import base64, hashlib, hmac, json, sys, threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import psycopg
dsn, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
local = threading.local()
class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        digest = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        ok = hmac.compare_digest(digest, self.headers.get("X-Shopify-Hmac-Sha256", ""))
        if ok:
            if not hasattr(local, "db"):
                local.db = psycopg.connect(dsn, autocommit=True)
            shop = self.headers["X-Shopify-Shop-Domain"].split(".")[0]
            local.db.execute(
                "INSERT INTO bare_notices VALUES (%s, %s, %s, %s, NULL) ON CONFLICT DO NOTHING",
                (shop, self.headers["X-Shopify-Webhook-Id"], str(json.loads(body)["id"]),
                 datetime.now(UTC).isoformat()))
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
"""
BARE_IMPORTER = """
import sys, time
from datetime import UTC, datetime
import psycopg, requests
dsn, url = sys.argv[1], sys.argv[2]
db, session = psycopg.connect(dsn, autocommit=True), requests.Session()
while True:
    rows = db.execute("SELECT shop, delivery_id, order_id FROM bare_notices "
                      "WHERE settled_at IS NULL LIMIT 100").fetchall()
    if not rows:
        time.sleep(0.1)
    for shop, delivery, order_id in rows:
        order = session.get(f"{url}/shops/{shop}/admin/api/2026-10/orders/{order_id}.json",
                            headers={"X-Shopify-Access-Token": "shpat_simulated"}, timeout=30)
        db.execute("INSERT INTO bare_orders VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                   (shop, order_id, order.text))
        db.execute("UPDATE bare_notices SET settled_at = %s WHERE shop = %s AND delivery_id = %s",
                   (datetime.now(UTC).isoformat(), shop, delivery))
"""


def deliveries(orders: list[list[Any]]) -> list[tuple[bytes, dict[str, str]]]:
    signed = []
    for shop, payload in orders:
        body = json.dumps(payload, separators=(",", ":")).encode()
        digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        signed.append((body, {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": digest.decode(),
            "X-Shopify-Shop-Domain": f"{shop}.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2026-10",
        }))  # fmt: skip
    return signed


def send(url: str, signed: list[tuple[bytes, dict[str, str]]], rate: float) -> list[float]:
    """Post every delivery at ``rate`` a second from 8 threads; the answer times (s)."""
    sessions = threading.local()
    answers: list[float] = []
    began = time.monotonic()

    def post(index: int) -> None:
        time.sleep(max(0.0, began + index / rate - time.monotonic()))
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        body, headers = signed[index]
        start = time.monotonic()
        response = session.post(url, data=body, headers=headers, timeout=30)
        answers.append(time.monotonic() - start)
        assert response.status_code == 200, response.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(len(signed))))
    return answers


def settled(engine: Any, table: str, expected: int, timeout: float) -> list[float]:
    """Wait for every notice to be settled; received -> settled, in seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as db:
            rows = db.execute(text(
                f"SELECT received_at, settled_at FROM {table} WHERE settled_at IS NOT NULL"
            )).all()  # fmt: skip
        if len(rows) >= expected:
            return [(datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
                    for a, b in rows]  # fmt: skip
        time.sleep(0.5)
    raise SystemExit(f"only {len(rows)} of {expected} notices settled in {timeout:.0f} s")


def sessions(engine: Any) -> float:
    """PostgreSQL connections opened so far (a pool too small for its threads opens many)."""
    with engine.connect() as db:
        return float(db.execute(text(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )).scalar() or 0)  # fmt: skip


def measured(processes: dict[str, subprocess.Popen[str]]) -> dict[str, float]:
    now = {name: cpu_seconds(p.pid) for name, p in processes.items()}
    now["postgres"] = postgres_cpu_seconds()
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--deliveries", type=int, default=1200)
    parser.add_argument("--rate", type=float, default=40.0, help="deliveries a second")
    args = parser.parse_args()
    per_shop = -(-args.deliveries // args.shops)
    work = Path(tempfile.mkdtemp(prefix="loginsights-push-"))
    pg_url, pg_stop = postgres()
    engine = create_engine(pg_url)
    upgrade(engine)
    with engine.begin() as db:
        db.execute(text("CREATE TABLE bare_notices (shop text, delivery_id text PRIMARY KEY, "
                        "order_id text, received_at text, settled_at text)"))  # fmt: skip
        db.execute(text("CREATE TABLE bare_orders (shop text, order_id text, payload text, "
                        "PRIMARY KEY (shop, order_id))"))  # fmt: skip
    sim = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(args.shops), str(per_shop)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    catalog = json.loads(sim.stdout.readline())  # type: ignore[union-attr]
    url, orders = catalog["url"], catalog["orders"][: args.deliveries]
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    (work / "shops.toml").write_text("".join(
        f'[shops.p{n}]\nplatform = "shopify"\napi = "rest"\nbase_url = "{url}/shops/p{n}"\n'
        f'access_token_env = "PUSH_TOKEN"\nwebhook_secret_env = "PUSH_SECRET"\n'
        f'shop_domain = "p{n}.myshopify.com"\nstart = "{now}"\n'
        for n in range(args.shops)
    ))  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    with local_solr(work) as solr_url:
        env = {**os.environ, "LOGINSIGHTS_LEDGER_URL": pg_url, "LOGINSIGHTS_SOLR_URL": solr_url,
               "LOGINSIGHTS_SHOPS_FILE": str(work / "shops.toml"), "PUSH_TOKEN": "shpat_simulated",
               "PUSH_SECRET": SECRET, "LOGINSIGHTS_API_TOKENS": TOKEN,
               "LOGINSIGHTS_STATE_DIR": str(work / "state")}  # fmt: skip
        cli = str(ROOT / ".venv/bin/loginsights")
        quiet = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL,
                 "stderr": subprocess.DEVNULL, "text": True}  # fmt: skip
        for name, receiver, importers, table in (
            ("loginsights", [cli, "serve", "--port", "{port}", "--no-access-log"],
             [[cli, "run", "--poll", "3600", "--worker-name", f"run{n}"] for n in range(3)],
             "webhook_notices"),
            ("bare", [sys.executable, "-c", BARE_RECEIVER, pg_url.replace("+psycopg", ""),
                      "{port}", SECRET],
             [[sys.executable, "-c", BARE_IMPORTER, pg_url.replace("+psycopg", ""), url]],
             "bare_notices"),
        ):  # fmt: skip
            port = free_port()
            processes = {"receiver": subprocess.Popen(
                [part.replace("{port}", str(port)) for part in receiver], **quiet)}  # type: ignore[call-overload]  # fmt: skip
            for n, command in enumerate(importers):
                processes[f"importer{n}"] = subprocess.Popen(command, **quiet)  # type: ignore[call-overload]
            time.sleep(12)  # started, first (empty) passes over
            before = measured(processes)
            before["sessions"] = sessions(engine)
            hook = f"http://127.0.0.1:{port}/webhooks/shopify"
            answers = send(hook, deliveries(orders), args.rate)
            waits = settled(engine, table, len(orders), timeout=300)
            after = measured(processes)
            after["sessions"] = sessions(engine)
            opened = after.pop("sessions") - before.pop("sessions")
            spent = {k: after[k] - before[k] for k in after}
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                process.wait(timeout=60)
            results[name] = {"spent": spent, "answers": answers, "waits": waits, "opened": opened}
    sim.kill()
    subprocess.run(pg_stop, check=False, capture_output=True)
    report(args, results, len(orders))


def report(args: Any, results: dict[str, dict[str, Any]], orders: int) -> None:
    print(f"### Push path ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(f"Command: `.venv/bin/python scripts/bench/push_bench.py --shops {args.shops} "
          f"--deliveries {args.deliveries} --rate {args.rate:g}`\n")  # fmt: skip
    print("| per order | loginsights | bare | ratio |\n|---|---|---|---|")

    def row(label: str, value: Any, unit: str = "", digits: int = 1) -> None:
        ours, bare = value(results["loginsights"]), value(results["bare"])
        print(f"| {label} | {ours:.{digits}f}{unit} | {bare:.{digits}f}{unit} | "
              f"{ours / bare if bare else float('nan'):.1f} |")  # fmt: skip

    def cpu(part: str) -> Any:
        return lambda r: 1000 * sum(v for k, v in r["spent"].items() if k.startswith(part)) / orders

    row("receiver CPU", cpu("receiver"), " ms")
    row("importer CPU (all processes)", cpu("importer"), " ms")
    row("PostgreSQL CPU", cpu("postgres"), " ms")
    row("all CPU", lambda r: 1000 * sum(r["spent"].values()) / orders, " ms")
    row("PostgreSQL connections opened", lambda r: r["opened"] / orders, "", 3)
    row("delivery answered, p50", lambda r: 1000 * percentile(r["answers"], 0.5), " ms")
    row("delivery answered, p99", lambda r: 1000 * percentile(r["answers"], 0.99), " ms")
    row("received -> stored, p50", lambda r: percentile(r["waits"], 0.5), " s", 2)
    row("received -> stored, p99", lambda r: percentile(r["waits"], 0.99), " s", 2)
    print(f"\n{orders} deliveries at {args.rate:g}/s over {args.shops} shops.")


if __name__ == "__main__":
    main()
