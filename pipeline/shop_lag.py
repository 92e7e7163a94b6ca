"""How fresh each shop is: the worker holding it, its checkpoint and how far that is behind now,
any problem that keeps it from being worked, and how long its orders of the last hour waited
from creation to stored (or their failure recorded). Read from the ledger alone, so `loginsights
shops`, the console and `/metrics` tell the same story whichever process asks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pipeline.ledger import Ledger

LATENCY_SPAN = timedelta(hours=1)  # the orders whose wait the shop table sums up


def percentile(values: Sequence[float], share: float) -> float | None:
    """The value below which ``share`` of ``values`` fall (nearest rank); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def shop_lag_report(
    ledger: Ledger, shop_names: Sequence[str], *, now: datetime
) -> list[dict[str, Any]]:
    """Each shop with the worker holding it (if any) and how far its checkpoint is behind now."""
    leases = {row["shop"]: row for row in ledger.leases(now=now)}
    checkpoints = ledger.checkpoints()
    problems = ledger.shop_problems()
    waited = ledger.import_latencies(now - LATENCY_SPAN)
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
                "latencyP50Seconds": percentile(waited.get(shop, []), 0.5),
                "latencyP99Seconds": percentile(waited.get(shop, []), 0.99),
            }
        )
    return rows


def duration_words(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: one way to write a duration."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def worker_report(ledger: Ledger, *, now: datetime) -> list[dict[str, Any]]:
    """Each live worker with its share and its load: shops held (by the leases), its fair share,
    passes and notice passes a minute, CPU (a share of one core), since when it runs, and
    whether it holds a life lock (its death is seen at once, not when its leases lapse)."""
    held: dict[str, int] = {}
    for row in ledger.leases(now=now):
        held[row["worker"]] = held.get(row["worker"], 0) + 1
    return [
        {
            "worker": row["worker"],
            "startedAt": row["started_at"],
            "seenAt": row["seen_at"],
            "shopsHeld": held.get(row["worker"], 0),
            "share": row["target"],
            "passesPerMinute": round(float(row["passes_per_minute"]), 1),
            "noticesPerMinute": round(float(row["notices_per_minute"]), 1),
            "cpuShare": round(float(row["cpu_share"]), 3),
            "lifeLock": row["alive_lock"] is not None,
        }
        for row in ledger.live_workers(now=now)
    ]


def fleet_health(ledger: Ledger, *, now: datetime) -> dict[str, Any]:
    """What the fleet's alerts watch, from the ledger at one moment (each `/metrics` scrape):
    live workers, shops no live worker holds, each shop's checkpoint age, the outbox's oldest
    waiting document, webhook notices waiting or given up, notifications not yet sent."""
    leases = {row["shop"]: row for row in ledger.leases(now=now)}
    live = {
        shop: row["worker"]
        for shop, row in leases.items()
        if datetime.fromisoformat(row["expires_at"]) > now
    }
    checkpoints = ledger.checkpoints()
    problems = ledger.shop_problems()
    shops = set(checkpoints) | set(leases)
    oldest = ledger.outbox_oldest()
    notices = ledger.notice_health(now - timedelta(days=1))
    return {
        "workersLive": len(set(live.values())),
        "shopsUnheld": sorted(shop for shop in shops - set(live) if shop not in problems),
        "checkpointAge": {shop: (now - at).total_seconds() for shop, at in checkpoints.items()},
        "outboxOldestSeconds": (now - oldest).total_seconds() if oldest else 0.0,
        "notices": {
            shop: {
                "pending": int(str(row["pending"] or 0)),
                "oldestSeconds": (now - datetime.fromisoformat(str(row["oldest"]))).total_seconds()
                if row["oldest"]
                else 0.0,
                "givenUp": int(str(row["given_up"] or 0)),
            }
            for shop, row in notices.items()
        },
        "notificationsWaiting": ledger.notification_counts()[0],
        "workers": worker_report(ledger, now=now),
    }


__all__ = [
    "LATENCY_SPAN",
    "duration_words",
    "fleet_health",
    "percentile",
    "shop_lag_report",
    "worker_report",
]
