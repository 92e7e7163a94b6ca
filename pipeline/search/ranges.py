"""How many buckets a range facet asks for, worked out before Solr builds them.

A range facet over ``timestamp`` from ``NOW-10YEARS`` to ``NOW`` by ``+1SECOND`` asks Solr for
three hundred million buckets in one response. The caller's start, end and gap are read here with
Solr's date math (``NOW``, an ISO instant, ``/DAY`` rounding, ``+6HOURS`` steps) or as plain
numbers, and the guard refuses the request when ``(end - start) / gap`` passes the bucket cap.
Months and years count at their shortest in a gap (28 and 365 days), so the estimate never
undercounts.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

UNIT_SECONDS = {
    "YEAR": 365 * 86400.0,
    "MONTH": 28 * 86400.0,
    "DAY": 86400.0,
    "DATE": 86400.0,
    "HOUR": 3600.0,
    "MINUTE": 60.0,
    "SECOND": 1.0,
    "MILLI": 0.001,
    "MILLISECOND": 0.001,
}
STEP = re.compile(r"([+-])(\d{1,12})([A-Z]+?)S?(?=[+\-/]|$)|/([A-Z]+?)S?(?=[+\-/]|$)")
INSTANT = re.compile(r"^(NOW|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)")


class NotARangeValue(ValueError):
    """The value is neither a finite number nor Solr date math."""


def seconds_or_number(value: object, *, now: float) -> float:
    """A range bound as a number: seconds since the epoch for dates, the number otherwise."""
    if isinstance(value, bool):
        raise NotARangeValue(value)
    if isinstance(value, int | float):
        return _finite(float(value))
    if not isinstance(value, str):
        raise NotARangeValue(value)
    text = value.strip().upper()
    try:
        return _finite(float(text))
    except ValueError:
        pass
    base = INSTANT.match(text)
    if not base:
        raise NotARangeValue(value)
    if base.group(1) == "NOW":
        moment = now
    else:
        try:
            moment = datetime.fromisoformat(base.group(1)[:19]).replace(tzinfo=UTC).timestamp()
        except ValueError as err:  # 2026-13-45, 2026-02-30: shaped like a date, not one
            raise NotARangeValue(value) from err
    return _finite(moment + _steps(text[base.end() :], value))


def gap_size(value: object) -> float:
    """A gap as a positive number: seconds for date math (``+1DAY``), the number otherwise."""
    if isinstance(value, bool):
        raise NotARangeValue(value)
    if isinstance(value, int | float):
        size = _finite(float(value))
    elif isinstance(value, str):
        text = value.strip().upper()
        try:
            size = _finite(float(text))
        except ValueError:
            size = _steps(text, value) if text.startswith(("+", "-")) else math.nan
    else:
        raise NotARangeValue(value)
    if not size > 0:
        raise NotARangeValue(value)
    return size


def bucket_count(low: float, high: float, step: float) -> float:
    """How many buckets ``[low, high)`` by ``step`` makes; ``inf`` when past any float."""
    span = max(0.0, high - low)
    count = span / step if math.isfinite(span) else math.inf
    return math.ceil(count) if math.isfinite(count) else math.inf


def _steps(text: str, original: object) -> float:
    total, position = 0.0, 0
    for match in STEP.finditer(text):
        if match.start() != position:
            raise NotARangeValue(original)
        position = match.end()
        sign, amount, unit, rounding = match.groups()
        if rounding:
            if rounding not in UNIT_SECONDS:
                raise NotARangeValue(original)
            continue  # rounding moves a bound by less than one unit
        if unit not in UNIT_SECONDS:
            raise NotARangeValue(original)
        total += (1 if sign == "+" else -1) * int(amount) * UNIT_SECONDS[unit]
    if position != len(text):
        raise NotARangeValue(original)
    return total


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise NotARangeValue(number)
    return number


__all__ = ["NotARangeValue", "bucket_count", "gap_size", "seconds_or_number"]
