"""The orders a simulated shop holds: generated deterministically from a seed.

Facts are platform-neutral (who bought what, when, shipped where); each simulator renders them in
its platform's JSON. Creation times keep microseconds, as real platforms store them, even where
an API shows only seconds: that is what makes the gaps of seed 002 reproducible.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.simulators.faults import Faults

FIRST_NAMES = ["Max", "Ana", "Liam", "Maya", "Noah", "Emma", "Omar", "Sofia", "Ivan", "Chloe"]
LAST_NAMES = ["Mustermann", "Garcia", "Smith", "Chen", "Kowalski", "Okafor", "Rossi", "Dubois"]
UNICODE_FIRST = ["Zoë", "李娜", "Søren", "Ana 🌸", "Ωmega", "José 🎉"]
UNICODE_NOTES = ["Bitte klingeln 🔔", "请放在门口", "Gift wrap 🎁 please", "Ça va? ✓"]
CITIES = [
    ("Burlington", "VT", "05408", "US"),
    ("Boston", "MA", "02108", "US"),
    ("Austin", "TX", "73301", "US"),
    ("Portland", "OR", "97201", "US"),
]
PRODUCTS = [
    ("701643632930", "Flat Front Pant", "99.00"),
    ("701643632931", "Oxford Shirt", "59.50"),
    ("701643632932", "Wool Scarf", "35.00"),
    ("701643632933", "Leather Belt", "45.25"),
]


@dataclass
class SimOrder:
    """One order at the simulated shop."""

    number: int
    created_at: datetime
    visible_at: datetime
    updated_at: datetime
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    address: dict[str, str] | None
    items: list[dict[str, Any]]
    note: str
    source: str = "web"
    fulfilled: bool = False
    cancelled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # a seed for statuses drawn from the platform's whole contract (pipeline.simulators.variety);
    # None: the plain live / fulfilled / cancelled an order has without the ``states`` fault
    vary: int | None = None
    # the platform's own words for this order, where a test chose them ("sfcc.status": "failed")
    states: dict[str, str | None] = field(default_factory=dict)


CHANGEABLE = frozenset({
    "first_name", "last_name", "email", "phone", "address", "items", "note", "source",
    "fulfilled", "cancelled", "extra", "states",
})  # fmt: skip


class OrderCatalog:
    """All orders of one shop, sorted by creation time; safe to change while serving."""

    def __init__(self, orders: list[SimOrder] | None = None) -> None:
        self._lock = threading.Lock()
        self._orders: list[SimOrder] = sorted(orders or [], key=lambda o: o.created_at)
        self._keys = [o.created_at for o in self._orders]
        self._by_number = {o.number: o for o in self._orders}

    @classmethod
    def generate(
        cls,
        count: int,
        *,
        seed: int = 1,
        start: datetime | None = None,
        end: datetime | None = None,
        faults: Faults | None = None,
    ) -> OrderCatalog:
        """``count`` orders created between start and end (default: the last 24 hours)."""
        rng = random.Random(seed)
        faults = faults or Faults()
        end = end or datetime.now(UTC)
        start = start or end - timedelta(hours=24)
        span = (end - start).total_seconds()
        offsets = sorted(rng.uniform(0, span) for _ in range(count))
        orders = [
            make_order(number, start + timedelta(seconds=offset), rng, faults)
            for number, offset in enumerate(offsets)
        ]
        return cls(orders)

    def orders(self) -> list[SimOrder]:
        with self._lock:
            return list(self._orders)

    def __len__(self) -> int:
        return len(self._orders)

    def created_between(
        self,
        low: datetime | None,
        high: datetime | None,
        *,
        high_inclusive: bool,
        now: datetime,
    ) -> list[SimOrder]:
        """Visible orders with low <= created_at and created_at < (or <=) high, oldest first."""
        return list(self.iter_created_between(low, high, high_inclusive=high_inclusive, now=now))

    def iter_created_between(
        self, low: datetime | None, high: datetime | None, *, high_inclusive: bool, now: datetime
    ) -> Iterator[SimOrder]:
        """As ``created_between``, lazily: a page of a long window reads only its page (the slice
        is copied under the lock, in C; orders are looked at one by one outside it)."""
        with self._lock:
            lo = 0 if low is None else bisect.bisect_left(self._keys, low)
            if high is None:
                hi = len(self._keys)
            elif high_inclusive:
                hi = bisect.bisect_right(self._keys, high)
            else:
                hi = bisect.bisect_left(self._keys, high)
            window = self._orders[lo:hi]
        return (o for o in window if o.visible_at <= now)

    def get(self, number: int, now: datetime) -> SimOrder | None:
        with self._lock:
            order = self._by_number.get(number)
        return order if order is not None and order.visible_at <= now else None

    def add(
        self, created_at: datetime, *, visible_at: datetime | None = None, **facts: Any
    ) -> SimOrder:
        """Place one more order (tests use this for orders at chosen instants)."""
        with self._lock:
            number = max(self._by_number, default=-1) + 1
            rng = random.Random(number)
            order = make_order(number, created_at, rng, Faults())
            order = replace(order, visible_at=visible_at or created_at, **facts)
            index = bisect.bisect_right(self._keys, created_at)
            self._orders.insert(index, order)
            self._keys.insert(index, created_at)
            self._by_number[number] = order
            return order

    def update(self, number: int, **changes: Any) -> SimOrder:
        """Change an order as a merchant would (fix an address, fulfil it); bumps updated_at.
        Only the order's own facts may change (``CHANGEABLE``); anything else is a ValueError."""
        unknown = sorted(set(changes) - CHANGEABLE)
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a fact of an order; change one of "
                             f"{sorted(CHANGEABLE)}")  # fmt: skip
        with self._lock:
            order = self._by_number[number]
            for name, value in changes.items():
                setattr(order, name, value)
            order.updated_at = max(datetime.now(UTC), order.updated_at + timedelta(seconds=1))
            return order


