from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_stripe_sync.stripe.windows import Window, resolve_window, to_epoch

B = 1793232000  # 2026-10-29T00:00:00Z


def test_created_filter_is_half_open_in_integer_seconds():
    assert Window(B - 86400, B).created_filter() == {"gte": B - 86400, "lt": B}


@pytest.mark.parametrize(
    "created, first, second", [(B - 1, True, False), (B, False, True), (B + 1, False, True)]
)
def test_consecutive_windows_cover_each_second_once(created, first, second):
    a, b = Window(B - 3600, B), Window(B, B + 3600)
    assert (a.start <= created < a.end, b.start <= created < b.end) == (first, second)


def test_inverted_and_empty_windows_are_refused_naming_both_ends():
    with pytest.raises(ValueError, match=r"must be after its start"):
        Window(B, B)
    with pytest.raises(ValueError, match=r"2026-10-28T23:59:59\+00:00.*2026-10-29T00:00:00\+00:00"):
        Window(B, B - 1)


def test_widened_moves_only_the_start():
    assert Window(B, B + 10).widened(600) == Window(B - 600, B + 10)
    with pytest.raises(ValueError, match="lookback"):
        Window(B, B + 10).widened(-1)


def test_split_covers_exactly_without_gaps_or_overlap():
    parts = Window(0, 10).split(3)
    assert [(w.start, w.end) for w in parts] == [(0, 3), (3, 6), (6, 10)]
    assert [(w.start, w.end) for w in Window(0, 2).split(5)] == [(0, 1), (1, 2)]


def test_to_epoch_accepts_aware_values_and_floors_fractions():
    aware = datetime(2026, 10, 29, tzinfo=timezone.utc)
    assert to_epoch(aware, field="x") == B
    assert to_epoch(aware + timedelta(microseconds=999999), field="x") == B
    assert to_epoch("2026-10-29T02:00:00+02:00", field="x") == B
    assert to_epoch("2026-10-29T00:00:00Z", field="x") == B
    assert to_epoch(str(B), field="x") == B
    assert to_epoch(B + 0.9, field="x") == B


def test_to_epoch_refuses_naive_values_naming_the_field():
    with pytest.raises(ValueError, match="window_start=2026-10-29T00:00:00 has no time zone"):
        to_epoch(datetime(2026, 10, 29), field="window_start")
    with pytest.raises(ValueError, match="window_end=2026-10-29T00:00:00 has no time zone"):
        to_epoch("2026-10-29T00:00:00", field="window_end")
    with pytest.raises(ValueError, match="window_end='yesterday' is not ISO-8601"):
        to_epoch("yesterday", field="window_end")
    with pytest.raises(TypeError, match="window_end must be"):
        to_epoch([1], field="window_end")


def test_resolve_window_prefers_explicit_then_interval_then_fallback():
    interval = {
        "interval_start": datetime.fromtimestamp(B, timezone.utc),
        "interval_end": datetime.fromtimestamp(B + 86400, timezone.utc),
    }
    assert resolve_window(window_start=B - 10, window_end=B, **interval) == Window(B - 10, B)
    assert resolve_window(window_start=None, window_end="None", **interval) == Window(B, B + 86400)
    assert resolve_window(fallback=(B - 86400, B)) == Window(B - 86400, B)


def test_resolve_window_refuses_half_explicit_and_empty_intervals():
    with pytest.raises(ValueError, match="window_end is missing"):
        resolve_window(window_start=B)
    day = datetime.fromtimestamp(B, timezone.utc)
    with pytest.raises(ValueError, match="data interval is empty.*CronDataIntervalTimetable"):
        resolve_window(interval_start=day, interval_end=day)
    with pytest.raises(ValueError, match="This run has no data interval"):
        resolve_window()


@pytest.mark.parametrize(
    "value, message",
    [
        (1793232000000, "window_start=1793232000000 looks like epoch milliseconds; give epoch seconds."),
        ("1793232000000", "window_start=1793232000000 looks like epoch milliseconds; give epoch seconds."),
        (float("inf"), "window_start=inf is not a finite time."),
        (float("nan"), "window_start=nan is not a finite time."),
    ],
)
def test_to_epoch_refuses_impossible_numbers_naming_the_field(value, message):
    with pytest.raises(ValueError) as caught:
        to_epoch(value, field="window_start")
    assert str(caught.value) == message
