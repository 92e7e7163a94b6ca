"""Shopify's API versions as a calendar: released each quarter, supported for twelve months.

Shopify releases a stable Admin API version on the first day of each quarter (``2026-10``) at
17:00 UTC and supports it for at least twelve months; a request for a version past its window
is served by the oldest supported version instead, silently but for the ``X-Shopify-API-Version``
header of the answer. So the calendar alone says which versions are stable at a given moment:
the default is the newest version released by now, a version not yet released is never the
default (a pinned schema of one is validated, not used), and a shop's ``api_version`` outside
the window is warned about. The pinned artifact's own flags (``releaseCandidate``,
``latestVersion`` in dev-mcp's ``supported-versions-schema.json``) are a hint shown beside the
calendar, never what decides: they lag the releases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

SUPPORT_MONTHS = 12
RELEASE_HOUR = time(17, 0, tzinfo=UTC)  # Shopify releases at 17:00 UTC, not midnight
QUARTER_MONTHS = (1, 4, 7, 10)


def _moment(when: date | datetime) -> datetime:
    """A date stands for its end: what was released that day counts as released."""
    if isinstance(when, datetime):
        return when.astimezone(UTC)
    return datetime.combine(when, time(23, 59, 59), tzinfo=UTC)


def released_at(version: str) -> datetime:
    """When a stable version is released; ValueError if ``version`` is not one (YYYY-MM of a
    quarter's first month)."""
    year, month = version.split("-")
    if int(month) not in QUARTER_MONTHS:
        raise ValueError(f"{version!r} is not a quarterly version")
    return datetime.combine(date(int(year), int(month), 1), RELEASE_HOUR)


def released(version: str) -> date:
    return released_at(version).date()


def supported_until_at(version: str) -> datetime:
    start = released_at(version)
    months = start.month - 1 + SUPPORT_MONTHS
    return start.replace(year=start.year + months // 12, month=months % 12 + 1)


def supported_until(version: str) -> date:
    return supported_until_at(version).date()


def supported_on(version: str, when: date | datetime) -> bool:
    try:
        return released_at(version) <= _moment(when) < supported_until_at(version)
    except ValueError:
        return False


def newest_stable(when: date | datetime) -> str:
    """The newest version released by ``when``: the default."""
    moment = _moment(when)
    year, month = moment.year, max(m for m in QUARTER_MONTHS if m <= moment.month)
    candidate = f"{year}-{month:02d}"
    if released_at(candidate) > moment:  # the quarter's first day, before 17:00
        month -= 3
        if month < 1:
            year, month = year - 1, 10
        candidate = f"{year}-{month:02d}"
    return candidate


DEFAULT_API_VERSION = newest_stable(datetime.now(UTC))


def support_warning(shop: str, version: str, today: date | datetime) -> str | None:
    """A sentence for ``run`` and ``shops check`` when the version is outside the window."""
    if supported_on(version, today):
        return None
    newest = newest_stable(today)
    try:
        ended = supported_until(version)
    except ValueError:
        return (
            f"{shop}: {version!r} is not a Shopify API version (YYYY-MM of a quarter, e.g. "
            f"{newest}); set api_version in the shops file"
        )
    if released_at(version) > _moment(today):
        return (
            f"{shop}: Shopify API version {version} is not released yet (it is released "
            f"{released_at(version):%Y-%m-%d %H:%M} UTC); use {newest}"
        )
    return (
        f"{shop}: Shopify API version {version} left Shopify's support window on "
        f"{ended:%Y-%m-%d}; Shopify now answers with its oldest supported version instead. "
        f"Move the shop to {newest} (api_version in the shops file)"
    )


__all__ = [
    "DEFAULT_API_VERSION",
    "SUPPORT_MONTHS",
    "newest_stable",
    "released",
    "released_at",
    "support_warning",
    "supported_on",
    "supported_until",
]
