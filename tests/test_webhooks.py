"""The push path: webhooks believed only when signed, kept once, imported at once by id; the
windows and reconciliation still catch whatever a webhook lost."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from conftest import SolrUnderTest, select, served, simulator, wait_for, worker_for_sim
from pydantic import SecretStr

from pipeline.api import ApiMetrics, create_app
from pipeline.cli import main
from pipeline.errors import ConfigurationError, WebhookRefused
from pipeline.events import EventStream
from pipeline.ledger import Ledger
from pipeline.ledger.notices import NOT_FOUND_TRIES
from pipeline.models import Platform
from pipeline.reports import Arrival, OrderLatency, Outcome
from pipeline.runner import RunOptions, run_forever
from pipeline.settings import Settings
from pipeline.shops import ShopConfig
from pipeline.simulators import Faults, OrderCatalog, ShopifySimulator, ShoplazzaSimulator
from pipeline.webhooks import Delivery, WebhookInbox, WebhookShop, webhook_signature
from pipeline.wiring import Wiring

SECRET = "shpss_app_client_secret_0001"
DOMAIN = "hc-demo.myshopify.com"


def openssl_signature(secret: str, body: bytes) -> str:
    """The digest as an independent implementation computes it (openssl, not Python's hmac)."""
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret, "-binary"],
        input=body, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return base64.b64encode(digest).decode()


def delivery(
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    topic: str = "orders/create",
    domain: str = DOMAIN,
    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
) -> tuple[dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": openssl_signature(secret, raw),
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Triggered-At": "2026-12-02T10:00:00.123456789Z",
    }
    return headers, raw


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[WebhookInbox]:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        shop = WebhookShop("hc-demo", Platform.SHOPIFY, DOMAIN, SecretStr(SECRET))
        yield WebhookInbox(ledger, [shop])


# -- believing a delivery ----------------------------------------------------------------------


def test_the_signature_is_the_platforms_hmac_sha256_of_the_raw_body_in_base64() -> None:
    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    assert webhook_signature(SecretStr(SECRET), body) == openssl_signature(SECRET, body)


def test_a_signed_delivery_is_kept_once_and_a_redelivery_is_a_duplicate(
    inbox: WebhookInbox,
) -> None:
    headers, body = delivery({"id": 450789469, "created_at": "2026-12-02T10:00:00Z"})
    first = inbox.receive(Platform.SHOPIFY, headers, body)
    again = inbox.receive(Platform.SHOPIFY, headers, body)
    other_id = inbox.receive(Platform.SHOPIFY, {**headers, "X-Shopify-Webhook-Id": "2"}, body)
    assert (first.delivery, again.delivery) == (Delivery.NOTED, Delivery.DUPLICATE)
    assert first.shop == "hc-demo" and first.order_id == "450789469"
    assert other_id.delivery is Delivery.DUPLICATE, "the order is waiting already"
    pending = inbox.ledger.pending_notices("hc-demo")
    assert [row["order_id"] for row in pending] == ["450789469"]
    assert pending[0]["triggered_at"].startswith("2026-12-02T10:00:00.123456")


def test_a_delivery_says_how_late_the_platform_delivered_it(tmp_path: Path) -> None:
    """X-Shopify-Triggered-At is the event's moment: a delivery kept 12 s after it was late by
    12 s (its retries included); a duplicate says nothing, and neither does one without it."""
    triggered = datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=UTC)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        shop = WebhookShop("hc-demo", Platform.SHOPIFY, DOMAIN, SecretStr(SECRET))
        inbox = WebhookInbox(ledger, [shop], clock=lambda: triggered + timedelta(seconds=12))
        headers, body = delivery({"id": 450789469})
        kept = inbox.receive(Platform.SHOPIFY, headers, body)
        again = inbox.receive(Platform.SHOPIFY, headers, body)
        other_headers, other_body = delivery({"id": 450789470}, webhook_id="2")
        del other_headers["X-Shopify-Triggered-At"]
        other = inbox.receive(Platform.SHOPIFY, other_headers, other_body)
    assert kept.late_seconds == pytest.approx(12.0, abs=0.001)
    assert other.delivery is Delivery.NOTED
    assert again.late_seconds is None and other.late_seconds is None


