"""SFCC Checkout Orders: a listing ends at a short page, never at a count the platform may omit.

Salesforce's OAS declares ``OrdersResponse`` as ``{data}`` alone while seed 004 documents
offset/limit/total: the simulator serves both envelopes, and counts that are capped or wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import past_day, simulator, source_for, worker_for_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import SourceRequestError, SourceUnavailableError
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.simulators import OrderCatalog, SfccSimulator
from pipeline.sources.sfcc import SfccSource
from pipeline.windows import ImportWindow

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
WINDOW = ImportWindow(start=T0, end=T0 + timedelta(hours=2))


def listed_numbers(sim: SfccSimulator, *, page_size: int, max_depth: int) -> list[str]:
    source = source_for(sim, "shop-a")
    assert isinstance(source, SfccSource)
    source.page_size, source.max_depth = page_size, max_depth
    return [order["orderNo"] for order in source.list_orders(WINDOW)]


def expected_numbers(catalog: OrderCatalog) -> list[str]:
    orders = catalog.created_between(
        WINDOW.start, WINDOW.end, high_inclusive=False, now=datetime.now(UTC)
    )
    return [f"{order.number + 1:08d}" for order in orders]


@pytest.mark.parametrize("envelope", ["seed", "oas"])
def test_a_window_of_450_orders_is_read_whole_with_or_without_total(envelope: str) -> None:
    catalog = OrderCatalog.generate(450, seed=3, start=T0, end=WINDOW.end)
    with simulator(Platform.SFCC, catalog, envelope=envelope) as sim:
        assert isinstance(sim, SfccSimulator)
        numbers = listed_numbers(sim, page_size=200, max_depth=10_000)
    assert numbers == expected_numbers(catalog) and len(numbers) == 450


def test_without_total_a_worker_imports_all_450_orders_of_the_window(
    ledger: Ledger, shop: str
) -> None:
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(450, seed=4, start=start, end=end)
    with simulator(Platform.SFCC, catalog, envelope="oas") as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, window_minutes=180)
        reports = worker.catch_up()
    assert sum(report.seen for report in reports) == 450
    assert ledger.count_orders(shop) + len(ledger.failures(shop)) == 450


@pytest.fixture(scope="module")
def one_sfcc() -> Iterator[SfccSimulator]:
    """One simulator for the many examples below; each example sets its catalog and envelope."""
    with simulator(Platform.SFCC, OrderCatalog()) as sim:
        assert isinstance(sim, SfccSimulator)
        yield sim


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(0, 260),
    page_size=st.integers(4, 30),
    max_depth=st.sampled_from([30, 47, 60, 200]),
    envelope=st.sampled_from(["seed", "oas"]),
    total=st.sampled_from(["exact", "capped", "low", "absent"]),
    seed=st.integers(0, 10_000),
)
def test_every_order_is_read_once_whatever_the_page_size_count_and_depth_cap(
    one_sfcc: SfccSimulator,
    count: int,
    page_size: int,
    max_depth: int,
    envelope: str,
    total: str,
    seed: int,
) -> None:
    catalog = OrderCatalog.generate(count, seed=seed, start=T0, end=WINDOW.end)
    sim = one_sfcc
    sim.catalog, sim.max_depth = catalog, max_depth
    sim.envelope = "oas" if total == "absent" else envelope
    sim.total_cap = 25 if total == "capped" else None
    sim.total_shift = -7 if total == "low" else 0
    numbers = listed_numbers(sim, page_size=min(page_size, max_depth), max_depth=max_depth)
    assert numbers == expected_numbers(catalog), "every order, once, oldest first"


def test_a_listing_that_stops_short_of_its_own_count_is_an_error() -> None:
    catalog = OrderCatalog.generate(120, seed=5, start=T0, end=WINDOW.end)
    with simulator(Platform.SFCC, catalog, total_shift=+10) as sim:
        assert isinstance(sim, SfccSimulator)
        with pytest.raises(SourceUnavailableError, match="stopped after 120 of the 130 orders"):
            listed_numbers(sim, page_size=50, max_depth=10_000)


def test_more_orders_in_one_millisecond_than_the_depth_cap_is_an_error_naming_it() -> None:
    catalog = OrderCatalog()
    for _ in range(40):
        catalog.add(T0 + timedelta(minutes=5))
    with simulator(Platform.SFCC, catalog, max_depth=30) as sim:
        assert isinstance(sim, SfccSimulator)
        with pytest.raises(SourceRequestError, match="more than 30 SFCC orders were created at"):
            listed_numbers(sim, page_size=10, max_depth=30)


def test_reading_on_past_the_depth_cap_costs_no_extra_calls() -> None:
    catalog = OrderCatalog.generate(100, seed=6, start=T0, end=WINDOW.end)
    with simulator(Platform.SFCC, catalog, envelope="oas", max_depth=40) as sim:
        assert isinstance(sim, SfccSimulator)
        source = source_for(sim, "shop-a")
        source.page_size, source.max_depth = 20, 40
        numbers = [order["orderNo"] for order in source.list_orders(WINDOW)]
        calls = sim.calls
    assert numbers == expected_numbers(catalog)
    assert source.continuations == 2
    # 100 orders in pages of 20 from three runs (40, 40, 20 + the orders at each edge): 5 pages
    # of orders, one more page per edge re-read, and the last short page.
    assert calls <= 100 // 20 + 3 + 1 + 1  # + the token request


# -- issue 27: orders that must not ship do not become live orders ---------------------------


def test_an_order_not_yet_placed_waits_without_holding_the_checkpoint_and_is_imported_once_placed(
    ledger: Ledger, shop: str
) -> None:
    start, end = past_day(hours=1)
    now = [datetime.now(UTC)]
    waiting_ledger = Ledger(ledger.url.render_as_string(hide_password=False), clock=lambda: now[0])
    catalog = OrderCatalog.generate(3, seed=5, start=start, end=end)
    unplaced = catalog.add(start + timedelta(minutes=7), states={"sfcc.status": "created"})
    with simulator(Platform.SFCC, catalog) as sim, waiting_ledger:
        worker = worker_for_sim(sim, shop, waiting_ledger, start=start, window_minutes=90)
        reports = worker.catch_up()
        assert [r.waiting for r in reports] == [1] and sum(r.imported for r in reports) == 3
        number = f"{unplaced.number + 1:08d}"
        assert not waiting_ledger.has_order(shop, number)
        assert waiting_ledger.failure(shop, number) is None, "not a failure: not an order yet"
        assert waiting_ledger.checkpoint(shop) is not None
        assert waiting_ledger.waiting_reasons(shop) == {number: "not_placed"}

        now[0] += timedelta(minutes=5)
        still = worker.look_again()
        assert (still.orders, still.waiting) == (1, 1), "looked at again, still not placed"

        catalog.update(unplaced.number, states={"sfcc.status": "new"})
        now[0] += timedelta(hours=2)
        placed = worker.look_again()
        assert placed.imported == 1 and waiting_ledger.has_order(shop, number)
        assert waiting_ledger.waiting_reasons(shop) == {}
        row = waiting_ledger.waiting_order(shop, number)
        assert row is not None and row["outcome"] == "imported"


def test_an_order_whose_payment_failed_is_shown_and_counted_by_reason(tmp_path, shop: str) -> None:  # type: ignore[no-untyped-def]
    from pipeline.intake import ShopContext
    from pipeline.reconcile import reconcile
    from pipeline.troubleshooting import describe_order

    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(4, seed=6, start=start, end=end)
    failed = catalog.add(start + timedelta(minutes=3), states={"sfcc.status": "failed"})
    unconfirmed = catalog.add(
        start + timedelta(minutes=4), states={"sfcc.confirmationStatus": "not_confirmed"}
    )
    with simulator(Platform.SFCC, catalog) as sim, Ledger(tmp_path / "l.db") as ledger:
        worker = worker_for_sim(sim, shop, ledger, start=start, window_minutes=90)
        worker.catch_up()
        report = reconcile(worker.context, end=end + timedelta(minutes=1), hours=2)
        assert isinstance(worker.context, ShopContext)
    assert report.waiting == {"payment_failed": 1, "not_confirmed": 1}
    assert report.imported_now == 0 and report.missing == 0
    assert "2 waiting, not orders to ship yet (1 not confirmed, 1 payment failed)" in (
        report.summary()
    )
    with Ledger(tmp_path / "l.db") as ledger:
        story = describe_order(ledger, f"{failed.number + 1:08d}", shop=shop)[0]
    assert story["versions"] == [] and story["failure"] is None
    assert story["waiting"]["reason"] == "payment_failed"
    assert "status=failed" in story["waiting"]["sentence"]
    assert unconfirmed.number != failed.number


@pytest.mark.parametrize("dates", ["datetime", "days"])
def test_a_window_is_read_exactly_whether_the_instance_reads_datetimes_or_days(dates: str) -> None:
    """commerce-sdk 6.6.0 calls creationDateFrom/To date-only, seed 004 a datetime: either way
    a window lists exactly its own orders, and the day's other orders are left to theirs."""
    day = datetime(2026, 11, 20, tzinfo=UTC)
    catalog = OrderCatalog.generate(600, seed=11, start=day, end=day + timedelta(days=2))
    windows = [
        ImportWindow(start=day + timedelta(hours=h), end=day + timedelta(hours=h + 1))
        for h in range(47)
    ]
    with simulator(Platform.SFCC, catalog, dates=dates) as sim:
        source = source_for(sim, "shop-a")
        source.page_size = 50
        for window in windows:
            listed = [order["orderNo"] for order in source.list_orders(window)]
            wanted = catalog.created_between(
                window.start, window.end, high_inclusive=False, now=datetime.now(UTC)
            )
            assert listed == [f"{o.number + 1:08d}" for o in wanted], str(window)
    assert (source.days_read > 0) is (dates == "days")
