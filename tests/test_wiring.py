"""The composition root: one ledger and one flusher per process, workers for the shops file's
shops, and a shop that cannot be configured reported and skipped while the others run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import ConfigurationError
from pipeline.settings import Settings
from pipeline.shop_lag import shop_lag_report
from pipeline.wiring import Wiring


def settings_for(tmp_path: Path, **shops: tuple[str, str]) -> Settings:
    """Settings whose shops file names each shop as (platform, token variable)."""
    path = tmp_path / "shops.toml"
    path.write_text("\n".join(
        f'[shops.{name}]\nplatform = "{platform}"\nbase_url = "http://127.0.0.1:9"\n'
        f'access_token_env = "{variable}"\n'
        for name, (platform, variable) in shops.items()
    ))  # fmt: skip
    return Settings(shops_file=path, ledger_path=tmp_path / "l.sqlite3",
                    solr_url="http://127.0.0.1:9/solr")  # fmt: skip


def test_one_ledger_and_one_flusher_serve_every_worker_of_a_process(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, a=("shopify", "A_TOKEN"), b=("shoplazza", "B_TOKEN"))
    with Wiring(settings, {"A_TOKEN": "shpat_a_0000000", "B_TOKEN": "b-token-0000"}) as wiring:
        workers = wiring.workers([], stop=threading.Event())
        console = wiring.context("a")  # what the console's Re-import acts through
        contexts = [*(w.context for w in workers), console]
        assert {c.ledger for c in contexts} == {wiring.ledger}
        assert {c.flusher for c in contexts} == {wiring.flusher}
        assert wiring.flusher.ledger is wiring.ledger
        assert workers[0].context is console, "one connector (and rate budget) per shop"


def test_the_clock_is_handed_in_once_and_the_ledger_keeps_its_time(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, broken=("shopify", "BROKEN_TOKEN"))
    moment = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    with Wiring(settings, {}, clock=lambda: moment) as wiring:
        with pytest.raises(ConfigurationError):
            wiring.workers([], stop=threading.Event())
        problem = wiring.ledger.shop_problems()["broken"]
    assert datetime.fromisoformat(problem["since"]) == moment


def test_a_shop_missing_its_secret_is_reported_and_skipped_while_the_others_run(
    tmp_path: Path,
) -> None:
    settings = settings_for(
        tmp_path, good=("shopify", "GOOD_TOKEN"), broken=("shopify", "BROKEN_TOKEN")
    )
    workers = Wiring(settings, {"GOOD_TOKEN": "shpat_good_000"}).workers([], stop=threading.Event())
    assert [w.shop.name for w in workers] == ["good"]
    ledger = workers[0].context.ledger
    rows = {
        r["shop"]: r for r in shop_lag_report(ledger, ["good", "broken"], now=datetime.now(UTC))
    }
    assert "BROKEN_TOKEN" in str(rows["broken"]["problem"]) and rows["good"]["problem"] is None
    fixed = {"GOOD_TOKEN": "shpat_good_000", "BROKEN_TOKEN": "shpat_fixed_00"}
    again = Wiring(settings, fixed).workers([], stop=threading.Event())
    assert len(again) == 2 and ledger.shop_problems() == {}, "fixed: the problem is cleared"


def test_when_no_shop_can_be_worked_run_says_so(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, broken=("shopify", "BROKEN_TOKEN"))
    with pytest.raises(ConfigurationError, match="no shop of the shops file can be worked"):
        Wiring(settings, {}).workers([], stop=threading.Event())


def test_a_misspelt_key_breaks_that_shop_only(tmp_path: Path) -> None:
    """Issue 30: one misspelt key in one shop's table stopped run, shops check and the import
    of every other shop."""
    from click.testing import CliRunner

    from pipeline.cli import main

    settings = settings_for(tmp_path, good=("shopify", "GOOD_TOKEN"))
    with settings.shops_file.open("a") as shops:  # type: ignore[union-attr]
        shops.write('\n[shops.typo]\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'
                    'acess_token_env = "TYPO_TOKEN"\n')  # fmt: skip
    environ = {"GOOD_TOKEN": "shpat_good_000"}
    with Wiring(settings, environ) as wiring:
        workers = wiring.workers([], stop=threading.Event())
        assert [w.shop.name for w in workers] == ["good"]
        problem = wiring.ledger.shop_problems()["typo"]["problem"]
        assert "acess_token_env" in str(problem), "named, with the key that is wrong"
        with pytest.raises(ConfigurationError, match="'typo' cannot be worked"):
            wiring.context("typo")
        assert wiring.context("good").name == "good", "the others are worked"
    checked = CliRunner().invoke(
        main, ["--shops-file", str(settings.shops_file), "shops", "check", "--json"],
        env=environ,
    )  # fmt: skip
    assert checked.exit_code == 1, "a shop that cannot be worked is a non-zero check"
    assert '"shop": "typo"' in checked.output and '"shop": "good"' in checked.output
