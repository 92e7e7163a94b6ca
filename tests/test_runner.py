"""`loginsights run`'s loop: what it does with each group of the error tree."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from pipeline.errors import (
    LedgerError,
    LogInsightsError,
    SolrRequestError,
    SolrUnavailableError,
    SourceRequestError,
    SourceUnavailableError,
)
from pipeline.flusher import FlushReport
from pipeline.ledger import Lease, Ledger
from pipeline.runner import RunOptions, run_forever


@dataclass
class ShopDouble:
    """Stands in for an ImportWorker: counts passes, fails as told."""

    name: str
    error: LogInsightsError | None = None
    passes: int = 0
    shop: Any = field(init=False)

    def __post_init__(self) -> None:
        self.shop = type("Shop", (), {"name": self.name, "time_zone": "UTC"})()
        self.context = type("Context", (), {"name": self.name, "shop": self.shop})()
        self.context.ledger = None
        self.context.source = None
        self.checkpoint = None

    def catch_up(self, **_: Any) -> list[Any]:
        self.passes += 1
        if self.error:
            raise self.error
        return []

    def look_again(self, **_: Any) -> None:
        """No order waits at this shop."""


class FlusherDouble:
    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> FlushReport:
        self.flushes += 1
        return FlushReport()


def run_passes(
    shops: list[ShopDouble], passes: int = 2, ledger: Ledger | None = None
) -> FlusherDouble:
    for shop in shops:
        shop.context.ledger = ledger
    stop, flusher = threading.Event(), FlusherDouble()
    last = shops[-1]
    original = last.catch_up

    def counting(**kwargs: Any) -> list[Any]:
        try:
            return original(**kwargs)
        finally:
            if last.passes >= passes:
                stop.set()

    last.catch_up = counting  # type: ignore[method-assign]
    run_forever(
        shops,  # type: ignore[arg-type]
        flusher,  # type: ignore[arg-type]
        stop=stop,
        options=RunOptions(poll_seconds=0, daily_reconciliation=False),
    )
    return flusher


@pytest.mark.parametrize(
    "error",
    [
        SourceUnavailableError("shop down", shop="a"),
        SourceRequestError("HTTP 401", shop="a"),
        SolrUnavailableError("Solr down"),
        SolrRequestError("Solr refused"),
    ],
    ids=["source outage", "source 4xx", "solr down", "solr 4xx"],
)
def test_retry_later_and_skip_errors_skip_the_shop_for_this_pass(
    error: LogInsightsError, ledger: Ledger
) -> None:
    failing, healthy = ShopDouble("a", error), ShopDouble("b")
    flusher = run_passes([failing, healthy], ledger=ledger)
    assert failing.passes == 2 and healthy.passes == 2, "the others go on, pass after pass"
    assert flusher.flushes >= 2


def test_a_stop_error_ends_the_run_after_a_last_flush(ledger: Ledger) -> None:
    broken = ShopDouble("a", LedgerError("the ledger /x failed while writing (disk full)"))
    healthy = ShopDouble("b")
    with pytest.raises(LedgerError):
        run_passes([broken, healthy], passes=50, ledger=ledger)
    assert healthy.passes < 50, "no further passes once a stop error came"


def test_a_pass_holds_the_shops_lease_and_releases_it(ledger: Ledger) -> None:
    seen: list[Any] = []

    class Leased(ShopDouble):
        def catch_up(self, **kwargs: Any) -> list[Any]:
            seen.append((kwargs["lease"], [(r["shop"], r["worker"]) for r in ledger.leases()]))
            return super().catch_up(**kwargs)

    shop = Leased("a")
    run_passes([shop], passes=1, ledger=ledger)
    lease, held = seen[0]
    assert lease is not None and lease.shop == "a" and held == [("a", lease.worker)]
    assert ledger.leases() == [], "released after the pass"


def test_a_shop_leased_by_another_worker_is_left_alone(ledger: Ledger) -> None:
    from datetime import UTC, datetime, timedelta

    assert isinstance(
        ledger.acquire_lease("a", "elsewhere", duration=timedelta(hours=1), now=datetime.now(UTC)),
        Lease,
    )
    taken, free = ShopDouble("a"), ShopDouble("b")
    run_passes([taken, free], passes=2, ledger=ledger)
    assert taken.passes == 0 and free.passes == 2


def test_a_shop_whose_platform_refuses_its_credentials_is_broken_until_it_works(
    ledger: Ledger,
) -> None:
    """A revoked token waits for a person: the shop is BROKEN in the ledger (workers, console,
    /metrics, notifications say so); the first pass that works again clears it."""
    from conftest import past_day, simulator, worker_for_sim

    from pipeline.models import Platform
    from pipeline.simulators import OrderCatalog

    start, end = past_day(hours=2)
    with simulator(Platform.SHOPIFY, OrderCatalog.generate(5, seed=3, start=start, end=end)) as sim:
        worker = worker_for_sim(sim, "revoked", ledger, start=start)
        sim.access_token = "rotated-by-the-merchant"  # type: ignore[attr-defined]
        run_worker_passes(worker, ledger, passes=1)
        problem = ledger.shop_problems()["revoked"]["problem"]
        assert "refused loginsights' credentials (HTTP 401)" in problem
        sim.access_token = "shpat_simulated"  # type: ignore[attr-defined]
        run_worker_passes(worker, ledger, passes=1)
        assert "revoked" not in ledger.shop_problems()
        assert ledger.count_orders("revoked") == 5


def run_worker_passes(worker: Any, ledger: Ledger, passes: int) -> None:
    stop, seen = threading.Event(), [0]
    original = worker.catch_up

    def counting(**kwargs: Any) -> Any:
        try:
            return original(**kwargs)
        finally:
            seen[0] += 1
            if seen[0] >= passes:
                stop.set()

    worker.catch_up = counting
    try:
        run_forever([worker], FlusherDouble(), stop=stop,  # type: ignore[arg-type]
                    options=RunOptions(poll_seconds=0, daily_reconciliation=False))  # fmt: skip
    finally:
        worker.catch_up = original


# -- several `loginsights run` processes on one PostgreSQL ledger ----------------------------

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from conftest import (  # noqa: E402
    SolrUnderTest,
    empty_postgres_ledger,
    past_day,
    select,
    simulator,
    wait_for,
)

from pipeline.models import Platform  # noqa: E402
from pipeline.orders import problems, raw_order_id, to_order  # noqa: E402
from pipeline.simulators import Faults, OrderCatalog, SfccSimulator  # noqa: E402


def shop_table(name: str, sim: Any, start: Any) -> str:
    lines = [f"[shops.{name}]", f'platform = "{sim.platform}"', f'base_url = "{sim.url}"',
             f'start = "{start.isoformat()}"', "window_minutes = 60", "page_size = 10",
             "max_attempts = 20"]  # fmt: skip
    if isinstance(sim, SfccSimulator):
        lines += [f'auth_url = "{sim.url}"', f'organization_id = "{sim.organization_id}"',
                  f'site_id = "{sim.site_id}"', f'client_id_env = "{name.upper()}_ID"',
                  f'client_secret_env = "{name.upper()}_SECRET"']  # fmt: skip
    else:
        lines.append(f'access_token_env = "{name.upper()}_TOKEN"')
    return "\n".join(lines) + "\n"


def credentials(name: str, sim: Any) -> dict[str, str]:
    if isinstance(sim, SfccSimulator):
        return {f"{name.upper()}_ID": sim.client_id, f"{name.upper()}_SECRET": sim.client_secret}
    return {f"{name.upper()}_TOKEN": sim.access_token}


def truth(sim: Any, name: str, catalog: OrderCatalog) -> tuple[set[str], set[str]]:
    from datetime import UTC, datetime

    platform, good, bad = Platform(sim.platform), set(), set()
    for order in catalog.created_between(None, None, high_inclusive=True, now=datetime.now(UTC)):
        raw = sim.render(order)
        (bad if problems(to_order(platform, name, raw)) else good).add(raw_order_id(platform, raw))
    return good, bad  # type: ignore[return-value]


def test_three_workers_share_twelve_shops_through_a_kill_and_a_partition(
    tmp_path: Path, solr: SolrUnderTest, postgres_url: str
) -> None:
    from contextlib import ExitStack

    empty_postgres_ledger(postgres_url)
    start, end = past_day(hours=2)
    bad_orders = Faults(missing_address_share=0.05, bad_email_share=0.03)
    slow = Faults(latency_seconds=0.12)
    platforms = [Platform.SHOPIFY, Platform.SHOPLAZZA, Platform.SFCC] * 4
    env = {**os.environ, "LOGINSIGHTS_SOLR_URL": solr.url, "LOGINSIGHTS_LEDGER_URL": postgres_url,
           "LOGINSIGHTS_STATE_DIR": str(tmp_path)}  # fmt: skip
    expected: dict[str, tuple[set[str], set[str]]] = {}
    with ExitStack() as stack:
        tables = []
        for n, platform in enumerate(platforms):
            name = f"w{n:02d}-{platform.value}-{os.getpid()}"
            catalog = OrderCatalog.generate(120, seed=100 + n, start=start, end=end,
                                            faults=bad_orders)  # fmt: skip
            sim = stack.enter_context(simulator(platform, catalog, slow))
            expected[name] = truth(sim, name, catalog)
            tables.append(shop_table(name, sim, start))
            env.update(credentials(name, sim))
        shops_file = tmp_path / "shops.toml"
        shops_file.write_text("\n".join(tables))
        ledger = Ledger(postgres_url)
        stack.callback(ledger.close)

        def worker(n: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "--shops-file", str(shops_file), "run",
                 "--concurrency", "3", "--lease-seconds", "5", "--poll", "1",
                 "--worker-name", f"worker-{n}"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip

        crew = [worker(n) for n in range(3)]
        stack.callback(lambda: [p.kill() for p in crew if p.poll() is None])
        samples: list[tuple[str, str, int]] = []

        def sample() -> None:
            samples.extend((r["shop"], r["worker"], r["token"]) for r in ledger.leases())

        def total_orders() -> int:
            return sum(ledger.count_orders(name) for name in expected)

        assert wait_for(lambda: (sample(), total_orders() > 150)[1], seconds=90, interval=0.1)
        crew[0].send_signal(signal.SIGKILL)  # killed mid-window
        crew[1].send_signal(signal.SIGSTOP)  # partitioned past its lease
        paused_until = time.monotonic() + 12
        while time.monotonic() < paused_until:
            sample()
            time.sleep(0.1)
        crew[1].send_signal(signal.SIGCONT)

        def all_done() -> bool:
            sample()
            return all(
                ledger.order_ids(name) == good
                and {f.order_id for f in ledger.failures(name)} == bad
                and (ledger.checkpoint(name) or start) >= end
                for name, (good, bad) in expected.items()
            )

        assert wait_for(all_done, seconds=240, interval=0.2), "every shop finished"
        for process in crew[1:]:
            process.send_signal(signal.SIGTERM)
        for process in crew[1:]:
            assert process.wait(timeout=120) == 0, process.stderr.read().decode()[-2000:]

        for name, (good, bad) in expected.items():
            rows = ledger.order_rows(name)
            assert len(rows) == len(good), f"{name}: every order stored exactly once"
            docs = select(solr.url, q=f"shop:{name}", fl="orderId,attempts", rows=1000)
            found = [d["orderId"] for d in docs["response"]["docs"]]
            assert sorted(found) == sorted(bad), f"{name}: each failure in Solr once"
        holders: dict[tuple[str, int], set[str]] = {}
        for shop, holder, token in samples:
            holders.setdefault((shop, token), set()).add(holder)
        assert all(len(who) == 1 for who in holders.values()), "one holder per lease token"
        assert any(token > 1 for _, token in holders), "some shop changed hands"


# -- issue 18 A: one shop that cannot be configured never stops the others ------------------------


def test_a_shop_with_pushed_orders_waiting_gets_a_thread_before_shops_due_for_a_poll(
    ledger: Ledger,
) -> None:
    from datetime import UTC, datetime

    order: list[tuple[str, str]] = []
    stop = threading.Event()

    class Pushed(ShopDouble):
        def __post_init__(self) -> None:
            super().__post_init__()
            self.shop.webhook_secret_env = "SECRET"
            self.context.ledger = ledger

        def import_noticed(self, **_: Any) -> None:
            order.append((self.name, "notices"))

        def catch_up(self, **kwargs: Any) -> list[Any]:
            order.append((self.name, "poll"))
            if len(order) >= 6:
                stop.set()
            return super().catch_up(**kwargs)

    shops = [Pushed(name) for name in "abcde"]
    ledger.note_webhook("e", "d1", order_id="1", topic="orders/create",
                        received_at=datetime.now(UTC))  # fmt: skip
    run_forever(
        shops,  # type: ignore[arg-type]
        FlusherDouble(),  # type: ignore[arg-type]
        stop=stop,
        ledger=ledger,
        options=RunOptions(concurrency=1, poll_seconds=60, daily_reconciliation=False),
    )
    assert order[0] == ("e", "notices"), order
