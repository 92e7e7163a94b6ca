"""Import windows are contiguous and half-open, so no instant falls between two of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pipeline.windows import ImportWindow, plan_windows

T0 = datetime(2026, 11, 20, 1, 0, 0, 400_000, tzinfo=UTC)


def test_windows_touch_end_to_start_and_stop_a_settle_lag_before_now() -> None:
    now = T0 + timedelta(hours=3, minutes=7)
    windows = plan_windows(T0, now, settle_lag=timedelta(minutes=2), max_span=timedelta(hours=1))
    assert windows[0].start == T0.replace(microsecond=0)
    for earlier, later in zip(windows, windows[1:], strict=False):
        assert earlier.end == later.start
    assert windows[-1].end == (now - timedelta(minutes=2)).replace(microsecond=0)
    assert all(w.end - w.start <= timedelta(hours=1) for w in windows)


def test_overlap_reaches_back_from_the_checkpoint() -> None:
    windows = plan_windows(
        T0,
        T0 + timedelta(hours=1),
        settle_lag=timedelta(0),
        max_span=timedelta(hours=2),
        overlap=timedelta(minutes=5),
    )
    assert windows[0].start == (T0 - timedelta(minutes=5)).replace(microsecond=0)


def test_nothing_to_do_before_the_settle_lag_has_passed() -> None:
    assert (
        plan_windows(
            T0,
            T0 + timedelta(seconds=30),
            settle_lag=timedelta(minutes=1),
            max_span=timedelta(hours=1),
        )
        == []
    )


def test_split_gives_two_contiguous_halves() -> None:
    window = ImportWindow(start=T0, end=T0 + timedelta(hours=1))
    left, right = window.split()
    assert left.start == window.start and left.end == right.start and right.end == window.end


def test_an_empty_or_backwards_window_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be after its start"):
        ImportWindow(start=T0, end=T0)
