"""A fleet: a thousand Shopify shops, a steady trickle of orders, three `run` processes on one
PostgreSQL ledger, one of them SIGKILLed midway; optionally webhooks through `serve`.

Run:  .venv/bin/python scripts/bench/fleet_bench.py [--shops 1000] [--minutes 6]
          [--orders-per-day 5000] [--flawed 0.02] [--poll 30] [--settle 120] [--webhooks]
          [--stagger 60] [--restart 60]

``--stagger S`` starts the `run` processes S seconds apart; ``--restart S`` starts the killed
one again S seconds after its kill (under the same name). Each worker's share of the shops
(its live leases) is sampled every 5 s and printed over time.

The shops are served by a few simulator processes (``ShopFleet``: one port each, a shop per
path), every shop with Shopify REST's default bucket (40 calls, leaking 2/s); each places
orders at random (Poisson) at ``--orders-per-day``, ``--flawed`` of them without an address.
With ``--webhooks`` each shop also delivers a signed orders/create webhook to one `serve`, and
`run` imports noticed orders at once. Placement stops after ``--minutes``; the runs then get
the settle lag plus two polls to catch up, and every order placed is looked for in the ledger.

Reported: shop lag (now minus checkpoint, sampled every 5 s) p50/p99 and the worst; order
latency (creation to stored or failure recorded, from the ledger) p50/p99 for push and poll;
CPU seconds per shop-pass and PostgreSQL statements per pass (pg_stat_statements) over all
`run` processes; peak RSS per process; 429s; orders missing (must be 0).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from rig import ROOT, TOKEN, free_port, local_solr, postgres
from sqlalchemy import create_engine, text

from pipeline.ledger.migrations import upgrade

SECRET = "fleet-app-client-secret"
SIMULATORS = """
import json, random, sys, time
from collections import Counter
from pipeline.simulators import OrderCatalog, ShopifySimulator
from pipeline.simulators.fleet import ShopFleet
first, count, dump, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[6], sys.argv[7]
per_day, flawed, minutes = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
shops = {f"f{n}": ShopifySimulator(OrderCatalog(), shop=f"f{n}", listen=False, seed=n + 1,
                                   webhook_secret=secret or None)
         for n in range(first, first + count)}
fleet = ShopFleet(shops).start()
print(json.dumps({"url": fleet.url}), flush=True)
hook = sys.stdin.readline().strip()
if hook:
    for sim in shops.values():
        sim.webhooks.subscribe("orders/create", hook)
rng, names = random.Random(first), list(shops)
rate = count * per_day / 86400
deadline = time.monotonic() + minutes * 60
next_at = time.monotonic() + rng.expovariate(rate)
while time.monotonic() < deadline:
    now = time.monotonic()
    if now < next_at:
        time.sleep(min(0.05, next_at - now))
        continue
    sim = shops[rng.choice(names)]
    sim.place_order(**({"address": None} if rng.random() < flawed else {}))
    next_at += rng.expovariate(rate)
far = __import__("datetime").datetime(2100, 1, 1, tzinfo=__import__("datetime").UTC)
out = {name: {"orders": [[str(sim.render(o)["id"]), o.created_at.isoformat()]
                         for o in sim.catalog.created_between(None, None, high_inclusive=False,
                                                              now=far)],
              "throttled": sim.throttled, "calls": sim.calls,
              "webhooks": [sim.webhooks.delivered, sim.webhooks.given_up, sim.webhooks.sent]
                           if sim.webhooks else None}
       for name, sim in shops.items()}
out["_calls"] = dict(fleet.calls)
out["_failed"] = dict(sum((s.webhooks.failed for s in shops.values() if s.webhooks), Counter()))
out["_failure_example"] = next((s.webhooks.failure_example for s in shops.values()
                                if s.webhooks and s.webhooks.failure_example), "")