def test_a_replay_of_an_imported_order_costs_a_query_not_a_platform_call(tmp_path: Path) -> None:
    with simulator(Platform.SHOPIFY, OrderCatalog()) as sim, Ledger(tmp_path / "l.db") as ledger:
        order_id = str(sim.render(sim.place_order())["id"])  # type: ignore[attr-defined]
        inbox = WebhookInbox(ledger, [WebhookShop("shop-a", Platform.SHOPIFY, DOMAIN,
                                                  SecretStr(SECRET))])  # fmt: skip
        headers, body = delivery({"id": int(order_id)})
        assert inbox.receive(Platform.SHOPIFY, headers, body).delivery is Delivery.NOTED
        worker_for_sim(sim, "shop-a", ledger, start=datetime.now(UTC)).import_noticed()
        calls = sim.calls
        for n in range(5):  # a captured delivery, sent again under new delivery ids
            replayed = {**headers, "X-Shopify-Webhook-Id": f"replay-{n}"}
            assert inbox.receive(Platform.SHOPIFY, replayed, body).delivery is Delivery.DUPLICATE
        assert ledger.pending_notices("shop-a") == [] and sim.calls == calls


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"secret": "shpss_another_app_secret"}, 401),
        ({"domain": "someone-else.myshopify.com"}, 401),
        ({"body": b"not json at all"}, 400),
        ({"body": {"name": "#1001"}}, 400),
        ({"body": {"id": "../../shop"}}, 400),
        ({"body": b"[" * 100_000}, 400),
        ({"body": b'{"id": 1e400}'}, 400),
        ({"body": {"id": -5}}, 400),
        ({"webhook_id": "x" * 5000}, 400),
    ],
    ids=[
        "wrong secret",
        "unknown shop",
        "not JSON",
        "no order id",
        "a path for an id",
        "nested past the parser",
        "a float for an id",
        "a negative id",
        "a delivery id no platform sends",
    ],  # fmt: skip
)
def test_a_delivery_that_is_not_believed_or_not_readable_keeps_nothing(
    inbox: WebhookInbox, change: dict[str, Any], status: int
) -> None:
    body = change.pop("body", {"id": 450789469})
    headers, raw = delivery(body, **change)
    with pytest.raises(WebhookRefused) as refused:
        inbox.receive(Platform.SHOPIFY, headers, raw)
    assert refused.value.status == status
    assert inbox.ledger.pending_notices("hc-demo") == []
    assert SECRET not in str(refused.value)


def test_a_tampered_body_is_refused(inbox: WebhookInbox) -> None:
    headers, body = delivery({"id": 450789469})
    with pytest.raises(WebhookRefused):
        inbox.receive(Platform.SHOPIFY, headers, body.replace(b"450789469", b"450789470"))


def test_a_topic_loginsights_does_not_import_from_is_answered_and_ignored(
    inbox: WebhookInbox,
) -> None:
    headers, body = delivery({"id": 450789469}, topic="products/update")
    assert inbox.receive(Platform.SHOPIFY, headers, body).delivery is Delivery.IGNORED
    assert inbox.ledger.pending_notices("hc-demo") == []


def test_sfcc_shops_cannot_ask_for_webhooks() -> None:
    with pytest.raises(ValueError, match="SFCC sends no order webhooks"):
        ShopConfig.model_validate(
            {"name": "eu", "platform": "sfcc", "base_url": "https://x.example.com",
             "webhook_secret_env": "EU_SECRET"}
        )  # fmt: skip


# -- importing what was announced --------------------------------------------------------------


