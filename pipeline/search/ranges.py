"""How many buckets a range facet asks for, worked out before Solr builds them.

A range facet over ``timestamp`` from ``NOW-10YEARS`` to ``NOW`` by ``+1SECOND`` asks Solr for
three hundred million buckets in one response. The caller's start, end and gap are read here with
Solr's date math (``NOW``, an ISO instant, ``/DAY`` rounding, ``+6HOURS`` steps) or as plain
numbers, and the guard refuses the request when it makes more buckets than the cap.

Dates are counted as Solr counts them, with real calendar arithmetic (``count_buckets``): each
step of the math applied in order to the moment it reached (a month added to January 31 is the
end of February, a year to February 29 is February 28), and the buckets walked from the start,
each from where the last one ended, as Solr's range faceting does, so a gap that mixes signs
(``+29DAYS-1MONTH``) is as long as it really is at each step; a gap that does not move forward
is refused, never counted as one bucket.
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import UTC, datetime, timedelta

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


CALENDAR_UNITS = {"YEAR", "MONTH"}


class EndlessRange(ValueError):
    """A date gap that does not move forward from some bucket (Solr would never finish)."""


def count_buckets(start: object, end: object, gap: object, *, now: datetime, cap: int) -> int:
    """Buckets of a range facet as Solr makes them; ``cap + 1`` once past the cap.

    Numbers (a numeric field) divide; dates walk. ``NotARangeValue`` names a value that is
    neither; ``EndlessRange`` a date gap that stops moving forward.
    """
    gap_text = gap.strip().upper() if isinstance(gap, str) else None
    dated = gap_text is not None and gap_text.startswith(("+", "-"))
    if not dated or not all(_is_date(bound) for bound in (start, end)):
        low = seconds_or_number(start, now=now.timestamp())
        high = seconds_or_number(end, now=now.timestamp())
        return int(min(bucket_count(low, high, gap_size(gap)), cap + 1))
    assert gap_text is not None
    steps = _parsed_steps(gap_text, gap)
    bucket, last = date_of(start, now), date_of(end, now)
    count = 0
    while bucket < last:
        following = _apply(bucket, steps)
        if following <= bucket:
            raise EndlessRange(f"{gap} does not move forward from {bucket.isoformat()}")
        bucket, count = following, count + 1
        if count > cap:
            break
    return count


def date_of(value: object, now: datetime) -> datetime:
    """A date bound (``NOW-1MONTH/DAY``, an instant with math) as Solr's DateMathParser reads
    it: each step in order, calendar units as the calendar has them."""
    if not isinstance(value, str):
        raise NotARangeValue(value)
    text = value.strip().upper()
    base = INSTANT.match(text)
    if not base:
        raise NotARangeValue(value)
    if base.group(1) == "NOW":
        moment = now.astimezone(UTC)
    else:
        try:
            moment = datetime.fromisoformat(base.group(1)[:19]).replace(tzinfo=UTC)
        except ValueError as err:
            raise NotARangeValue(value) from err
    return _apply(moment, _parsed_steps(text[base.end() :], value))


def _is_date(value: object) -> bool:
    return isinstance(value, str) and bool(INSTANT.match(value.strip().upper()))


Step = tuple[int, str, bool]  # (signed amount, unit, whether it rounds down)


def _parsed_steps(text: str, original: object) -> list[Step]:
    steps: list[Step] = []
    position = 0
    for match in STEP.finditer(text):
        if match.start() != position:
            raise NotARangeValue(original)
        position = match.end()
        sign, amount, unit, rounding = match.groups()
        name = rounding or unit
        if name not in UNIT_SECONDS:
            raise NotARangeValue(original)
        if rounding:
            steps.append((0, name, True))
        else:
            steps.append(((1 if sign == "+" else -1) * int(amount), name, False))
    if position != len(text):
        raise NotARangeValue(original)
    return steps


def _apply(moment: datetime, steps: list[Step]) -> datetime:
    try:
        for amount, unit, rounds in steps:
            moment = _round(moment, unit) if rounds else _add(moment, amount, unit)
    except (OverflowError, ValueError) as err:  # past year 9999 or before year 1
        raise NotARangeValue("a date past the calendar") from err
    return moment


def _add(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in CALENDAR_UNITS:
        months = moment.month - 1 + amount * (12 if unit == "YEAR" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    return moment + timedelta(seconds=amount * UNIT_SECONDS[unit])


def _round(moment: datetime, unit: str) -> datetime:
    if unit == "YEAR":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "MONTH":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit in ("DAY", "DATE"):
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "HOUR":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "MINUTE":
        return moment.replace(second=0, microsecond=0)
    if unit == "SECOND":
        return moment.replace(microsecond=0)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise NotARangeValue(number)
    return number


__all__ = [
    "EndlessRange",
    "NotARangeValue",
    "bucket_count",
    "count_buckets",
    "date_of",
    "gap_size",
    "seconds_or_number",
]
