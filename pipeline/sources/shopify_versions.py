"""Shopify's API versions as a policy: a supported default, and the twelve-month window.

Shopify releases a stable Admin API version each quarter (``2026-10``) and supports each for
at least twelve months; a request for a version past its window is served by the oldest
supported version instead, silently but for the ``X-Shopify-API-Version`` header of the answer.
So loginsights names a supported default (the newest stable version in the pinned published
schemas, ``pipeline/contracts.py``; tests/test_contracts.py checks that it is), warns when a
shop's ``api_version`` is outside the window, and notices a fall-forward in the answers.
"""

from __future__ import annotations

from datetime import date

DEFAULT_API_VERSION = "2026-10"
SUPPORT_MONTHS = 12


def released(version: str) -> date:
    """A stable version is released on the first day of its month; ValueError if not one."""
    year, month = version.split("-")
    return date(int(year), int(month), 1)


def supported_until(version: str) -> date:
    start = released(version)
    months = start.month - 1 + SUPPORT_MONTHS
    return date(start.year + months // 12, months % 12 + 1, 1)


def supported_on(version: str, today: date) -> bool:
    try:
        return released(version) <= today < supported_until(version)
    except ValueError:
        return False


def support_warning(shop: str, version: str, today: date) -> str | None:
    """A sentence for ``run`` and ``shops check`` when the version is outside the window."""
    if supported_on(version, today):
        return None
    try:
        ended = supported_until(version)
    except ValueError:
        return (
            f"{shop}: {version!r} is not a Shopify API version (YYYY-MM, e.g. "
            f"{DEFAULT_API_VERSION}); set api_version in the shops file"
        )
    if released(version) > today:
        return (
            f"{shop}: Shopify API version {version} is not released yet; use {DEFAULT_API_VERSION}"
        )
    return (
        f"{shop}: Shopify API version {version} left Shopify's support window on "
        f"{ended:%Y-%m-%d}; Shopify now answers with its oldest supported version instead. "
        f"Move the shop to {DEFAULT_API_VERSION} (api_version in the shops file)"
    )


__all__ = [
    "DEFAULT_API_VERSION",
    "SUPPORT_MONTHS",
    "released",
    "support_warning",
    "supported_on",
    "supported_until",
]
