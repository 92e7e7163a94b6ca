"""Every logInsights document, rendered in one place from the ledger's facts.

The ledger keeps the facts of a failing order (first attempt, attempt count, last error, a
strictly increasing version, whether and when it was resolved) and of a reconciliation; this
module turns them into what Solr stores. Nothing else builds a document, and nothing reads Solr
back to learn what the ledger knows.

Failure documents carry seed 000's eleven fields (returned by default) and extras for searching.
A resolved failure keeps its document until it expires; its ``errorMessage`` begins ``Resolved
<when> after N attempts:`` so that whoever sends only seed 000's request (and sees only the
documented fields) can tell it from an outstanding one. ``timestamp`` and ``expire_at`` are
stamped by Solr's update chain, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pipeline.models import (
    DocType,
    FailedAttempt,
    RenderFailure,
    human_time,
    log_document_id,
    redact_url,
    solr_time,
)

if TYPE_CHECKING:
    from pipeline.reports import ReconciliationReport


RETRY_ADVICE = re.compile(r"[,;.]?\s*(?:[Tt]hen\s+)?re-import it with `[^`]*`\.?\s*$")


def failure_renderer(ttl: str | Callable[[DocType], str], zone: ZoneInfo) -> RenderFailure:
    """``failure_document`` with a deployment's (or a shop's) ttl and zone bound: what the ledger
    is handed to render the documents it queues."""

    def render(
        attempt: FailedAttempt,
        *,
        version: int,
        first_attempted_at: datetime | None = None,
        attempts: int = 1,
        resolved_at: datetime | None = None,
    ) -> dict[str, Any]:
        return failure_document(
            attempt,
            ttl=ttl if isinstance(ttl, str) else ttl(attempt.doc_type),
            zone=zone,
            version=version,
            first_attempted_at=first_attempted_at,
            attempts=attempts,
            resolved_at=resolved_at,
        )

    return render


def failure_document(
    attempt: FailedAttempt,
    *,
    ttl: str,
    zone: ZoneInfo,
    version: int,
    first_attempted_at: datetime | None = None,
    attempts: int = 1,
    resolved_at: datetime | None = None,
) -> dict[str, Any]:
    """The document of a failing (or, with ``resolved_at``, a resolved) order."""
    first = first_attempted_at or attempt.attempted_at
    message = attempt.error_message
    if resolved_at is not None:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        message = RETRY_ADVICE.sub("", message)  # done: no "re-import it with …" any more
        message = f"Resolved {human_time(resolved_at, zone)} after {tries}: {message}"
    return {
        "site": attempt.site,
        "shopifyOrderName": attempt.order_name,
        "orderCreatedDate": str(int(attempt.order_created_at.timestamp() * 1000)),
        "firstAttemptedImport": human_time(first, zone),
        "docType": attempt.doc_type.value,
        "ttl": attempt.ttl or ttl,
        "errorMessage": message,
        "document-id": attempt.document_id,
        "version": version,
        "platform": attempt.platform.value,
        "shop": attempt.shop,
        "orderId": attempt.order_id,
        "orderName": attempt.order_name,
        "orderCreatedAt": solr_time(attempt.order_created_at),
        "firstAttemptedAt": solr_time(first),
        "attempts": attempts,
        "errorCode": attempt.error_code.value,
        "resolved": resolved_at is not None,
        **({"resolvedAt": solr_time(resolved_at)} if resolved_at is not None else {}),
    }


def reconciliation_document(
    report: ReconciliationReport, *, site: str, ttl: str, version: int
) -> dict[str, Any]:
    """One document per shop and span; a rerun of the same span replaces it."""
    reasons = report.by_reason()
    return {
        "document-id": log_document_id(
            DocType.RECONCILIATION, report.shop, solr_time(report.window_start)
        ),
        "docType": DocType.RECONCILIATION.value,
        "site": redact_url(site),
        "ttl": ttl,
        "errorMessage": report.summary(),
        "version": version,
        "platform": report.platform,
        "shop": report.shop,
        "windowStart": solr_time(report.window_start),
        "windowEnd": solr_time(report.window_end),
        "countAtSource": report.at_source,
        "countAlreadyImported": report.already_imported,
        "countImportedNow": report.imported_now,
        "countFailedNow": report.failed_now,
        "countCancelledAtPlatformOnly": reasons["cancelled_at_platform_open_in_store"],
        "countCancelledInStoreOnly": reasons["cancelled_in_store_open_at_platform"],
        "countExcluded": report.excluded,
    }


__all__ = ["failure_renderer", "failure_document", "reconciliation_document"]
