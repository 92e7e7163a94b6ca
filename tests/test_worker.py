"""The import worker end to end: simulators over real HTTP, the ledger, real Solr."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import (
    CONFIGSET,
    SOLR_INDEXER,
    TEST_ACCOUNTS,
    SolrUnderTest,
    free_port,
    past_day,
    select,
    simulator,
    wait_for,
    when_count,
    worker_for_sim,
)

from pipeline.errors import SourceUnavailableError
from pipeline.flusher import OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger
from pipeline.models import DocType, Platform
from pipeline.orders import problems, raw_order_id, to_order
from pipeline.settings import REPO_ROOT
from pipeline.simulators import Faults, OrderCatalog, SimulatorServer
from pipeline.solr.local import LocalSolr

BAD = Faults(missing_address_share=0.04, missing_phone_share=0.03, bad_email_share=0.03)


def source_truth(
    sim: SimulatorServer, shop: str, catalog: OrderCatalog
) -> tuple[set[str], set[str]]:
    """(good ids, bad ids) as the platform renders them, judged independently of the worker."""
    good, bad = set(), set()
    platform = Platform(sim.platform)
    for order in catalog.created_between(None, None, high_inclusive=True, now=datetime.now(UTC)):
        raw = sim.render(order)  # type: ignore[attr-defined]
        (bad if problems(to_order(platform, shop, raw)) else good).add(raw_order_id(platform, raw))
    return good, bad  # type: ignore[return-value]


def solr_docs(solr: SolrUnderTest, shop: str, rows: int = 1000) -> list[dict]:  # type: ignore[type-arg]
    return select(solr.url, q=f"shop:{shop}", fl="*", rows=rows)["response"]["docs"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
def test_a_window_of_n_orders_with_m_bad_ones(
    platform: Platform,
    ledger: Ledger,
    flusher: OutboxFlusher,
    solr: SolrUnderTest,
    shop: str,
) -> None:
    start, end = past_day(hours=3)
    catalog = OrderCatalog.generate(400, seed=11, start=start, end=end, faults=BAD)
    with simulator(platform, catalog) as sim:
        good, bad = source_truth(sim, shop, catalog)
        assert good and bad, "the seed should give both kinds"
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        reports = worker.catch_up()

    assert sum(r.imported for r in reports) == len(good)
    assert sum(r.failed for r in reports) == len(bad)
    assert ledger.order_ids(shop) == good
    assert ledger.checkpoint(shop) is not None and ledger.checkpoint(shop) >= end
    docs = solr_docs(solr, shop)  # no waiting: the import returns once they are searchable
    assert len(docs) == len(bad), "a query right after the import finds every failure it reported"
    assert {d["orderId"] for d in docs} == bad
    for doc in docs:
        assert doc["docType"] == DocType.for_platform(platform).value
        assert doc["resolved"] is False and doc["attempts"] == 1
        assert doc["errorMessage"].startswith(f"Order {doc['shopifyOrderName']} ({doc['orderId']})")
        assert "loginsights reimport" in doc["errorMessage"]
        created = datetime.fromisoformat(doc["orderCreatedAt"])
        assert start <= created < end
        assert doc["orderCreatedDate"] == str(int(created.timestamp() * 1000))
        assert "key=" not in doc["site"] or doc["site"].endswith("key=")
    assert ledger.outbox_counts() == (0, 0)


def test_importing_the_same_window_twice_changes_nothing(
    ledger: Ledger, flusher: OutboxFlusher, solr: SolrUnderTest, shop: str
) -> None:
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(200, seed=12, start=start, end=end, faults=BAD)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        first = worker.import_range(start, end)
        failed_first = sum(r.failed for r in first)
        visible = wait_for(when_count(lambda: solr_docs(solr, shop), failed_first), seconds=15)
        assert visible, f"expected {failed_first} failure documents after the first import"
        before = {d["document-id"]: d["version"] for d in visible}
        rows_before = [tuple(r) for r in ledger.order_rows(shop)]
        second = worker.import_range(start, end)

    assert sum(r.imported for r in second) == 0 and sum(r.failed for r in second) == 0
    assert sum(r.already for r in second) == sum(r.imported for r in first)
    assert sum(r.unchanged for r in second) == sum(r.failed for r in first)
    assert [tuple(r) for r in ledger.order_rows(shop)] == rows_before
    time.sleep(1.5)
    assert {d["document-id"]: d["version"] for d in solr_docs(solr, shop)} == before


def test_seed_002_boundary_gap_and_late_orders_are_all_imported_once(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    """Orders a split second around window boundaries, and orders the platform shows late."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=10)
    catalog = OrderCatalog()
    boundaries = [start + timedelta(minutes=m) for m in range(1, 10)]
    for boundary in boundaries:  # 01:15:00 - 0.5s, exactly 01:15:00, 01:15:00.4, 01:15:00.999
        for offset_ms in (-500, 0, 400, 999):
            catalog.add(boundary + timedelta(milliseconds=offset_ms))
    late = [
        catalog.add(now - timedelta(seconds=s), visible_at=now + timedelta(seconds=2))
        for s in (3, 2)
    ]
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(
            sim, shop, ledger, start=start, flusher=flusher, window_minutes=1, settle_lag_seconds=4
        )
        worker.catch_up()
        imported_early = ledger.count_orders(shop)
        time.sleep(5)
        worker.catch_up()
        expected = {str(sim.render(o)["id"]) for o in late} | {  # type: ignore[attr-defined]
            str(sim.render(o)["id"])  # type: ignore[attr-defined]
            for o in catalog.created_between(None, None, high_inclusive=True, now=datetime.now(UTC))
        }
    assert imported_early == len(boundaries) * 4, "the late orders were not visible yet"
    rows = ledger.order_rows(shop)
    assert {r["order_id"] for r in rows} == expected
    assert len(rows) == len(expected), "none imported twice"


