"""Daily reconciliation (seed 002) against the simulators over real HTTP and a real Solr."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import SolrUnderTest, past_day, select, simulator, wait_for, worker_for_sim

from pipeline.errors import SourceUnavailableError
from pipeline.events import EventStream
from pipeline.flusher import OutboxFlusher
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.orders import problems, raw_order_id, to_order
from pipeline.reconcile import last_midnight, reconcile, reconciliation_due
from pipeline.reports import ReconciliationReport
from pipeline.runner import RunOptions, run_forever
from pipeline.simulators import Faults, OrderCatalog, SimulatorServer
from pipeline.windows import ImportWindow
from pipeline.worker import ImportWorker

BAD = Faults(missing_address_share=0.04, missing_phone_share=0.03, bad_email_share=0.03)


def truth(sim: SimulatorServer, shop: str, catalog: OrderCatalog) -> tuple[set[str], set[str]]:
    """(good ids, bad ids) at the platform, judged independently of the worker."""
    good, bad = set(), set()
    platform = Platform(sim.platform)
    for order in catalog.created_between(None, None, high_inclusive=True, now=datetime.now(UTC)):
        raw = sim.render(order)  # type: ignore[attr-defined]
        order_id = raw_order_id(platform, raw)
        (bad if problems(to_order(platform, shop, raw)) else good).add(order_id)
    return good, bad  # type: ignore[return-value]


def a_day_with_gaps(worker: ImportWorker, start: datetime, end: datetime) -> None:
    """The old job of seed 002: windows a second apart, and an outage that loses a window."""
    cursor = start
    while cursor < end:
        window = ImportWindow(start=cursor, end=min(cursor + timedelta(minutes=30), end))
        # On an outage the old job moved on, and the window's orders were never downloaded.
        with contextlib.suppress(SourceUnavailableError):
            worker.import_window(window, advance_checkpoint=False)
        cursor = window.end + timedelta(seconds=1)


def test_reconciliation_imports_exactly_the_missing_orders_and_counts_right(
    ledger: Ledger, flusher: OutboxFlusher, solr: SolrUnderTest, shop: str
) -> None:
    start, end = past_day(hours=6)
    catalog = OrderCatalog.generate(600, seed=21, start=start, end=end, faults=BAD)
    for n in range(1, 12):  # orders inside the one-second gaps between the old job's windows
        catalog.add(start + timedelta(minutes=30 * n, milliseconds=300 + 50 * n))
    faults = Faults.parse(["outage-requests:3-5"])  # the third window meets an outage
    with simulator(Platform.SHOPIFY, catalog, faults=faults) as sim:
        good, bad = truth(sim, shop, catalog)
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher, attempts=2)
        a_day_with_gaps(worker, start, end)
        before = ledger.order_ids(shop)
        missing_good = good - before
        assert len(missing_good) > 11, "both the gaps and the outage lost orders"

        report = reconcile(worker.context, hours=7, end=end + timedelta(minutes=5))
        again = reconcile(worker.context, hours=7, end=end + timedelta(minutes=5))

    assert ledger.order_ids(shop) == good
    assert report.at_source == len(good) + len(bad) == len(catalog)
    assert report.already_imported == len(before)
    assert report.imported_now == len(missing_good)
    assert report.failed_now == len(bad), "every bad order is tried again and still fails"
    assert again.imported_now == 0 and again.already_imported == len(good)
    kept = ledger.reconciliations(shop)
    assert [r["imported_now"] for r in kept] == [len(missing_good), 0]

    def latest():  # type: ignore[no-untyped-def]
        docs = select(
            solr.url, q="docType:ORDER_RECONCILIATION", fq=f"shop:{shop}", fl="*", rows=5
        )["response"]["docs"]
        return docs if docs and docs[0]["countImportedNow"] == 0 else None

    docs = wait_for(latest, seconds=15)
    assert docs, "the second run's numbers replace the first's"
    assert len(docs) == 1, "the same span's report is one document, updated"
    assert docs[0]["countAtSource"] == len(catalog)
    assert docs[0]["countFailedNow"] == len(bad)
    assert "at the source" in docs[0]["errorMessage"]
    failures = select(solr.url, q="docType:SHOPIFY_ORDER", fq=f"shop:{shop}", rows=0)
    assert failures["response"]["numFound"] == len(bad), "each failure also in logInsights"


def test_a_dry_run_counts_what_is_missing_and_imports_nothing(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(120, seed=22, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        worker.import_window(ImportWindow(start=start, end=start + timedelta(hours=1)))
        imported = ledger.order_ids(shop)
        report = reconcile(worker.context, hours=3, end=end, dry_run=True)
    assert report.at_source == 120
    assert report.already_imported == len(imported)
    assert report.missing == 120 - len(imported) and report.imported_now == 0
    assert ledger.order_ids(shop) == imported
    assert ledger.reconciliations(shop) == []


@pytest.mark.parametrize("platform", [Platform.SHOPLAZZA, Platform.SFCC], ids=lambda p: p.value)
def test_platforms_without_a_cheap_listing_are_reconciled_from_full_pages(
    platform: Platform, ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(150, seed=23, start=start, end=end, faults=BAD)
    with simulator(platform, catalog) as sim:
        good, bad = truth(sim, shop, catalog)
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        report = reconcile(worker.context, hours=3, end=end)
    assert ledger.order_ids(shop) == good
    assert (report.at_source, report.imported_now, report.failed_now) == (
        150,
        len(good),
        len(bad),
    )


def test_a_few_missing_shopify_orders_are_fetched_one_by_one(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(300, seed=24, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        worker.import_range(start, end)
        lost = catalog.add(end - timedelta(minutes=1))
        lost_id = str(sim.render(lost)["id"])  # type: ignore[attr-defined]
        calls_before = sim.calls
        report = reconcile(worker.context, hours=3, end=end)
        calls = sim.calls - calls_before
    assert report.missing_ids == [lost_id] and report.imported_now == 1
    assert ledger.has_order(shop, lost_id)
    assert calls == 2 + 1, "the span's ids and times in two pages of 250, then one order fetched"


def test_a_failure_the_merchant_has_not_touched_is_not_fetched_again_a_fixed_one_is(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    """An order that failed and has not changed at the platform since (its last change as
    listed equals the kept payload's) would fail again the same way: it is counted as failing
    without a fetch. One the merchant fixed is fetched and imported."""
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(40, seed=26, start=start, end=end)
    untouched = catalog.add(start + timedelta(minutes=10), address=None)
    fixed = catalog.add(start + timedelta(minutes=20), address=None)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        worker.import_range(start, end)
        assert len(ledger.failures(shop)) == 2
        address = {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "address1": "1 Main Rd.",
            "city": "Boston",
            "province_code": "MA",
            "zip": "02110",
            "country_code": "US",
        }
        catalog.update(fixed.number, address=address)  # fmt: skip
        calls_before = sim.calls
        report = reconcile(worker.context, hours=3, end=end)
        calls = sim.calls - calls_before
        untouched_id = str(sim.render(untouched)["id"])  # type: ignore[attr-defined]
        fixed_id = str(sim.render(fixed)["id"])  # type: ignore[attr-defined]
    assert sorted(report.missing_ids) == sorted([untouched_id, fixed_id])
    assert (report.imported_now, report.failed_now) == (1, 1)
    assert ledger.has_order(shop, fixed_id) and not ledger.has_order(shop, untouched_id)
    assert calls == 1 + 1, "one page of ids and times, then only the fixed order fetched"


# -- scheduling ------------------------------------------------------------------------------


def test_reconciliation_is_due_once_after_each_local_midnight() -> None:
    zone = ZoneInfo("Asia/Shanghai")  # UTC+8: local midnight is 16:00 UTC
    before = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)
    after = datetime(2026, 11, 22, 16, 0, 30, tzinfo=UTC)
    assert last_midnight(zone, after) == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert not reconciliation_due(zone, before, last_run=before - timedelta(hours=1))
    assert reconciliation_due(zone, after, last_run=before)
    assert not reconciliation_due(zone, after + timedelta(minutes=5), last_run=after)
    missed = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # down at midnight: made up when back
    assert reconciliation_due(zone, missed, last_run=before)


def test_the_run_loop_reconciles_each_shop_after_its_midnight(
    ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(50, seed=25, start=start, end=end)
    ticks = iter([end, end + timedelta(days=1)])  # started the day before; now past midnight
    stop = threading.Event()
    reports = []
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)

        class Record:
            def hear(self, event: object) -> None:
                if isinstance(event, ReconciliationReport):
                    reports.append(event)
                    stop.set()

        run_forever(
            [worker],
            flusher,
            stop=stop,
            options=RunOptions(poll_seconds=0.1),
            events=EventStream([Record()]),
            clock=lambda: next(ticks, end + timedelta(days=1)),
        )
    assert len(reports) == 1
    assert reports[0].at_source == 50 and reports[0].already_imported == 50
    assert len(ledger.reconciliations(shop)) == 1


# -- issue 12: what to act on, by reason ------------------------------------------------------


@pytest.mark.parametrize("platform", [Platform.SHOPIFY, Platform.SFCC], ids=lambda p: p.value)
def test_a_day_with_each_kind_of_mismatch_is_reported_by_reason(
    platform: Platform, ledger: Ledger, flusher: OutboxFlusher, shop: str
) -> None:
    from sqlalchemy import update

    from pipeline.documents import reconciliation_document
    from pipeline.ledger.schema import orders as orders_table
    from pipeline.reports import Reason

    start, end = past_day(hours=3)
    catalog = OrderCatalog.generate(40, seed=31, start=start, end=end)
    for order in catalog.created_between(None, None, high_inclusive=True, now=end):
        catalog.update(order.number, source="web")  # no POS orders but the one below
    with simulator(platform, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher,
                                reconcile_exclude=["pos"])  # fmt: skip
        worker.import_range(start, end)
        numbers = [o.number for o in catalog.created_between(None, None, high_inclusive=True,
                                                              now=end)]  # fmt: skip
        ids = {n: raw_order_id(platform, sim.render(catalog.get(n, end))) for n in numbers}  # type: ignore[attr-defined]
        new_good = catalog.add(end - timedelta(minutes=5))
        new_bad = catalog.add(end - timedelta(minutes=4), address=None)
        pos = catalog.add(end - timedelta(minutes=3))
        catalog.update(pos.number, source="pos")
        catalog.update(numbers[0], cancelled=True)  # cancelled at the platform only
        with ledger.engine.begin() as db:  # cancelled in the store only
            mine = (orders_table.c.shop == shop) & (orders_table.c.order_id == ids[numbers[1]])
            db.execute(update(orders_table).where(mine).values(status="cancelled"))
        report = reconcile(worker.context, hours=3, end=end)
        good_id = raw_order_id(platform, sim.render(new_good))  # type: ignore[attr-defined]
        bad_id = raw_order_id(platform, sim.render(new_bad))  # type: ignore[attr-defined]
    reasons = {(o.order_id, o.reason) for o in report.orders}
    assert (good_id, Reason.IMPORTED_NOW) in reasons
    assert (bad_id, Reason.FAILED_NOW) in reasons
    assert (ids[numbers[0]], Reason.CANCELLED_AT_PLATFORM) in reasons
    assert (ids[numbers[1]], Reason.CANCELLED_IN_STORE) in reasons
    assert len(reasons) == 4 and report.excluded == 1, "the POS order is left out"
    assert report.at_source == 42
    document = reconciliation_document(report, site=sim.url, ttl="+60DAYS", version=1)
    assert document["countCancelledAtPlatformOnly"] == 1
    assert document["countCancelledInStoreOnly"] == 1 and document["countExcluded"] == 1
