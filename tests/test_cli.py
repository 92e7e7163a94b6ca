"""The loginsights command, run as a user runs it (click's runner, real Solr)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner
from conftest import SolrUnderTest, admin_auth, free_port, select, wait_for

from pipeline.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


@pytest.mark.parametrize("path", all_commands(main), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    command = main
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    if not isinstance(command, click.Group):
        assert "Example" in result.output, path


def run(solr: SolrUnderTest, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(main, ["--solr-url", solr.url, *args])
    return result.exit_code, result.stdout


def test_demo_then_query_shows_the_failed_orders(solr: SolrUnderTest, tmp_path: Path) -> None:
    code, out = run(solr, "--ledger", str(tmp_path / "demo.sqlite3"), "demo", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["recorded"] == 5, "four orders, #1002 twice"
    assert report["posted"] == 5 and report["refused"] == 0 and report["waiting"] == 0

    code, out = run(solr, "query", "docType:SHOPIFY_ORDER AND shop:hc-demo", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["responseHeader"]["params"]["json"] == (
        '{"params":{"q":"docType:SHOPIFY_ORDER AND shop:hc-demo"}}'
    )
    names = {doc["shopifyOrderName"] for doc in body["response"]["docs"]}
    assert {"#1001", "#1002"} <= names

    code, out = run(solr, "query", "docType:SHOPIFY_ORDER AND shop:hc-demo", "--rows", "5")
    assert code == 0
    assert "#1002" in out and "firstAttemptedImport" in out
    assert "[createShopifyOrder]" in out, "Solr's text is printed as is, brackets included"


def test_query_with_bad_syntax_exits_non_zero_with_solrs_reason(solr: SolrUnderTest) -> None:
    code, out = run(solr, "query", "docType:(", "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == 400
    result = CliRunner().invoke(main, ["--solr-url", solr.url, "query", "docType:("])
    assert result.exit_code == 1 and "Solr refused the query (HTTP 400)" in result.output
    assert "column" in result.output, "where the parser stopped"
    assert len(result.output.strip().splitlines()) == 1, "one line, not the parser's list"


def test_a_solr_url_without_solr_says_the_url_looks_wrong(solr: SolrUnderTest) -> None:
    base = solr.url.removesuffix("/solr")
    result = CliRunner().invoke(main, ["--solr-url", base, "query", "docType:SHOPIFY_ORDER"])
    assert result.exit_code == 1 and "URL looks wrong" in result.output and "/solr" in result.output


def test_query_against_a_dead_solr_says_how_to_start_one() -> None:
    result = CliRunner().invoke(
        main, ["--solr-url", f"http://127.0.0.1:{free_port()}/solr", "query", "*:*"]
    )
    assert result.exit_code == 1
    assert "loginsights solr start" in result.output
    assert "Traceback" not in result.output


def test_status_of_a_solr_that_is_not_running(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main,
        ["solr", "status", "--port", str(free_port()), "--json"],
        env={"LOGINSIGHTS_STATE_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "port": json.loads(result.stdout)["port"],
        "running": False,
        "healthy": False,
        "documents": None,
        "urls": [],
        "mode": None,
        "detail": "not running",
    }


def test_init_on_the_running_solr(solr: SolrUnderTest) -> None:
    code, out = run(solr, "solr", "init", "--json")
    assert code == 0
    assert json.loads(out)["created"] is False


def test_the_demo_can_be_rerun_and_the_first_attempt_stays(solr: SolrUnderTest) -> None:
    run(solr, "demo")

    def first_attempt() -> str | None:
        code, out = run(solr, "query", 'shopifyOrderName:"#1001" AND shop:hc-demo', "--json")
        docs = json.loads(out)["response"]["docs"]
        return docs[0]["firstAttemptedImport"] if docs else None

    before = wait_for(first_attempt, seconds=10)
    run(solr, "demo")
    assert first_attempt() == before


# -- working the failure log from the command line ---------------------------------------------


def test_import_then_work_the_failures_from_the_command_line(
    solr: SolrUnderTest,
    tmp_path,
    shop: str,  # type: ignore[no-untyped-def]
) -> None:
    import csv
    import io
    from datetime import timedelta

    from conftest import past_day, simulator

    from pipeline.models import Platform
    from pipeline.simulators import OrderCatalog

    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(30, seed=41, start=start, end=end)
    broken = catalog.add(start + timedelta(minutes=5), address=None)
    with simulator(Platform.SHOPIFY, catalog) as sim:
        shops = tmp_path / "shops.toml"
        shops.write_text(
            f'[shops.{shop}]\nplatform = "shopify"\nbase_url = "{sim.url}"\n'
            f'access_token_env = "CLI_TEST_TOKEN"\nstart = "{start.isoformat()}"\n'
            "settle_lag_seconds = 0\n"
        )
        base = ["--solr-url", solr.url, "--shops-file", str(shops), "--ledger", str(tmp_path / "l")]
        env = {"CLI_TEST_TOKEN": "shpat_simulated"}

        def cli(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(main, [*base, *args], env=env)
            return result.exit_code, result.stdout

        code, out = cli("reconcile", "--shop", shop, "--hours", "2", "--json")
        assert code == 0, out
        report = json.loads(out)
        assert (report["atSource"], report["importedNow"], report["failedNow"]) == (31, 30, 1)

        code, out = cli("failures", "--shop", shop, "--json")
        rows = json.loads(out)
        order_id = str(sim.render(broken)["id"])  # type: ignore[attr-defined]
        assert [(r["orderId"], r["errorCode"]) for r in rows] == [(order_id, "missing_address")]
        code, out = cli("failures", "--shop", shop, "--csv")
        assert next(csv.DictReader(io.StringIO(out)))["orderId"] == order_id
        code, out = cli("failures", "--shop", shop, "--error-code", "bad_email", "--json")
        assert json.loads(out) == []

        code, out = cli("reimport", "--shop", shop, "--order-id", order_id, "--json")
        outcome = json.loads(out)
        assert code == 1 and outcome["outcome"] == "failed", "still broken: exit 1"
        assert outcome["orderId"] == order_id and "order_id" not in outcome, "camelCase keys"

        catalog.update(broken.number, address=catalog.get(0, end + timedelta(days=1)).address)  # type: ignore[union-attr]
        code, out = cli("retry", "--shop", shop, "--json")
        assert code == 0 and json.loads(out)["passed"] == 1

        code, out = cli("show", order_id, "--json")
        story = json.loads(out)[0]
        assert story["failure"]["resolvedAt"] and len(story["history"]) == 2
        assert story["versions"][0]["status"] == "created"

        code, out = cli("show", "#does-not-exist")
        assert code == 1

        # a ledger reset leaves Solr holding failures it no longer knows: --fresh forgets them
        stale = {
            "document-id": f"stale-{shop}",
            "docType": "SHOPIFY_ORDER",
            "shop": shop,
            "errorMessage": "from a ledger that is gone",
            "ttl": "+60DAYS",
            "version": 1,
        }
        requests.post(f"{solr.url}/logInsights/update?commit=true", json=[stale],
                      auth=admin_auth(), timeout=30).raise_for_status()  # fmt: skip
        code, out = cli("solr", "reindex", "--shop", shop, "--fresh", "--json")
        assert code == 0 and json.loads(out)["queued"] == 1, out
        held = select(
            solr.url, q=f"shop:{shop}", fq="-docType:ORDER_RECONCILIATION", fl="document-id"
        )
        assert [d["document-id"] for d in held["response"]["docs"]] != [stale["document-id"]]
        assert held["response"]["numFound"] == 1, "the one failure the ledger knows, resolved"
        assert select(solr.url, q=f"shop:{shop} AND docType:ORDER_RECONCILIATION",
                      rows=0)["response"]["numFound"] == 1, "reports stay"  # fmt: skip


# -- bad input: a usage error naming the option or key, never a traceback --------------------

GOOD_SHOP = """
[shops.hc-demo]
platform = "shopify"
base_url = "http://127.0.0.1:9"
access_token_env = "HC_TOKEN"
time_zone = "America/New_York"
"""
IMPORT = ["import", "--shop", "hc-demo"]
BAD_INPUT: list[tuple[str, str, list[str], str]] = [
    ("unreal date", GOOD_SHOP, [*IMPORT, "--from", "2026-13-45", "--to", "2026-11-22"], "--from"),
    ("unreal end", GOOD_SHOP, [*IMPORT, "--from", "2026-11-21", "--to", "tomorrow"], "--to"),
    ("to before from", GOOD_SHOP,
     [*IMPORT, "--from", "2026-11-22T00:00:00Z", "--to", "2026-11-21T00:00:00Z"], "--to"),
    ("empty range", GOOD_SHOP,
     [*IMPORT, "--from", "2026-11-22T00:00:00Z", "--to", "2026-11-22T00:00:00Z"], "--to"),
    ("from alone", GOOD_SHOP, [*IMPORT, "--from", "2026-11-22T00:00:00Z"], "--to"),
    ("since", GOOD_SHOP, ["failures", "--since", "last week"], "--since"),
    ("not a url", GOOD_SHOP.replace("http://127.0.0.1:9", "not a url"), IMPORT, "base_url"),
    ("ftp url", GOOD_SHOP.replace("http://127.0.0.1:9", "ftp://files.example"), IMPORT,
     "base_url"),
    ("huge window", GOOD_SHOP + "window_minutes = 99999999999999999999\n", IMPORT,
     "window_minutes"),
    ("zero page", GOOD_SHOP + "page_size = 0\n", IMPORT, "page_size"),
    ("unknown zone", GOOD_SHOP.replace("America/New_York", "Mars/Olympus"), IMPORT, "time_zone"),
    ("bad ttl", GOOD_SHOP + 'ttl = "60DAYS"\n', IMPORT, "ttl"),
    ("shop not a table", "shops.hc-demo = 5\n", IMPORT, "hc-demo"),
    ("not toml", "[shops.hc-demo\n", IMPORT, "TOML"),
    ("unknown shop", GOOD_SHOP, ["import", "--shop", "nope"], "nope"),
    ("missing token", GOOD_SHOP, ["import", "--shop", "hc-demo", "--from", "2026-11-21T00:00:00Z",
                                  "--to", "2026-11-22T00:00:00Z", "--no-env"], "HC_TOKEN"),
    # issue 18 A: nothing skipped without a word
    ("range in the future", GOOD_SHOP,
     [*IMPORT, "--from", "2027-06-01T00:00:00Z", "--to", "2027-06-02T00:00:00Z"], "settle lag"),
    ("range ending now", GOOD_SHOP,
     [*IMPORT, "--from", "2026-11-21T00:00:00Z", "--to", "2099-01-01T00:00:00Z"], "--to"),
    ("misspelt key", GOOD_SHOP.replace("time_zone", "time_zon"), IMPORT, "'time_zone'"),
    ("unknown key", GOOD_SHOP + "window_minute = 5\n", IMPORT, "did you mean 'window_minutes'"),
    ("retry unknown shop", GOOD_SHOP, ["retry", "--shop", "nope"], "nope"),
    ("failures unknown shop", GOOD_SHOP, ["failures", "--shop", "nope"], "nope"),
    ("negative poll", GOOD_SHOP, ["run", "--poll", "-1"], "--poll"),
    ("negative hours", GOOD_SHOP, ["reconcile", "--shop", "hc-demo", "--hours", "-5"], "--hours"),
    ("zero hours", GOOD_SHOP, ["reconcile", "--shop", "hc-demo", "--hours", "0"], "--hours"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("shops", "args", "named"),
    [(shops, args, named) for _, shops, args, named in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_an_error_naming_what_is_wrong(
    tmp_path: Path, shops: str, args: list[str], named: str
) -> None:
    shops_file = tmp_path / "shops.toml"
    shops_file.write_text(shops)
    env = {} if "--no-env" in args else {"HC_TOKEN": "shpat_test_token_1234"}
    args = [a for a in args if a != "--no-env"]
    result = CliRunner().invoke(
        main,
        ["--shops-file", str(shops_file), "--ledger", str(tmp_path / "l.sqlite3"), *args],
        env=env,
    )
    assert result.exit_code in (1, 2), result.output
    assert named in result.output, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert "shpat_test_token_1234" not in result.output


def test_a_time_without_zone_is_read_in_the_shops_zone_and_said_so(tmp_path: Path) -> None:
    shops_file = tmp_path / "shops.toml"
    shops_file.write_text(GOOD_SHOP)
    result = CliRunner().invoke(
        main,
        ["--shops-file", str(shops_file), "--ledger", str(tmp_path / "l.sqlite3"), *IMPORT,
         "--from", "2026-11-21T10:00:00", "--to", "2026-11-21T09:00:00"],
        env={"HC_TOKEN": "x" * 10},
    )  # fmt: skip
    assert "read in the shop's zone America/New_York, that is 2026-11-21T15:00:00+00:00" in (
        result.output
    )
    assert result.exit_code == 2 and "--to" in result.output


def test_a_damaged_ledger_is_one_clear_error_naming_the_file(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    ledger.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    result = CliRunner().invoke(main, ["--ledger", str(ledger), "failures"])
    assert result.exit_code == 1
    assert str(ledger) in result.output and "damaged" in result.output
    assert "Traceback" not in result.output


def test_every_option_of_every_command_says_what_it_is_for() -> None:
    undocumented = [
        f"{' '.join(path)} {param.opts[0]}"
        for path in [(), *all_commands(main)]
        for param in _command(path).params
        if isinstance(param, click.Option) and not param.help and param.name != "help"
    ]
    assert undocumented == []


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_version_is_printed() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("loginsights ")


def test_show_names_an_unknown_shop_instead_of_the_order(tmp_path: Path) -> None:
    """Issue 30: `show 1 --shop nope` said "no order '1'"."""
    result = CliRunner().invoke(
        main, ["--ledger", str(tmp_path / "l.sqlite3"), "show", "1", "--shop", "nope"]
    )
    assert result.exit_code == 1
    assert "no shop 'nope'" in result.output and "Traceback" not in result.output


def test_query_asks_for_the_fields_given_with_fl() -> None:
    from pipeline.query import documented_request

    assert documented_request("*:*", fl="shopifyOrderName,errorCode") == {
        "params": {"q": "*:*", "fl": "shopifyOrderName,errorCode"}
    }
    assert "fl" not in documented_request("*:*")["params"], "the documented request unchanged"


def test_failures_writes_times_with_their_zone_and_errors_whole(tmp_path: Path) -> None:
    """Issue 30: `failures` printed a time with no zone and cut the error text mid-word."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from pipeline.documents import failure_renderer
    from pipeline.ledger import Ledger
    from pipeline.models import ErrorCode, FailedAttempt, Platform

    ledger_path = tmp_path / "l.sqlite3"
    moment = datetime(2026, 12, 6, 0, 47, 57, tzinfo=UTC)
    message = ("Order #1001 (5500000000000) of shop hc-demo has no shipping address. Fix it in the "
               "Shopify admin, then re-import it with `loginsights reimport --shop hc-demo "
               "--order-id 5500000000000` afterwards")  # fmt: skip
    with Ledger(ledger_path) as ledger:
        ledger.record_failures(
            [FailedAttempt(platform=Platform.SHOPIFY, shop="hc-demo", order_id="5500000000000",
                           order_name="#1001", order_created_at=moment, attempted_at=moment,
                           error_message=message, error_code=ErrorCode.MISSING_ADDRESS)],
            render=failure_renderer("+60DAYS", ZoneInfo("UTC")),
        )  # fmt: skip
    result = CliRunner().invoke(main, ["--ledger", str(ledger_path), "failures"],
                                env={"COLUMNS": "120"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2026-12-05 19:47:57 EST" in result.output, "the console's zone, with its abbreviation"
    assert "afterwards" in result.output, "the error whole, wrapped, not cut"


def test_a_window_line_names_its_bounds_in_the_shops_zone() -> None:
    from datetime import UTC, datetime

    from pipeline.cli.imports import _window_line
    from pipeline.reports import WindowReport
    from pipeline.windows import ImportWindow

    window = ImportWindow(start=datetime(2026, 12, 5, 5, 0, tzinfo=UTC),
                          end=datetime(2026, 12, 5, 6, 0, tzinfo=UTC))  # fmt: skip
    line = _window_line(WindowReport(shop="hc-demo", window=window, seen=3, imported=3),
                        "America/New_York")  # fmt: skip
    assert line.startswith("hc-demo: 2026-12-05 00:00:00 EST to 2026-12-05 01:00:00 EST: 3 seen")
