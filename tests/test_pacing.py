"""Pacing by the platform's own budget: a steady import never meets a 429."""

from __future__ import annotations

import pytest
from conftest import past_day, simulator
from pydantic import SecretStr

from pipeline.models import Platform
from pipeline.simulators import OrderCatalog
from pipeline.sources.pacing import SHOPIFY_CALL_LIMIT, LeakyBucket, LoadShedding
from pipeline.sources.shopify import ShopifySource
from pipeline.sources.transport import ShopTransport, action_for
from pipeline.windows import ImportWindow


class FakeTime:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_leaky_bucket_spends_its_room_then_goes_at_the_leak_rate() -> None:
    time = FakeTime()
    bucket = LeakyBucket(40, 2.0, margin=2, clock=time.clock, sleep=time.sleep)
    for _ in range(38):
        bucket.before_call()
    assert time.slept == [], "a full bucket's room is used at once"
    for _ in range(10):
        bucket.before_call()
    assert abs(time.now - 10 / 2.0) < 1e-9, "then two calls a second"


def test_the_platforms_header_corrects_the_bucket_and_its_plan() -> None:
    time = FakeTime()
    bucket = LeakyBucket(40, 2.0, header=SHOPIFY_CALL_LIMIT, clock=time.clock, sleep=time.sleep)
    bucket.after_response(200, {SHOPIFY_CALL_LIMIT: "39/40"})
    bucket.before_call()
    assert time.slept, "the platform says the bucket is nearly full: wait"
    bucket.after_response(200, {SHOPIFY_CALL_LIMIT: "1/400"})
    assert (bucket.size, bucket.leak) == (400, 20), "a Plus shop's bucket leaks 20 a second"


def test_sfcc_load_shedding_halves_the_pace_and_it_recovers() -> None:
    time = FakeTime()
    pace = LoadShedding(10.0, clock=time.clock, sleep=time.sleep)
    pace.after_response(503, {"sfdc_load_status": "THROTTLE"})
    assert pace.rate == 5.0
    for _ in range(60):
        pace.after_response(200, {})
    assert pace.rate == 10.0
    assert action_for(503, {"sfdc_load_status": "THROTTLE"}).value == "rate_limited"
    assert action_for(503, {}).value == "retry"


@pytest.mark.slow
def test_a_default_bucket_shop_gets_no_429_over_2000_orders(shop: str) -> None:
    start, end = past_day(hours=4)
    catalog = OrderCatalog.generate(2000, seed=5, start=start, end=end)
    with simulator(Platform.SHOPIFY, catalog, bucket_size=40, leak_rate=2.0) as sim:
        transport = ShopTransport(
            shop,
            budget=LeakyBucket(40, 2.0, header=SHOPIFY_CALL_LIMIT),
        )
        source = ShopifySource(
            shop, sim.url, SecretStr(sim.access_token), page_size=25, transport=transport
        )
        orders = list(source.list_orders(ImportWindow(start=start, end=end)))
    assert len(orders) == 2000
    assert transport.calls >= 80 and transport.rate_limited == 0, "paced, never throttled"
