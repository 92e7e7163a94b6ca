"""Failed logins cost time per client and overall, and nobody is locked out."""

from __future__ import annotations

import asyncio

from pipeline.console.throttle import LoginThrottle


def test_a_client_gets_a_few_tries_then_waits_for_the_next() -> None:
    now = [0.0]
    throttle = LoginThrottle(per_client=3, client_refill_seconds=10, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.failed("a")
    assert 9 < throttle.retry_after("a") <= 10
    assert throttle.retry_after("b") == 0, "another client is not held back"
    now[0] += 10
    assert throttle.retry_after("a") == 0, "one more try after the refill"


def test_a_flood_from_many_clients_slows_every_login_but_locks_out_none() -> None:
    now = [0.0]
    throttle = LoginThrottle(overall=10, overall_per_second=2, longest_wait=3, clock=lambda: now[0])
    assert throttle.overall_wait() == 0
    for n in range(40):
        throttle.failed(f"10.0.0.{n}")
    wait = throttle.overall_wait()
    assert 0 < wait <= 3, "bounded: a person with the right token still gets in"
    asyncio.run(throttle.wait_turn())
    now[0] += 60
    assert throttle.overall_wait() == 0
