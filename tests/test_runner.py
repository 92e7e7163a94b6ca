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
from pipeline.runner import run_forever


@dataclass
class ShopDouble:
    """Stands in for an ImportWorker: counts passes, fails as told."""

    name: str
    error: LogInsightsError | None = None
    passes: int = 0
    shop: Any = field(init=False)

    def __post_init__(self) -> None:
        self.shop = type("Shop", (), {"name": self.name, "time_zone": "UTC"})()

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


def run_passes(shops: list[ShopDouble], passes: int = 2) -> FlusherDouble:
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
    run_forever(shops, flusher, stop=stop, poll_seconds=0, daily_reconciliation=False)  # type: ignore[arg-type]
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
def test_retry_later_and_skip_errors_skip_the_shop_for_this_pass(error: LogInsightsError) -> None:
    failing, healthy = ShopDouble("a", error), ShopDouble("b")
    flusher = run_passes([failing, healthy])
    assert failing.passes == 2 and healthy.passes == 2, "the others go on, pass after pass"
    assert flusher.flushes >= 2


def test_a_stop_error_ends_the_run_after_a_last_flush() -> None:
    broken = ShopDouble("a", LedgerError("the ledger /x failed while writing (disk full)"))
    healthy = ShopDouble("b")
    with pytest.raises(LedgerError):
        run_passes([broken, healthy])
    assert healthy.passes == 0
