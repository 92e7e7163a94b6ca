"""Orders stored wrong before loginsights knew better are found, read again and corrected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import fast_transport, past_day, simulator, worker_for_sim
from pydantic import SecretStr

from pipeline.corrections import audit
from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.orders import OrderStatus, to_order
from pipeline.shops import ShopConfig
from pipeline.simulators import OrderCatalog, SfccSimulator, ShopifySimulator
from pipeline.sources.shopify_graphql import ShopifyGraphQLSource


def store_as_before(ledger: Ledger, context: ShopContext, raw: dict) -> None:  # type: ignore[type-arg]
    """Store a payload the way an earlier loginsights did (status taken as it came)."""
    order = to_order(context.source.platform, context.shop.name, raw)
    ledger.store_orders([(order, raw)], render=context.render)


def test_an_order_stored_with_its_first_20_line_items_is_read_again_whole(
    tmp_path: Path,
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(2, seed=1, start=start, end=end)
    items = [{"sku": f"S{n}", "title": "Part", "price": "2.00", "quantity": 1} for n in range(25)]
    long = catalog.add(start + timedelta(minutes=3), items=items)
    with simulator(Platform.SHOPIFY, catalog) as sim, Ledger(tmp_path / "l.db") as ledger:
        assert isinstance(sim, ShopifySimulator)
        config = ShopConfig.model_validate(
            {"name": "s", "platform": "shopify", "base_url": sim.url, "start": start}
        )
        source = ShopifyGraphQLSource(
            "s", sim.url, SecretStr(sim.access_token), transport=fast_transport("s")
        )
        context = ShopContext(config, source, ledger)
        cut = sim.render_graphql(long)
        cut["lineItems"] = {"nodes": cut["lineItems"]["nodes"][:20]}  # no pageInfo: as before
        store_as_before(ledger, context, cut)
        for other in catalog.created_between(None, None, high_inclusive=True, now=end):
            if other.number != long.number:
                store_as_before(ledger, context, sim.render_graphql(other))

        found = audit(context)
        assert [(c.kind, c.done) for c in found.corrections] == [("cut", "not corrected yet")]
        fixed = audit(context, fix=True)
        order_id = str(5_500_000_000_000 + long.number)
        assert [c.order_id for c in fixed.corrections] == [order_id]
        assert "all 25 line items (version 1: 20)" in fixed.corrections[0].done
        versions = ledger.order_versions("s", order_id)
        assert [v["status"] for v in versions] == ["cancelled", "created"]
        whole = to_order(Platform.SHOPIFY, "s", json.loads(versions[-1]["payload"]))
        assert len(whole.line_items) == 25
        assert audit(context).corrections == [], "corrected once, found no more"
        assert found.examined == 3 and "1 stored with their line items cut" in found.summary()


def test_an_order_taken_live_though_its_payment_failed_is_withdrawn_and_waits(
    tmp_path: Path,
) -> None:
    start, end = past_day(hours=1)
    catalog = OrderCatalog.generate(1, seed=2, start=start, end=end)
    failed = catalog.add(start + timedelta(minutes=3), states={"sfcc.status": "failed"})
    now = [datetime.now(UTC)]
    with (
        simulator(Platform.SFCC, catalog) as sim,
        Ledger(tmp_path / "l.db", clock=lambda: now[0]) as ledger,
    ):
        assert isinstance(sim, SfccSimulator)
        worker = worker_for_sim(sim, "s", ledger, start=start)
        context = worker.context
        store_as_before(ledger, context, sim.render(failed))
        number = f"{failed.number + 1:08d}"
        assert ledger.latest_orders("s")[0]["status"] == OrderStatus.CREATED.value

        fixed = audit(context, fix=True)
        assert [(c.kind, c.found) for c in fixed.corrections] == [
            ("taken live", "stored as created though status=failed")
        ]
        versions = ledger.order_versions("s", number)
        assert versions[-1]["status"] == "cancelled"
        assert "withdrawn: payment_failed" in json.loads(versions[-1]["tags"])
        assert ledger.waiting_reasons("s") == {number: "payment_failed"}

        catalog.update(failed.number, states={"sfcc.status": "new"})  # the shopper paid again
        now[0] += timedelta(hours=2)
        looked = worker.look_again()
        assert looked.imported == 1
        assert ledger.order_versions("s", number)[-1]["status"] == "created"
        assert ledger.waiting_reasons("s") == {}
