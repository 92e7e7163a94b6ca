"""The vocabulary of a failed import: what happened to which order, and how it looks in Solr.

A ``FailedAttempt`` is one try at importing one order that did not succeed. The log document it
becomes keeps the eleven field names of seed 000 exactly, in their documented formats, so that
the documented request returns the documented response; extra fields serve searching.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from pipeline.scrub import SECRET_PARAMETERS, scrub

#: The documented fields of a log document (seed 000), in the documented order.
LOG_DOCUMENT_FIELDS: tuple[str, ...] = (
    "site",
    "shopifyOrderName",
    "orderCreatedDate",
    "firstAttemptedImport",
    "docType",
    "ttl",
    "errorMessage",
    "timestamp",
    "expire_at",
    "document-id",
    "version",
)


class Platform(StrEnum):
    SHOPIFY = "shopify"
    SHOPLAZZA = "shoplazza"
    SFCC = "sfcc"


class DocType(StrEnum):
    SHOPIFY_ORDER = "SHOPIFY_ORDER"
    SHOPLAZZA_ORDER = "SHOPLAZZA_ORDER"
    SFCC_ORDER = "SFCC_ORDER"
    RECONCILIATION = "ORDER_RECONCILIATION"

    @classmethod
    def for_platform(cls, platform: Platform) -> DocType:
        return cls(f"{platform.value.upper()}_ORDER")


class ErrorCode(StrEnum):
    """Why an order failed, coarse enough to facet on in the admin UI."""

    MISSING_ADDRESS = "missing_address"
    MISSING_PHONE = "missing_phone"
    BAD_EMAIL = "bad_email"
    INVALID_ORDER = "invalid_order"
    STORE_ERROR = "store_error"
    PLATFORM_ERROR = "platform_error"
    INCOMPLETE_ORDER = "incomplete_order"  # a nested page could not be read: read again whole
    UNKNOWN_STATUS = "unknown_status"  # a status value loginsights has no entry for


# Solr date math (DateMathParser): "+60DAYS", "+1HOUR/HOUR", "+90MINUTES".
_UNIT = r"(?:YEARS?|MONTHS?|DAYS?|DATE|HOURS?|MINUTES?|SECONDS?|MILLIS?|MILLISECONDS?)"
_TTL = re.compile(rf"^\+\d+{_UNIT}(?:[+-]\d+{_UNIT}|/{_UNIT})*$")


def validate_time_zone(value: str) -> str:
    """An IANA zone this machine knows, or a ValueError saying what to write instead."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as America/New_York"
        ) from err
    return value


def validate_ttl(ttl: str) -> str:
    """Refuse a ttl that Solr's DocExpirationUpdateProcessorFactory would reject or misread."""
    if not _TTL.match(ttl):
        raise ValueError(
            f"ttl {ttl!r} is not Solr date math for a time to live; write it as a plus sign, a "
            "number and a unit, for example '+60DAYS' or '+12HOURS'"
        )
    return ttl


class RenderFailure(Protocol):
    """Renders an order's failure document from the ledger's facts (``pipeline.documents``
    makes one with ``failure_renderer``): the ledger is handed it and never imports documents."""

    def __call__(
        self,
        attempt: FailedAttempt,
        *,
        version: int,
        first_attempted_at: datetime | None = None,
        attempts: int = 1,
        resolved_at: datetime | None = None,
    ) -> dict[str, Any]: ...


def redact_url(url: str) -> str:
    """Empty every secret in a URL (query values such as ``key=``, and user:password@)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode(
        [
            (name, "" if name.lower() in SECRET_PARAMETERS else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


_DOCUMENT_ID_NAMESPACE = uuid.UUID("6f1c7a52-4e0b-4d8e-9a3c-1b2d3e4f5a60")


def log_document_id(doc_type: DocType, shop: str, order_id: str) -> str:
    """One document per failing order: the same order always maps to the same id."""
    return str(uuid.uuid5(_DOCUMENT_ID_NAMESPACE, f"{doc_type.value}|{shop}|{order_id}"))


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def human_time(moment: datetime, zone: ZoneInfo) -> str:
    """Seed 000's ``firstAttemptedImport`` format: ``January 3, 2024 10:15:12 PM``."""
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    meridiem = "AM" if local.hour < 12 else "PM"
    return (
        f"{_MONTHS[local.month - 1]} {local.day}, {local.year} "
        f"{hour}:{local.minute:02d}:{local.second:02d} {meridiem}"
    )


def zoned_time(value: Any, zone: str) -> str:
    """The one way loginsights writes a time a person reads (console and CLI): in its zone,
    with the zone's abbreviation, ``2026-12-05 19:47:57 EST`` (ISO-8601 stays for machines:
    CSV and JSON)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def solr_time(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as Solr stores dates."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def next_version(previous: int | None, now: datetime | None = None) -> int:
    """A version that strictly increases with each attempt, even within one microsecond."""
    moment = now or datetime.now(UTC)
    candidate = int(moment.timestamp() * 1_000_000)
    return max(candidate, (previous or 0) + 1)


class FailedAttempt(BaseModel):
    """One try at importing one order that did not succeed."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    shop: str = Field(min_length=1, description="The shop's name in the shops file.")
    order_id: str = Field(min_length=1, description="The platform's id of the order.")
    order_name: str = Field(description="The name a merchant sees, such as #1001.")
    order_created_at: AwareDatetime
    attempted_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    error_message: str = Field(min_length=1)
    error_code: ErrorCode = ErrorCode.STORE_ERROR
    site: str = Field("", description="URL of the order at the shop; secrets are emptied.")
    ttl: str | None = Field(None, description="Solr date math; None takes the docType's default.")

    @field_validator("site")
    @classmethod
    def _no_secrets(cls, value: str) -> str:
        return redact_url(value) if value else value

    @field_validator("error_message")
    @classmethod
    def _no_secrets_in_message(cls, value: str) -> str:
        return scrub(value)

    @field_validator("ttl")
    @classmethod
    def _date_math(cls, value: str | None) -> str | None:
        return None if value is None else validate_ttl(value)

    @property
    def doc_type(self) -> DocType:
        return DocType.for_platform(self.platform)

    @property
    def document_id(self) -> str:
        return log_document_id(self.doc_type, self.shop, self.order_id)


__all__ = [
    "LOG_DOCUMENT_FIELDS",
    "DocType",
    "ErrorCode",
    "FailedAttempt",
    "Platform",
    "RenderFailure",
    "human_time",
    "log_document_id",
    "next_version",
    "redact_url",
    "solr_time",
    "zoned_time",
    "validate_time_zone",
    "validate_ttl",
]
