"""What a failed attempt is, and how its log document looks (seed 000's formats)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from pipeline.documents import failure_document
from pipeline.models import (
    LOG_DOCUMENT_FIELDS,
    DocType,
    FailedAttempt,
    Platform,
    human_time,
    log_document_id,
    next_version,
    redact_url,
    validate_ttl,
)

NEW_YORK = ZoneInfo("America/New_York")


def attempt(**changes: object) -> FailedAttempt:
    values: dict[str, object] = {
        "platform": Platform.SHOPIFY,
        "shop": "hc-demo",
        "order_id": "5512345678901",
        "order_name": "#10101011010",
        "order_created_at": datetime.fromtimestamp(1704335862, UTC),
        "attempted_at": datetime(2024, 1, 4, 3, 15, 12, tzinfo=UTC),
        "error_message": "Service [createShopifyOrder] target threw an unexpected exception (null)",
        "site": "https://hc-demo.myshopify.com/83950764316/orders/e218e7d5/authenticate?key=abc",
    }
    values.update(changes)
    return FailedAttempt.model_validate(values)


def test_first_attempted_import_reads_like_seed_000_in_new_york_time() -> None:
    assert human_time(datetime(2024, 1, 4, 3, 15, 12, tzinfo=UTC), NEW_YORK) == (
        "January 3, 2024 10:15:12 PM"
    )
    assert human_time(datetime(2024, 7, 1, 13, 5, 9, tzinfo=UTC), NEW_YORK) == (
        "July 1, 2024 9:05:09 AM"
    )


def test_log_document_has_the_documented_fields_in_their_formats() -> None:
    doc = failure_document(attempt(), ttl="+60DAYS", zone=NEW_YORK, version=17234167832143)
    assert set(LOG_DOCUMENT_FIELDS) - {"timestamp", "expire_at"} <= set(doc)
    assert "timestamp" not in doc and "expire_at" not in doc, "Solr stamps these itself"
    assert doc["orderCreatedDate"] == "1704335862000"
    assert doc["firstAttemptedImport"] == "January 3, 2024 10:15:12 PM"
    assert doc["docType"] == "SHOPIFY_ORDER"
    assert doc["shopifyOrderName"] == "#10101011010"
    assert doc["ttl"] == "+60DAYS"
    assert doc["version"] == 17234167832143


def test_site_keeps_the_shop_and_order_but_empties_the_key() -> None:
    doc = failure_document(attempt(), ttl="+60DAYS", zone=NEW_YORK, version=1)
    assert (
        doc["site"] == "https://hc-demo.myshopify.com/83950764316/orders/e218e7d5/authenticate?key="
    )
    assert "abc" not in str(doc)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://s.example/o?key=SECRET&x=1", "https://s.example/o?key=&x=1"),
        ("https://u:pw@s.example/o?access_token=SECRET", "https://s.example/o?access_token="),
        (
            "https://s.example/o?client_secret=SECRET&siteId=A",
            "https://s.example/o?client_secret=&siteId=A",
        ),
        ("https://s.example/o", "https://s.example/o"),
    ],
)
def test_secrets_are_emptied_from_urls(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert "SECRET" not in redact_url(url) and "pw" not in redact_url(url)


def test_the_same_order_always_has_the_same_document_id() -> None:
    first = log_document_id(DocType.SHOPIFY_ORDER, "hc-demo", "1")
    assert first == log_document_id(DocType.SHOPIFY_ORDER, "hc-demo", "1")
    assert first != log_document_id(DocType.SHOPIFY_ORDER, "hc-demo", "2")
    assert first != log_document_id(DocType.SHOPIFY_ORDER, "other-shop", "1")
    assert first != log_document_id(DocType.SFCC_ORDER, "hc-demo", "1")


def test_doc_type_follows_the_platform() -> None:
    assert attempt(platform="shoplazza").doc_type is DocType.SHOPLAZZA_ORDER
    assert attempt(platform="sfcc").doc_type is DocType.SFCC_ORDER


@pytest.mark.parametrize("ttl", ["+60DAYS", "+1HOUR", "+5SECONDS", "+1DAY/DAY", "+1MONTH+2DAYS"])
def test_solr_date_math_ttls_are_accepted(ttl: str) -> None:
    assert validate_ttl(ttl) == ttl


@pytest.mark.parametrize("ttl", ["60DAYS", "+60", "60 days", "+60FORTNIGHTS", "-1DAY", ""])
def test_malformed_ttls_are_refused_with_the_fix_in_the_message(ttl: str) -> None:
    with pytest.raises(ValidationError, match=r"write it as a plus sign.*'\+60DAYS'"):
        attempt(ttl=ttl)


def test_versions_strictly_increase_even_when_the_clock_does_not() -> None:
    now = datetime.now(UTC)
    first = next_version(None, now)
    assert next_version(first, now) == first + 1
    assert next_version(first, now - timedelta(days=1)) == first + 1
    assert next_version(first, now + timedelta(seconds=1)) > first


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        attempt(order_created_at=datetime(2024, 1, 1))


def test_unicode_and_emoji_survive() -> None:
    doc = failure_document(
        attempt(order_name="#1001 🎁", error_message="Adresse fehlt: Straße ✓"),
        ttl="+60DAYS",
        zone=NEW_YORK,
        version=1,
    )
    assert doc["shopifyOrderName"] == "#1001 🎁"
    assert doc["errorMessage"] == "Adresse fehlt: Straße ✓"


def test_a_resolved_document_says_so_in_the_documented_fields() -> None:
    from zoneinfo import ZoneInfo

    from pipeline.models import ErrorCode, FailedAttempt, Platform

    attempt = FailedAttempt(
        platform=Platform.SHOPIFY,
        shop="hc-demo",
        order_id="1",
        order_name="#1",
        order_created_at=datetime(2024, 1, 3, tzinfo=UTC),
        error_message="Order #1 has no shipping address",
        error_code=ErrorCode.MISSING_ADDRESS,
    )
    zone = ZoneInfo("America/New_York")
    open_doc = failure_document(attempt, ttl="+60DAYS", zone=zone, version=1, attempts=3)
    assert open_doc["errorMessage"] == "Order #1 has no shipping address"
    assert open_doc["resolved"] is False and "resolvedAt" not in open_doc
    done = failure_document(attempt,
        ttl="+60DAYS", zone=zone, version=2, attempts=3,
        resolved_at=datetime(2024, 1, 10, 16, 29, 31, tzinfo=UTC),
    )  # fmt: skip
    assert done["errorMessage"] == (
        "Resolved January 10, 2024 11:29:31 AM after 3 attempts: Order #1 has no shipping address"
    )
    assert done["resolved"] is True and done["resolvedAt"] == "2024-01-10T16:29:31.000Z"


def test_secrets_never_reach_the_error_message() -> None:
    from pipeline.models import FailedAttempt, Platform

    attempt = FailedAttempt(
        platform=Platform.SHOPIFY,
        shop="hc-demo",
        order_id="1",
        order_name="#1",
        order_created_at=datetime(2024, 1, 3, tzinfo=UTC),
        error_message='platform said {"X-Shopify-Access-Token": "shpat_abcdef0123456789"}',
    )
    assert "shpat_" not in attempt.error_message and "[redacted]" in attempt.error_message