def test_an_outage_leaves_the_window_open_and_the_next_pass_completes_it(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(600, seed=13, start=start, end=end)
    faults = Faults.parse(["outage-requests:2-4"])  # the second page fails three times
    with simulator(Platform.SHOPIFY, catalog, faults) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher, attempts=3)
        with pytest.raises(SourceUnavailableError, match="kept failing"):
            worker.catch_up()
        assert ledger.checkpoint(shop) is None, "checkpoint must not pass an incomplete window"
        partial = ledger.count_orders(shop)
        assert 0 < partial < 600
        worker.catch_up()
        assert sim.fault_replies == 3
    assert ledger.count_orders(shop) == 600
    assert len(ledger.order_ids(shop)) == 600
    assert ledger.checkpoint(shop) is not None and ledger.checkpoint(shop) >= end


def test_a_429_storm_is_waited_out_honouring_retry_after(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(300, seed=14, start=start, end=end)
    faults = Faults.parse(["storm429-requests:2-5"]).model_copy(update={"retry_after_seconds": 0.2})
    with simulator(Platform.SHOPLAZZA, catalog, faults) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher, attempts=6)
        began = time.monotonic()
        worker.catch_up()
        waited = time.monotonic() - began
        assert sim.fault_replies == 4
    assert waited >= 4 * 0.2, "each 429 is followed by the Retry-After pause"
    assert ledger.count_orders(shop) == 300


@pytest.mark.slow
def test_solr_stopped_mid_import_every_failure_document_arrives_once(
    ledger: Ledger, tmp_path: Path, shop: str
) -> None:
    local = LocalSolr(
        launcher_dir=REPO_ROOT / "solr" / "launcher",
        configset_dir=CONFIGSET,
        state_dir=tmp_path / "solr",
        heap="512m",
        accounts=TEST_ACCOUNTS,
    )
    port = free_port()
    running, _ = local.start(mode="standalone", port=port)
    index = LogInsightsIndex(running.solr_url, retry_attempts=2, timeout=3, account=SOLR_INDEXER)
    flusher = OutboxFlusher(ledger, index)
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(300, seed=15, start=start, end=end, faults=BAD)
    try:
        with simulator(Platform.SHOPIFY, catalog) as sim:
            _, bad = source_truth(sim, shop, catalog)
            worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
            windows = worker.pending_windows()
            worker.import_window(windows[0])
            local.stop(port)
            for window in windows[1:]:
                worker.import_window(window)  # Solr is down: imports go on, documents wait
            waiting, dead = ledger.outbox_counts()
            assert waiting > 0 and dead == 0
            assert ledger.count_orders(shop) == 300 - len(bad)
            local.start(mode="standalone", port=port)
            report = flusher.flush()
        assert report.solr_down is False and ledger.outbox_counts() == (0, 0)
        index.soft_commit()
        docs = select(running.solr_url, q=f"shop:{shop}", fl="*", rows=1000)["response"]["docs"]
        assert {d["orderId"] for d in docs} == bad
        assert len(docs) == len(bad) and all(d["attempts"] == 1 for d in docs)
    finally:
        local.stop(port)


