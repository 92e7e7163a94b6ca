"""Fair shares: how many of the fleet's shops each live worker should hold.

Every worker computes the same shares from the same facts (the live workers in the ledger, by
name), so nobody needs to hand out work: shops ÷ workers, the first ``shops mod workers`` by
name one more. Workers count each other only when they work the same shops (``shops_key``), so a
``run --shop …`` fleet apart from the rest shares its own shops among its own workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


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


__all__ = ["fair_share", "shops_key"]
