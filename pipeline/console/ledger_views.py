"""What the console shows from the ledger: each shop's freshness and the reconciliation reports,
grouped per shop and day. Plain functions of the ledger, so the pages stay thin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.ledger import Ledger
from pipeline.shop_lag import duration_words, shop_lag_report


def shop_health(ledger: Ledger | None) -> list[dict[str, Any]]:
    """Each imported shop's checkpoint, lag and last reconciliation (``shop_lag_report``'s view)."""
    if ledger is None:
        return []
    rows = []
    for row in shop_lag_report(ledger, [], now=datetime.now(UTC)):
        if row["checkpoint"] is None:
            continue
        last = ledger.last_reconciliation_at(row["shop"])
        rows.append(
            {
                "shop": row["shop"],
                "checkpoint": datetime.fromisoformat(row["checkpoint"]).isoformat(
                    timespec="seconds"
                ),
                "lag": duration_words(row["lagSeconds"]),
                "waited": _waited(row["latencyP50Seconds"], row["latencyP99Seconds"]),
                "reconciled": last.isoformat(timespec="seconds") if last else None,
            }
        )
    return rows


def reconciliation_reports(ledger: Ledger | None) -> list[dict[str, Any]]:
    if ledger is None:
        return []
    reports = []
    for shop in sorted(ledger.checkpoints()):
        reports.extend(reversed(ledger.reconciliations(shop)))
    return reports


def report_groups(ledger: Ledger | None) -> list[dict[str, Any]]:
    """Reports grouped per shop and day (a day reconciled twice shows its latest run and how
    many ran), newest first; each order says whether its failure has been resolved since."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for report in reconciliation_reports(ledger):
        key = (str(report["shop"]), str(report["window_end"])[:10])
        group = groups.setdefault(key, {"shop": key[0], "day": key[1], "runs": 0, "latest": None})
        group["runs"] += 1
        if group["latest"] is None or str(report.get("ran_at", "")) > str(
            group["latest"].get("ran_at", "")
        ):
            group["latest"] = report
    for group in groups.values():
        for order in group["latest"].get("orders") or []:
            failure = ledger.failure(group["shop"], str(order["order_id"])) if ledger else None
            order["resolved_at"] = (
                failure.resolved_at.isoformat() if failure and failure.resolved_at else None
            )
    return sorted(groups.values(), key=lambda g: (g["day"], g["shop"]), reverse=True)


def _waited(p50: float | None, p99: float | None) -> str:
    """How long the last hour's orders waited from creation to stored (or failure recorded),
    in words a person reads without a tooltip."""
    if p50 is None or p99 is None:
        return "no orders in the last hour"
    return (
        f"orders waited: half under {duration_words(p50)}, 99 in 100 under "
        f"{duration_words(p99)} (last hour)"
    )


__all__ = ["reconciliation_reports", "report_groups", "shop_health"]