def test_a_worker_killed_mid_window_resumes_to_exactly_the_source_set(
    tmp_path: Path, solr: SolrUnderTest, shop: str
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(1500, seed=16, start=start, end=end, faults=BAD)
    faults = Faults(latency_seconds=0.03)
    shops_file = tmp_path / "shops.toml"
    ledger_path = tmp_path / "ledger.sqlite3"
    with simulator(Platform.SHOPIFY, catalog, faults) as sim:
        good, bad = source_truth(sim, shop, catalog)
        shops_file.write_text(
            f'[shops.{shop}]\nplatform = "shopify"\nbase_url = "{sim.url}"\n'
            f'access_token_env = "TEST_SHOP_TOKEN"\nstart = "{start.isoformat()}"\n'
            "window_minutes = 120\npage_size = 25\n"
        )
        env = {
            **os.environ,
            "TEST_SHOP_TOKEN": sim.access_token,  # type: ignore[attr-defined]
            "LOGINSIGHTS_SOLR_URL": solr.url,
            "LOGINSIGHTS_STATE_DIR": str(tmp_path),
        }
        command = [
            sys.executable, "-m", "pipeline.cli", "--shops-file", str(shops_file),
            "--ledger", str(ledger_path), "import", "--shop", shop, "--json",
        ]  # fmt: skip
        victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def some_imported() -> bool:
            if not ledger_path.exists():
                return False
            with Ledger(ledger_path) as peek:
                return peek.count_orders(shop) > 100

        assert wait_for(some_imported, seconds=60), victim.stderr.read() if victim.poll() else ""
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        with Ledger(ledger_path) as after_kill:
            assert after_kill.checkpoint(shop) is None
            assert 0 < after_kill.count_orders(shop) < len(good)

        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr
    with Ledger(ledger_path) as final:
        rows = final.order_rows(shop)
        assert {r["order_id"] for r in rows} == good and len(rows) == len(good)
        assert {f.order_id for f in final.failures(shop)} == bad
        assert final.checkpoint(shop) is not None


@pytest.mark.slow
def test_an_sfcc_window_of_12000_orders_is_split_and_fully_imported(
    ledger: Ledger, shop: str
) -> None:
    start, end = past_day(hours=24)
    catalog = OrderCatalog.generate(12_000, seed=17, start=start, end=end)
    with simulator(Platform.SFCC, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, window_minutes=24 * 60)
        reports = worker.catch_up()
        assert worker.context.source.continuations >= 1  # type: ignore[attr-defined]
    assert reports[0].seen == 12_000 and sum(r.seen for r in reports) == 12_000
    assert ledger.count_orders(shop) == 12_000


# -- issue 18 A: where a shop's history starts is explicit ----------------------------------------


def test_an_explicit_range_on_a_new_shop_leaves_the_checkpoint_unset(
    ledger: Ledger, shop: str
) -> None:
    start, end = past_day(hours=3)
    catalog = OrderCatalog.generate(30, seed=51, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start)
        worker.import_range(start + timedelta(hours=1), start + timedelta(hours=2))
        assert ledger.checkpoint(shop) is None, "orders before --from are still to come"
        worker.import_range(start, start + timedelta(hours=1))
        assert ledger.checkpoint(shop) == start + timedelta(hours=1), "reaches back to start"


def test_a_range_past_now_minus_the_settle_lag_is_refused(ledger: Ledger, shop: str) -> None:
    from pipeline.errors import ConfigurationError

    start, end = past_day(hours=1)
    with simulator(Platform.SHOPIFY, OrderCatalog()) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start)
        with pytest.raises(ConfigurationError, match="after now minus the settle lag"):
            worker.import_range(end, end + timedelta(days=200))
    assert ledger.checkpoint(shop) is None


def test_a_first_import_without_start_says_where_it_begins(
    ledger: Ledger, shop: str, caplog: pytest.LogCaptureFixture
) -> None:
    with simulator(Platform.SHOPIFY, OrderCatalog()) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=None)
        with caplog.at_level("WARNING"):
            began = worker.resume_point()
    message = " ".join(r.getMessage() for r in caplog.records)
    assert began.isoformat() in message and "older orders are not imported" in message
    assert f"loginsights reconcile --shop {shop}" in message
