"""The composition root: one ledger and one flusher per process, workers for the shops file's
shops, and a shop that cannot be configured reported and skipped while the others run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipeline.errors import ConfigurationError
from pipeline.settings import Settings
from pipeline.wiring import Wiring


def test_one_ledger_and_one_flusher_serve_every_worker_of_a_process(tmp_path: Path) -> None:
    shops = tmp_path / "shops.toml"
    shops.write_text(
        '[shops.a]\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
        'access_token_env = "A_TOKEN"\n\n'
        '[shops.b]\nplatform = "shoplazza"\nbase_url = "http://127.0.0.1:9"\n'
        'access_token_env = "B_TOKEN"\n'
    )
    settings = Settings(shops_file=shops, ledger_path=tmp_path / "l.sqlite3",
                        solr_url="http://127.0.0.1:9/solr")  # fmt: skip
    with Wiring(settings, {"A_TOKEN": "shpat_a_0000000", "B_TOKEN": "b-token-0000"}) as wiring:
        workers = wiring.workers([], stop=threading.Event())
        console = wiring.worker("a")
        assert {w.ledger for w in [*workers, console]} == {wiring.ledger}
        assert {w.flusher for w in [*workers, console]} == {wiring.flusher}
        assert wiring.flusher.ledger is wiring.ledger


def test_a_shop_missing_its_secret_is_reported_and_skipped_while_the_others_run(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from pipeline.shop_lag import shop_lag_report

    shops = tmp_path / "shops.toml"
    shops.write_text(
        '[shops.good]\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
        'access_token_env = "GOOD_TOKEN"\n\n'
        '[shops.broken]\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
        'access_token_env = "BROKEN_TOKEN"\n'
    )
    settings = Settings(shops_file=shops, ledger_path=tmp_path / "l.sqlite3",
                        solr_url="http://127.0.0.1:9/solr")  # fmt: skip
    workers = Wiring(settings, {"GOOD_TOKEN": "shpat_good_000"}).workers([], stop=threading.Event())
    assert [w.shop.name for w in workers] == ["good"]
    ledger = workers[0].ledger
    rows = {
        r["shop"]: r for r in shop_lag_report(ledger, ["good", "broken"], now=datetime.now(UTC))
    }
    assert "BROKEN_TOKEN" in str(rows["broken"]["problem"]) and rows["good"]["problem"] is None
    fixed = {"GOOD_TOKEN": "shpat_good_000", "BROKEN_TOKEN": "shpat_fixed_00"}
    again = Wiring(settings, fixed).workers([], stop=threading.Event())
    assert len(again) == 2 and ledger.shop_problems() == {}, "fixed: the problem is cleared"


def test_when_no_shop_can_be_worked_run_says_so(tmp_path: Path) -> None:

    shops = tmp_path / "shops.toml"
    shops.write_text('[shops.broken]\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
                     'access_token_env = "BROKEN_TOKEN"\n')  # fmt: skip
    settings = Settings(shops_file=shops, ledger_path=tmp_path / "l.sqlite3")
    with pytest.raises(ConfigurationError, match="no shop of the shops file can be worked"):
        Wiring(settings, {}).workers([], stop=threading.Event())
