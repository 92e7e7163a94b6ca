"""Fair shares: how many of the fleet's shops each live worker should hold.

Every worker computes the same shares from the same facts (the live workers in the ledger, by
name), so nobody needs to hand out work: shops ÷ workers, the first ``shops mod workers`` by
name one more. Workers count each other only when they work the same shops (``shops_key``), so a
``run --shop …`` fleet apart from the rest shares its own shops among its own workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta


def fair_share(total: int, workers: Sequence[str], me: str) -> int:
    """``me``'s share of ``total`` shops among the live ``workers``, as every worker computes it:
    shops ÷ workers, one more for the first ``total mod workers`` by name."""
    names = sorted({*workers, me})
    base, extra = divmod(total, len(names))
    return base + (1 if names.index(me) < extra else 0)


def shops_key(names: Sequence[str]) -> str:
    """Which shops a worker works, as a short key: shares are counted among the workers with
    the same key (a ``run --shop …`` fleet apart from the rest shares its own shops)."""
    return hashlib.sha256("\n".join(sorted(set(names))).encode()).hexdigest()[:16]


class FreeSince:
    """Since when each shop beyond a worker's share has been seen free, at every look: a shop
    free for a whole lease period is taken beyond the share (rescued), since a worker elsewhere
    may work other shops than it says, and no shop goes unworked."""

    def __init__(self, lease: timedelta) -> None:
        self.lease = lease
        self._seen: dict[str, tuple[datetime, datetime]] = {}  # shop: (free since, last look)

    def free_for_a_lease(
        self, shops: Iterable[str], taken: set[str], *, now: datetime
    ) -> list[str]:
        """Look at ``shops`` (``taken``: those some worker holds); the ones free for a lease."""
        rescue = []
        for shop in shops:
            if shop in taken:
                self._seen.pop(shop, None)
                continue
            since, looked = self._seen.get(shop, (now, now))
            since = since if now - looked <= self.lease / 2 else now  # a gap starts it again
            self._seen[shop] = (since, now)
            if now - since >= self.lease:
                rescue.append(shop)
        return rescue

    def forget(self, shop: str) -> None:
        """The shop was taken here."""
        self._seen.pop(shop, None)


__all__ = ["FreeSince", "fair_share", "shops_key"]
