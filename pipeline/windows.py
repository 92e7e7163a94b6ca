"""Import windows: contiguous, half-open slices of creation time (DESIGN.md, "Windows").

Seed 002's lost orders came from windows that did not touch (01:15:00 then 01:15:01). Here each
window starts exactly where the previous one ended, ``[start, end)``, ends a settle lag before
"now" so that orders the platform shows late are still caught, and may reach back by an overlap;
orders seen twice are deduplicated by id. Bounds are whole seconds, the precision every
platform's filters accept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock; every service takes a ``Clock`` so tests and replays can set the time."""
    return datetime.now(UTC)


def whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class ImportWindow(BaseModel):
    """Orders created at or after ``start`` and before ``end``."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> ImportWindow:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} must be after its start {self.start}")
        return self

    def split(self) -> tuple[ImportWindow, ImportWindow]:
        """Two contiguous halves (for platforms that cap how deep one query may page)."""
        middle = self.start + (self.end - self.start) / 2
        if middle.microsecond:
            middle = middle.replace(microsecond=(middle.microsecond // 1000) * 1000)
        if not self.start < middle < self.end:
            raise ValueError(f"window {self} is too small to split")
        return ImportWindow(start=self.start, end=middle), ImportWindow(start=middle, end=self.end)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def plan_windows(
    resume_from: datetime,
    now: datetime,
    *,
    settle_lag: timedelta,
    max_span: timedelta,
    overlap: timedelta = timedelta(0),
) -> list[ImportWindow]:
    """The windows that take an import from ``resume_from`` up to ``now - settle_lag``."""
    start = whole_second(resume_from - overlap)
    horizon = whole_second(now - settle_lag)
    windows = []
    while start < horizon:
        end = min(start + max_span, horizon)
        windows.append(ImportWindow(start=start, end=end))
        start = end
    return windows


def before_end(window: ImportWindow, created: str | None) -> bool:
    """Whether an order a platform listed with an inclusive upper bound belongs to the window
    (one at exactly its end is the next window's); an unreadable time is kept for the intake."""
    try:
        moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return True
    return moment.tzinfo is None or moment < window.end


__all__ = ["Clock", "ImportWindow", "before_end", "plan_windows", "utc_now", "whole_second"]