def make_order(number: int, created_at: datetime, rng: random.Random, faults: Faults) -> SimOrder:
    unicode_names = rng.random() < faults.unicode_share
    first = rng.choice(UNICODE_FIRST if unicode_names else FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    city, state, postal, country = rng.choice(CITIES)
    phone: str | None = f"+1617555{number % 10_000:04d}"
    email: str | None = f"customer{number}@example.com"
    if rng.random() < faults.bad_email_share:
        email = f"customer{number}@@example"
    if rng.random() < faults.missing_phone_share:
        phone = None
    address: dict[str, str] | None = {
        "first_name": first,
        "last_name": last,
        "address1": f"{10 + number % 90} Main Rd.",
        "city": city,
        "province_code": state,
        "zip": postal,
        "country_code": country,
    }
    if rng.random() < faults.missing_address_share:
        address = None
    late = rng.random() < faults.late_share
    visible_at = created_at + timedelta(seconds=faults.late_delay_seconds if late else 0)
    items = [
        {"sku": sku, "title": title, "price": price, "quantity": rng.randint(1, 3)}
        for sku, title, price in rng.sample(PRODUCTS, rng.randint(1, 2))
    ]
    note = rng.choice(UNICODE_NOTES) if unicode_names else ""
    if faults.many_lines_share and rng.random() < faults.many_lines_share:
        items = [
            {
                "sku": f"7016{number % 100_000:05d}{index:04d}",
                "title": f"Part {index} {rng.choice(['✓', 'Ω', '好', ''])}".strip(),
                "price": f"{rng.randint(1, 50_000) / 100:.2f}",
                "quantity": rng.randint(1, 5),
            }
            for index in range(rng.randint(21, 300))
        ]
    if faults.extremes_share and rng.random() < faults.extremes_share:
        items = [{**item, "price": "0.00"} for item in items]
        items[0] = {**items[0], "quantity": 0}
        note = ""
    vary = None
    if faults.states_share and rng.random() < faults.states_share:
        vary = rng.randrange(2**31)
    return SimOrder(
        number=number,
        created_at=created_at,
        visible_at=visible_at,
        updated_at=created_at,
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        address=address,
        items=items,
        note=note,
        source="pos" if rng.random() < 0.1 else "web",
        vary=vary,
    )


def total(order: SimOrder) -> str:
    cents = sum(round(float(i["price"]) * 100) * int(i["quantity"]) for i in order.items)
    return f"{cents / 100:.2f}"