open(dump, "w").write(json.dumps(out))
print("dumped", flush=True)
time.sleep(86400)
"""


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """All PostgreSQL processes' CPU (the server forks a backend per connection)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text_ = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text_:
            fields = text_.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """Every 5 s: each shop's lag from the ledger, each process's CPU and RSS."""

    def __init__(self, url: str, processes: dict[str, subprocess.Popen[str]], start: float):
        super().__init__(daemon=True)
        self.engine = create_engine(url)
        self.processes, self.begin = processes, start
        self.began_at = datetime.now(UTC)  # the same moment, for the ledger's times
        self.lags: dict[str, list[float]] = {}
        self.shares: list[tuple[float, dict[str, int]]] = []  # (seconds, worker: shops held)
        self.cpu: dict[str, float] = {}
        self.rss: dict[str, float] = {}
        self.halt = threading.Event()
        self.first = self.cpu_now()

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds so far of each process, and of PostgreSQL as "postgres"."""
        now = {"postgres": postgres_cpu_seconds()}
        for name, process in self.processes.items():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                now[name] = cpu_seconds(process.pid)
        return now

    def run(self) -> None:
        while not self.halt.wait(5):
            now = datetime.now(UTC)
            with self.engine.connect() as db:
                rows = db.execute(text("SELECT shop, window_end FROM checkpoints")).all()
                held = db.execute(text(
                    "SELECT worker, count(*) FROM shop_leases WHERE expires_at > :now "
                    "GROUP BY worker"), {"now": now.isoformat()}).all()  # fmt: skip
            self.shares.append((time.monotonic() - self.begin, {w: int(c) for w, c in held}))
            for shop, end in rows:
                lag = (now - datetime.fromisoformat(end)).total_seconds()
                self.lags.setdefault(shop, []).append(lag)
            for name, process in self.processes.items():
                if process.poll() is None:
                    try:
                        self.cpu[name] = cpu_seconds(process.pid)
                        self.rss[name] = max(self.rss.get(name, 0.0), rss_mb(process.pid))
                    except (FileNotFoundError, ProcessLookupError):
                        pass
            self.cpu["postgres"] = postgres_cpu_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=2, help="simulator processes")
    parser.add_argument("--workers", type=int, default=3, help="`run` processes")
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--orders-per-day", type=float, default=5000)
    parser.add_argument("--flawed", type=float, default=0.02)
    parser.add_argument("--poll", type=float, default=30)
    parser.add_argument("--settle", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--webhooks", action="store_true")
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between starts")
    parser.add_argument(
        "--restart",
        type=float,
        default=-1.0,
        help="restart the killed worker this long after (negative: never)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loginsights-fleet-"))
    pg_url, pg_stop = postgres("shared_preload_libraries=pg_stat_statements", "max_connections=300")
    engine = create_engine(pg_url)
    upgrade(engine)
    with engine.begin() as db:
        db.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    processes: dict[str, subprocess.Popen[str]] = {}
    with local_solr(work) as solr_url:
        per_group = -(-args.shops // args.groups)
        sims, urls = [], {}
        for group in range(args.groups):
            first, count = group * per_group, min(per_group, args.shops - group * per_group)
            sim = subprocess.Popen(
                [sys.executable, "-c", SIMULATORS, str(first), str(count),
                 str(args.orders_per_day), str(args.flawed), str(args.minutes),
                 str(work / f"dump{group}.json"), SECRET if args.webhooks else ""],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            url = json.loads(sim.stdout.readline())["url"]  # type: ignore[union-attr]
            urls.update({f"f{n}": url for n in range(first, first + count)})
            sims.append(sim)
        began = datetime.now(UTC).replace(microsecond=0)
        start = began - timedelta(minutes=1)
        (work / "shops.toml").write_text("".join(
            f'[shops.{name}]\nplatform = "shopify"\napi = "rest"\n'
            f'base_url = "{url}/shops/{name}"\naccess_token_env = "FLEET_TOKEN"\n'
            f'start = "{start.isoformat()}"\nsettle_lag_seconds = {args.settle}\n'
            + (f'webhook_secret_env = "FLEET_SECRET"\nshop_domain = "{name}.myshopify.com"\n'
               if args.webhooks else "")
            for name, url in urls.items()
        ))  # fmt: skip
        env = {**os.environ, "LOGINSIGHTS_LEDGER_URL": pg_url, "LOGINSIGHTS_SOLR_URL": solr_url,
               "LOGINSIGHTS_SHOPS_FILE": str(work / "shops.toml"), "FLEET_TOKEN": "shpat_simulated",
               "FLEET_SECRET": SECRET, "LOGINSIGHTS_API_TOKENS": TOKEN,
               "LOGINSIGHTS_STATE_DIR": str(work / "state")}  # fmt: skip
        hook = ""
        if args.webhooks:
            port = free_port()
            processes["serve"] = subprocess.Popen(
                [str(ROOT / ".venv/bin/loginsights"), "serve", "--port", str(port),
                 "--no-access-log"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            hook = f"http://127.0.0.1:{port}/webhooks/shopify"
            time.sleep(8)
        for sim in sims:
            sim.stdin.write(hook + "\n")  # type: ignore[union-attr]
            sim.stdin.flush()  # type: ignore[union-attr]
        with engine.connect() as db:
            db.execute(text("SELECT pg_stat_statements_reset()"))
        logs = {}

        def start_run(n: int) -> subprocess.Popen[str]:
            logs[f"run{n}"] = (work / f"run{n}.log").open("a")
            return subprocess.Popen(
                [str(ROOT / ".venv/bin/loginsights"), "run", "--poll", str(args.poll),
                 "--concurrency", str(args.concurrency), "--worker-name", f"run{n}"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=logs[f"run{n}"], text=True,
            )  # fmt: skip

        sims_by_name = {f"sim{n}": sim for n, sim in enumerate(sims)}
        sampler = Sampler(pg_url, {**processes, **sims_by_name}, time.monotonic())
        sampler.start()  # before the first run: the shares over time show every join
        for n in range(args.workers):
            processes[f"run{n}"] = sampler.processes[f"run{n}"] = start_run(n)
            if n < args.workers - 1 and args.stagger:
                time.sleep(args.stagger)
        time.sleep(max(0.0, args.minutes * 30 - args.stagger * (args.workers - 1)))
        processes["run0"].send_signal(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        if args.restart >= 0:
            time.sleep(args.restart)
            processes["run0"] = sampler.processes["run0"] = start_run(0)
        for sim in sims:
            assert sim.stdout is not None
            while sim.stdout.readline().strip() != "dumped":
                pass
        placed_until = datetime.now(UTC)
        cpu_then = dict(sampler.cpu)  # passes are counted until the dumps: CPU and statements too
        with engine.connect() as db:
            statements = db.execute(text("SELECT sum(calls) FROM pg_stat_statements")).scalar()
        expected: dict[str, dict[str, str]] = {}
        throttled = calls = listings = 0
        webhooks = [0, 0, 0]
        failed_tries: dict[str, int] = {}
        example = ""
        for group in range(args.groups):
            dump = json.loads((work / f"dump{group}.json").read_text())
            listings += dump.pop("_calls").get("orders.json", 0)
            for kind, count in dump.pop("_failed").items():
                failed_tries[kind] = failed_tries.get(kind, 0) + count
            example = dump.pop("_failure_example") or example
            for name, shop in dump.items():
                expected[name] = dict(shop["orders"])
                throttled += shop["throttled"]
                calls += shop["calls"]
                if shop["webhooks"]:
                    webhooks = [a + b for a, b in zip(webhooks, shop["webhooks"], strict=True)]
        deadline = time.monotonic() + args.settle + 2 * args.poll + 90
        missing = count_missing(engine, expected)
        while missing and time.monotonic() < deadline:
            time.sleep(5)
            missing = count_missing(engine, expected)
        sampler.halt.set()
        sampler.join()
        with engine.connect() as db:
            busiest = db.execute(text(
                "SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) "
                "FROM pg_stat_statements ORDER BY calls DESC LIMIT 12"
            )).all()  # fmt: skip
            imported = db.execute(
                text("SELECT created_at, imported_at, shop, order_id FROM orders")
            ).all()
            failed = db.execute(
                text("SELECT order_created_at, first_attempt_at, shop, order_id FROM failures")
            ).all()
            notices = db.execute(text(
                "SELECT shop, order_id, min(received_at) FROM webhook_notices "
                "WHERE outcome IN ('imported', 'failed') GROUP BY shop, order_id"
            )).all()  # fmt: skip
        received = {(shop, order_id): first for shop, order_id, first in notices}
        pushed = set(received)
        for name in [p for p in processes if p.startswith("run")]:
            processes[name].send_signal(signal.SIGTERM)
        answers = serve_answers(port) if "serve" in processes else ""
        if failed_tries:
            answers += f"; the tries that failed at the sender: {failed_tries} (last: {example})"
        if "serve" in processes:
            processes["serve"].send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for sim in sims:
            sim.kill()
        passes = listings  # a poll pass lists its window once (at most 250 orders a page)
    subprocess.run(pg_stop, check=False, capture_output=True)
    latency: dict[str, list[float]] = {"push": [], "poll": [], "kill": []}
    by_time: dict[int, list[float]] = {}  # pushed orders by when they were placed (30 s steps)
    slow: list[tuple[float, float]] = []  # pushed orders over 10 s: (to delivery, delivery to done)
    # placed from just before the kill until a lease after it: a third of them wait for the
    # dead worker's leases to lapse (counted apart, as the worst)
    kill_window = (killed_at - timedelta(seconds=5), killed_at + timedelta(seconds=35))
    for created, done, shop, order_id in [*imported, *failed]:
        created_at = datetime.fromisoformat(created)
        if created_at < began:
            continue
        seconds = (datetime.fromisoformat(done) - created_at).total_seconds()
        in_kill = kill_window[0] <= created_at <= kill_window[1]
        if (shop, order_id) in pushed:
            step = int((created_at - sampler.began_at).total_seconds() // 30) * 30
            by_time.setdefault(step, []).append(seconds)
            first = received[(shop, order_id)]
            delivered = (datetime.fromisoformat(first) - created_at).total_seconds()
            worked = (datetime.fromisoformat(done) - datetime.fromisoformat(first)).total_seconds()
            if seconds > 10 and not in_kill:  # the slow ones: where did their time go?
                slow.append((delivered, worked))
        if (shop, order_id) not in pushed:
            latency["poll"].append(seconds)
        elif kill_window[0] <= created_at <= kill_window[1]:
            latency["kill"].append(seconds)
        else:
            latency["push"].append(seconds)
    sampler.cpu = cpu_then
    report(args, began, killed_at, placed_until, sampler, latency, passes, statements or 0,
           throttled, calls, missing, sum(len(v) for v in expected.values()), webhooks,
           by_time, slow, answers)  # fmt: skip
    print(
        "\nWhere the statements go (pg_stat_statements to the end of the catch-up, per "
        "shop-pass):\n"
    )
    for count, query in busiest:
        print(f"- {count / max(1, passes):.2f} `{query}`")


def serve_answers(port: int) -> str:
    """How long `serve` took to answer the webhooks, from its own /metrics (request to response,
    by route): whether a delivery that timed out at the sender (5 s) was slow in `serve`."""
    from prometheus_client.parser import text_string_to_metric_families

    body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if (sample.name == "loginsights_api_request_seconds_bucket"
                    and sample.labels.get("route", "").startswith("/webhooks")):  # fmt: skip
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return "none measured"
    over = {bound: total - buckets.get(bound, 0.0) for bound in (0.1, 1.0, 5.0)}
    return f"{total:.0f}; " + ", ".join(f"over {b:g} s {n:.0f}" for b, n in over.items())


def count_missing(engine: Any, expected: dict[str, dict[str, str]]) -> int:
    with engine.connect() as db:
        have = set(db.execute(text("SELECT shop, order_id FROM orders")).all())
        have |= set(db.execute(text("SELECT shop, order_id FROM failures")).all())
    return sum(1 for shop, ids in expected.items() for i in ids if (shop, i) not in have)


def report(args: Any, began: datetime, killed: datetime, placed: datetime, sampler: Sampler,
           latency: dict[str, list[float]], passes: int, statements: int, throttled: int,
           calls: int, missing: int, orders: int, webhooks: list[int],
           by_time: dict[int, list[float]], slow: list[tuple[float, float]],
           answers: str) -> None:  # fmt: skip
    lags = [lag for values in sampler.lags.values() for lag in values[2:]]  # after a first pass
    worst = max((max(values[2:], default=0) for values in sampler.lags.values()), default=0)
    runs = {k: v for k, v in sampler.cpu.items() if k.startswith("run")}
    cpu = sum(runs.values())
    print(f"### Fleet ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(f"Command: `.venv/bin/python scripts/bench/fleet_bench.py --shops {args.shops} "
          f"--minutes {args.minutes:g} --orders-per-day {args.orders_per_day:g} --flawed "
          f"{args.flawed:g} --poll {args.poll:g} --settle {args.settle}"
          f"{' --webhooks' if args.webhooks else ''}"
          f"{f' --stagger {args.stagger:g}' if args.stagger else ''}"
          f"{f' --restart {args.restart:g}' if args.restart >= 0 else ''}`\n")  # fmt: skip
    print(
        f"{args.shops} shops, {args.workers} `run` processes (run0 SIGKILLed at "
        f"{(killed - began).total_seconds():.0f} s), orders placed for "
        f"{(placed - began).total_seconds():.0f} s: {orders} orders, {missing} missing.\n"
    )
    print("| measure | value |\n|---|---|")
    rows = [
        ("shop lag p50 / p99 / worst (s)",
         f"{percentile(lags, 0.5):.0f} / {percentile(lags, 0.99):.0f} / {worst:.0f}"),
        ("order latency, push p50 / p99 (s)",
         f"{percentile(latency['push'], 0.5):.1f} / {percentile(latency['push'], 0.99):.1f} "
         f"({len(latency['push'])} orders)"),
        ("order latency, push, placed within a lease of the kill: p50 / worst (s)",
         f"{percentile(latency['kill'], 0.5):.1f} / {max(latency['kill'], default=0):.1f} "
         f"({len(latency['kill'])} orders)"),
        ("order latency, poll p50 / p99 (s)",
         f"{percentile(latency['poll'], 0.5):.1f} / {percentile(latency['poll'], 0.99):.1f} "
         f"({len(latency['poll'])} orders)"),
        ("shop-passes (order listings)", f"{passes}"),
        ("CPU s of the `run` processes",
         f"{cpu:.1f} ({', '.join(f'{k} {v:.1f}' for k, v in runs.items())})"),
        ("CPU ms per shop-pass", f"{1000 * cpu / max(1, passes):.1f}"),
        ("PostgreSQL statements per shop-pass", f"{statements / max(1, passes):.1f}"),
        ("peak RSS (MB)", ", ".join(f"{k} {v:.0f}" for k, v in sampler.rss.items())),
        ("API calls / 429s", f"{calls} / {throttled}"),
    ]  # fmt: skip
    spent = {k: v - sampler.first.get(k, 0.0) for k, v in sampler.cpu.items()}
    rows.append(("CPU s by process, from the first `run` to the dumps",
                 ", ".join(f"{k} {v:.0f}" for k, v in sorted(spent.items()))))  # fmt: skip
    rows.append(("CPU ms per order placed, all processes",
                 f"{1000 * sum(spent.values()) / max(1, orders):.1f}"))  # fmt: skip
    if args.webhooks:
        rows.append(("webhooks delivered / given up / attempts (each try)",
                     f"{webhooks[0]} / {webhooks[1]} / {webhooks[2]}"))  # fmt: skip
        rows.append(("`serve`'s answers to webhooks, by its own clock", answers))
        rows.append(("CPU ms of `serve` per delivery",
                     f"{1000 * spent.get('serve', 0.0) / max(1, webhooks[0]):.1f}"))  # fmt: skip
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\nEach worker's shops (live leases) over time, every 30 s:\n")
    workers = sorted({w for _, held in sampler.shares for w in held})
    print(
        "| s | " + " | ".join(workers) + " | unheld |\n|---" * 1 + "|---" * (len(workers) + 1) + "|"
    )
    shown = -30.0
    for at, held in sampler.shares:
        if at - shown >= 30:
            shown = at
            cells = [str(held.get(w, 0)) for w in workers]
            print(f"| {at:.0f} | " + " | ".join(cells) + f" | {args.shops - sum(held.values())} |")
    if by_time:
        print("\nPushed orders by when they were placed (s, as in the shares above):\n")
        print("| placed at s | orders | p50 s | p99 s | worst s |\n|---|---|---|---|---|")
        for step, values in sorted(by_time.items()):
            print(f"| {step}-{step + 30} | {len(values)} | {percentile(values, 0.5):.1f} "
                  f"| {percentile(values, 0.99):.1f} | {max(values):.1f} |")  # fmt: skip
    if slow:
        late = sorted(slow)
        print(
            f"\nPushed orders over 10 s outside the kill window ({len(late)}), their time "
            "split at the notice's receipt (until the platform delivered / from receipt to "
            "stored): p50 and worst, and how many spent over 10 s in each part:\n"
        )
        for name, values in (
            ("until delivered", [d for d, _ in late]),
            ("receipt to stored", [w for _, w in late]),
        ):
            print(f"- {name}: {percentile(values, 0.5):.1f} / {max(values):.1f} s, "
                  f"{sum(1 for v in values if v > 10)} over 10 s")  # fmt: skip
    per_core = 1000 * args.poll / max(1e-9, 1000 * cpu / max(1, passes))
    print(f"\nOne core at this cost carries {per_core:.0f} shops at a {args.poll:g} s poll.")
    medians = [statistics.median(values) for values in sampler.lags.values() if values]
    print(f"The median shop's median lag: {statistics.median(medians or [0]):.0f} s.")


if __name__ == "__main__":
    main()
