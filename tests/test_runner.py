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
from pipeline.ledger import Ledger
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
        self.lease: Any = None
        self.on_page: Any = None
        self.ledger: Any = None

    def catch_up(self, **_: Any) -> list[Any]:
        self.passes += 1
        if self.error:
            raise self.error
        return []


class FlusherDouble:
    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def run_passes(
    shops: list[ShopDouble], passes: int = 2, ledger: Ledger | None = None
) -> FlusherDouble:
    for shop in shops:
        shop.ledger = ledger
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
            seen.append((self.lease, [(r["shop"], r["worker"]) for r in ledger.leases()]))
            return super().catch_up(**kwargs)

    shop = Leased("a")
    run_passes([shop], passes=1, ledger=ledger)
    lease, held = seen[0]
    assert lease is not None and lease.shop == "a" and held == [("a", lease.worker)]
    assert ledger.leases() == [], "released after the pass"


def test_a_shop_leased_by_another_worker_is_left_alone(ledger: Ledger) -> None:
    from datetime import UTC, datetime, timedelta

    assert ledger.acquire_lease(
        "a", "elsewhere", duration=timedelta(hours=1), now=datetime.now(UTC)
    )
    taken, free = ShopDouble("a"), ShopDouble("b")
    run_passes([taken, free], passes=2, ledger=ledger)
    assert taken.passes == 0 and free.passes == 2
