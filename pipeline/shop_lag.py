"""How fresh each shop is: the worker holding it, its checkpoint and how far that is behind now,
and any problem that keeps it from being worked. Read from the ledger alone, so `loginsights
shops`, the console and `/metrics` tell the same story whichever process asks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pipeline.ledger import Ledger


def shop_lag_report(
    ledger: Ledger, shop_names: Sequence[str], *, now: datetime
) -> list[dict[str, Any]]:
    """Each shop with the worker holding it (if any) and how far its checkpoint is behind now."""
    leases = {row["shop"]: row for row in ledger.leases(now=now)}
    checkpoints = ledger.checkpoints()
    problems = ledger.shop_problems()
    rows = []
    for shop in sorted(set(shop_names) | set(checkpoints) | set(leases) | set(problems)):
        lease, checkpoint = leases.get(shop), checkpoints.get(shop)
        live = lease is not None and datetime.fromisoformat(lease["expires_at"]) > now
        rows.append(
            {
                "shop": shop,
                "worker": lease["worker"] if live and lease else None,
                "leaseExpiresAt": lease["expires_at"] if live and lease else None,
                "checkpoint": checkpoint.isoformat() if checkpoint else None,
                "lagSeconds": (now - checkpoint).total_seconds() if checkpoint else None,
                "problem": problems[shop]["problem"] if shop in problems else None,
            }
        )
    return rows


__all__ = ["shop_lag_report"]