def test_noticed_orders_are_imported_by_id_once_however_often_announced(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    with simulator(Platform.SHOPIFY, OrderCatalog()) as sim, Ledger(tmp_path / "l.db") as ledger:
        good = sim.place_order()
        flawed = sim.place_order(address=None)
        for number, deliveries in ((good.number, 3), (flawed.number, 2)):
            order_id = str(sim.render(sim.catalog.get(number, sim.now()))["id"])  # type: ignore[arg-type]
            for n in range(deliveries):
                now = datetime.now(UTC)
                ledger.note_webhook("shop-a", f"{number}-{n}", order_id=order_id,
                                    topic="orders/create", received_at=now)  # fmt: skip
        seen: list[tuple[str, Arrival, float]] = []

        class Latencies:
            def hear(self, event: object) -> None:
                if isinstance(event, OrderLatency):
                    seen.append((event.shop, event.arrival, event.seconds))

        worker = worker_for_sim(sim, "shop-a", ledger, start=start)
        worker.events = EventStream([Latencies()])
        report = worker.import_noticed()
        again = worker.import_noticed()
        calls = sim.calls
    assert (report.orders, report.imported, report.failed) == (2, 1, 1)
    assert again.orders == 0, "settled notices are not worked again"
    assert calls == 2, "one fetch by id per order, not per delivery"
    assert ledger.count_orders("shop-a") == 1 and len(ledger.failures("shop-a")) == 1
    assert ledger.pending_notices("shop-a") == []
    assert [(shop, arrival) for shop, arrival, _ in seen] == [("shop-a", Arrival.PUSH)] * 2
    assert all(0 <= seconds < 60 for _, _, seconds in seen)


def test_a_noticed_order_the_platform_does_not_show_yet_waits_then_is_left_to_the_windows(
    tmp_path: Path,
) -> None:
    with simulator(Platform.SHOPIFY, OrderCatalog()) as sim, Ledger(tmp_path / "l.db") as ledger:
        worker = worker_for_sim(sim, "shop-a", ledger, start=datetime.now(UTC))
        ledger.note_webhook("shop-a", "d-1", order_id="5999999", topic="orders/create",
                            received_at=datetime.now(UTC))  # fmt: skip
        reports = [worker.import_noticed() for _ in range(NOT_FOUND_TRIES)]
    assert [r.waiting for r in reports] == [1] * (NOT_FOUND_TRIES - 1) + [0]
    assert reports[-1].given_up == 1 and ledger.pending_notices("shop-a") == []


# -- end to end: a platform that delivers, serve that receives, run that imports ---------------


def shops_file(tmp_path: Path, sim: ShopifySimulator | ShoplazzaSimulator, **extra: object) -> Path:
    path = tmp_path / "shops.toml"
    platform = sim.platform
    lines = [
        f"[shops.{sim.shop}]",
        f'platform = "{platform}"',
        f'base_url = "{sim.url}"',
        'access_token_env = "SHOP_TOKEN"',
        'webhook_secret_env = "SHOP_WEBHOOK_SECRET"',
        f'shop_domain = "{sim.domain}"',
        f'start = "{(datetime.now(UTC) - timedelta(minutes=30)).isoformat()}"',
        "settle_lag_seconds = 1",
        "window_minutes = 60",
        *(f"{key} = {json.dumps(value)}" for key, value in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def push_path(
    tmp_path: Path, request: pytest.FixtureRequest, solr: SolrUnderTest
) -> Iterator[dict[str, Any]]:
    """A simulated shop that delivers webhooks, `serve` receiving them, `run` importing."""
    platform, faults, poll = request.param
    sim = simulator(platform, OrderCatalog(), Faults(**faults), webhook_secret=SECRET)
    assert isinstance(sim, ShopifySimulator | ShoplazzaSimulator)
    extra = {"api": "rest"} if platform is Platform.SHOPIFY else {}
    settings = Settings(
        shops_file=shops_file(tmp_path, sim, **extra), ledger_path=tmp_path / "ledger.db",
        solr_url=solr.url, state_dir=tmp_path / "state", webhook_max_body_bytes=4096,
        api_tokens=[SecretStr("t0ken-for-tests")],
    )  # fmt: skip
    environ = {"SHOP_TOKEN": sim.access_token, "SHOP_WEBHOOK_SECRET": SECRET}
    metrics, stop = ApiMetrics(), threading.Event()
    wiring = Wiring(settings, environ)
    app = create_app(settings, metrics=metrics, ledger=wiring.ledger,
                     webhooks=wiring.webhook_inbox())  # fmt: skip
    with served(app) as url:
        states = wiring.webhook_states(register_at=url)
        workers = wiring.workers([], stop=stop, events=EventStream([metrics]))
        options = RunOptions(poll_seconds=poll, notice_seconds=0.1, daily_reconciliation=False)
        thread = threading.Thread(
            target=run_forever, args=(workers, wiring.flusher),
            kwargs={"stop": stop, "options": options, "events": EventStream([metrics])},
            daemon=True,
        )  # fmt: skip
        thread.start()
        try:
            yield {"sim": sim, "ledger": wiring.ledger, "metrics": metrics, "url": url,
                   "states": states, "shop": sim.shop, "solr": solr}  # fmt: skip
        finally:
            stop.set()
            thread.join(timeout=30)
            sim.stop()
            wiring.close()


def latency_count(metrics: ApiMetrics, shop: str, arrival: Arrival) -> float:
    value = metrics.registry.get_sample_value(
        "loginsights_order_latency_seconds_count", {"shop": shop, "arrival": arrival.value}
    )
    return value or 0.0


def accounted(ledger: Ledger, shop: str) -> int:
    return ledger.count_orders(shop) + len(ledger.failures(shop))


@pytest.mark.slow
@pytest.mark.parametrize(
    "push_path",
    [
        (Platform.SHOPIFY, {"webhook_duplicate_share": 1.0, "webhook_delay_seconds": 0.3}, 3600),
        (Platform.SHOPLAZZA, {"webhook_duplicate_share": 1.0, "webhook_delay_seconds": 0.3}, 3600),
    ],
    ids=["shopify", "shoplazza"],
    indirect=True,
)
def test_pushed_orders_are_imported_within_seconds_with_no_poll_due(
    push_path: dict[str, Any],
) -> None:
    sim, ledger, shop = push_path["sim"], push_path["ledger"], push_path["shop"]
    assert push_path["states"][0].created_now and push_path["states"][0].subscribed
    assert wait_for(lambda: ledger.checkpoint(shop) is not None, seconds=20), "first poll pass"
    placed = [sim.place_order() for _ in range(4)] + [sim.place_order(address=None)]
    assert wait_for(lambda: accounted(ledger, shop) == len(placed), seconds=20)
    assert wait_for(sim.webhooks.idle, seconds=10)  # type: ignore[union-attr]
    assert ledger.count_orders(shop) == 4 and len(ledger.failures(shop)) == 1
    (failure,) = ledger.failures(shop)
    assert failure.attempts == 1, "a duplicate delivery records no second attempt"
    query = f'orderId:"{failure.order_id}" AND shop:"{shop}"'
    solr_url = push_path["solr"].url
    searchable = wait_for(
        lambda: select(solr_url, q=query)["response"]["numFound"] == 1, seconds=10
    )
    assert searchable, "the failure is searchable within seconds of being recorded"
    assert sim.webhooks.delivered > len(placed), "some were delivered twice"  # type: ignore[union-attr]
    metrics = push_path["metrics"]
    pushed = wait_for(lambda: latency_count(metrics, shop, Arrival.PUSH) == len(placed), seconds=10)
    assert pushed, "each order's latency is counted once, as arrived by push"
    assert metrics.registry.get_sample_value(
        "loginsights_webhooks_total", {"platform": sim.platform, "result": "duplicate"}
    ), "the redeliveries were seen as such"
    if sim.platform == Platform.SHOPIFY.value:  # Shopify says when the event happened
        late = metrics.registry.get_sample_value(
            "loginsights_webhook_delivery_delay_seconds_count", {"platform": sim.platform}
        )
        assert late == len(placed), "how late each kept delivery was (duplicates not counted)"


@pytest.mark.slow
@pytest.mark.parametrize(
    "push_path", [(Platform.SHOPIFY, {"webhook_drop_share": 1.0}, 1.0)], indirect=True
)
def test_an_order_whose_webhook_was_lost_is_imported_by_the_windows(
    push_path: dict[str, Any],
) -> None:
    sim, ledger, shop = push_path["sim"], push_path["ledger"], push_path["shop"]
    assert wait_for(lambda: ledger.checkpoint(shop) is not None, seconds=20), "first poll pass"
    order = sim.place_order()
    order_id = str(sim.render(order)["id"])  # type: ignore[attr-defined]
    assert wait_for(lambda: ledger.has_order(shop, order_id), seconds=30)
    assert sim.webhooks.dropped == 1 and ledger.pending_notices(shop) == []  # type: ignore[union-attr]
    # the latency is observed once the pass has flushed to Solr, a moment after the store
    polled = wait_for(
        lambda: latency_count(push_path["metrics"], shop, Arrival.POLL) >= 1, seconds=10
    )
    assert polled, "the order's latency is counted as arrived by poll"


@pytest.mark.slow
@pytest.mark.parametrize("push_path", [(Platform.SHOPIFY, {}, 3600)], indirect=True)
def test_the_webhook_endpoint_answers_what_it_refuses_in_solrs_error_shape(
    push_path: dict[str, Any],
) -> None:
    url, shop = push_path["url"], push_path["shop"]
    headers, body = delivery({"id": 1}, secret="not-the-secret", domain=f"{shop}.myshopify.com")
    forged = requests.post(f"{url}/webhooks/shopify", data=body, headers=headers, timeout=10)
    assert forged.status_code == 401 and "signature" in forged.json()["error"]["msg"]
    unknown = requests.post(f"{url}/webhooks/sfcc", data=b"{}", timeout=10)
    assert unknown.status_code == 404 and "webhook_secret_env" in unknown.json()["error"]["msg"]
    huge = requests.post(f"{url}/webhooks/shopify", data=b"x" * 5000, timeout=10)
    assert huge.status_code == 413
    assert push_path["ledger"].pending_notices(shop) == []
    signed_headers, signed = delivery(
        {"id": 77, "created_at": "2026-12-02T10:00:00Z"}, domain=f"{shop}.myshopify.com"
    )
    ok = requests.post(f"{url}/webhooks/shopify", data=signed, headers=signed_headers, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"delivery": "noted", "shop": shop,
                                                   "orderId": "77"}  # fmt: skip


# -- the CLI -----------------------------------------------------------------------------------


def test_register_wants_a_public_https_address(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["webhooks", "register", "--url", "http://example.com"])
    assert result.exit_code == 2 and "public https address" in result.output


def test_register_then_status_through_the_cli(tmp_path: Path) -> None:
    with simulator(Platform.SHOPIFY, OrderCatalog(), webhook_secret=SECRET) as sim:
        assert isinstance(sim, ShopifySimulator)
        env = {"SHOP_TOKEN": sim.access_token, "SHOP_WEBHOOK_SECRET": SECRET,
               "LOGINSIGHTS_SHOPS_FILE": str(shops_file(tmp_path, sim)),
               "LOGINSIGHTS_LEDGER_PATH": str(tmp_path / "l.db")}  # fmt: skip
        runner = CliRunner()
        address = "https://loginsights.example.com"
        made = runner.invoke(main, ["webhooks", "register", "--url", address, "--json"], env=env)
        twice = runner.invoke(main, ["webhooks", "register", "--url", address, "--json"], env=env)
        status = runner.invoke(main, ["webhooks", "status"], env=env)
    assert made.exit_code == 0, made.output
    (state,) = json.loads(made.output)
    assert state["createdNow"] and state["subscribed"] == [f"{address}/webhooks/shopify"]
    assert not json.loads(twice.output)[0]["createdNow"], "registering again changes nothing"
    assert len(sim.webhooks.subscriptions) == 1  # type: ignore[union-attr]
    assert "0 notices waiting; last delivery received never" in status.output


def test_status_without_webhook_shops_says_how_to_have_one(tmp_path: Path) -> None:
    path = tmp_path / "shops.toml"
    path.write_text('[shops.a]\nplatform = "shopify"\nbase_url = "https://a.myshopify.com"\n')
    settings = Settings(shops_file=path, ledger_path=tmp_path / "l.db")
    with pytest.raises(ConfigurationError, match="webhook_secret_env"):
        Wiring(settings, {}).webhook_states()


def test_outcomes_of_noticed_orders_are_the_intakes(tmp_path: Path) -> None:
    """A notice is settled with the outcome words the rest of loginsights uses."""
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.note_webhook("a", "1", order_id="9", topic="orders/create",
                            received_at=datetime.now(UTC))  # fmt: skip
        ledger.settle_notices("a", ["1"], Outcome.IMPORTED.value)
        summary = ledger.notice_summary()
    assert summary["a"]["pending"] == 0 and summary["a"]["last_received_at"]


def test_a_simulated_shop_delivers_signed_webhooks_as_the_platform_documents(
    tmp_path: Path,
) -> None:
    """The simulator's deliveries, checked with openssl against Shopify's documented headers."""
    import http.server

    got: list[tuple[dict[str, str], bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(500 if len(got) == 1 else 200)  # the first try fails: retried
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        with simulator(Platform.SHOPIFY, OrderCatalog(), webhook_secret=SECRET) as sim:
            assert sim.webhooks is not None
            sim.webhooks.subscribe("orders/create", f"http://127.0.0.1:{receiver.server_port}/")
            placed = requests.post(f"{sim.url}/_sim/place", json={"address": None}, timeout=5)
            assert wait_for(lambda: sim.webhooks.delivered == 1, seconds=10)  # type: ignore[union-attr]
    finally:
        receiver.shutdown()
    assert placed.status_code == 200 and len(got) == 2, "a failed delivery is delivered again"
    (first_headers, first), (headers, body) = got
    assert (
        first == body and first_headers["x-shopify-webhook-id"] == headers["x-shopify-webhook-id"]
    )
    assert headers["x-shopify-topic"] == "orders/create"
    assert headers["x-shopify-shop-domain"] == "hc-demo.myshopify.com"
    assert headers["x-shopify-hmac-sha256"] == openssl_signature(SECRET, body)
    assert json.loads(body)["shipping_address"] is None


# -- issue 27: where Shoplazza's published sources disagree, both readings are accepted -------


@pytest.mark.parametrize("registration", ["envelope", "bare"])
def test_a_shoplazza_subscription_is_made_whichever_body_the_shop_takes(registration: str) -> None:
    from conftest import fast_transport

    from pipeline.sources.shoplazza import ShoplazzaSource
    from pipeline.sources.subscriptions import ShoplazzaSubscriptions, ensure_subscribed

    catalog = OrderCatalog.generate(0, seed=1)
    with ShoplazzaSimulator(
        catalog, webhook_secret=SECRET, registration=registration
    ).start() as sim:
        source = ShoplazzaSource(
            "lazza", sim.url, SecretStr(sim.access_token), transport=fast_transport("lazza")
        )
        made, new = ensure_subscribed(ShoplazzaSubscriptions(source), "https://li.example/wh")
        assert new and made.uri == "https://li.example/wh" and made.topic == "orders/create"
        again, new_again = ensure_subscribed(
            ShoplazzaSubscriptions(source), "https://li.example/wh"
        )
        assert not new_again and again.id == made.id


@pytest.mark.parametrize("named", ["lazza.myshoplaza.com", "shop.lazza-store.example"])
def test_a_shoplazza_delivery_may_name_the_api_host_or_the_storefront(
    named: str, tmp_path: Path
) -> None:
    from pipeline.shops import ShopConfig

    config = ShopConfig.model_validate(
        {"name": "lazza", "platform": "shoplazza", "base_url": "https://lazza.myshoplaza.com",
         "shop_domain": "shop.lazza-store.example"}
    )  # fmt: skip
    body = json.dumps({"id": "1580000000000000000"}).encode()
    headers = {
        "X-Shoplazza-Hmac-Sha256": openssl_signature(SECRET, body),
        "X-Shoplazza-Topic": "orders/create",
        "X-Shoplazza-Shop-Domain": named,
        "X-Shoplazza-Deduplication-ID": "d-1",
    }
    with Ledger(tmp_path / "l.db") as ledger:
        shop = WebhookShop(
            "lazza", Platform.SHOPLAZZA, config.domain, SecretStr(SECRET), aliases=config.domains
        )
        received = WebhookInbox(ledger, [shop]).receive(Platform.SHOPLAZZA, headers, body)
    assert received.shop == "lazza" and received.order_id == "1580000000000000000"
