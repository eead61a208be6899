"""
Time windows for incremental reads.

A window is half-open, ``[start, end)``, in whole UTC seconds: consecutive windows ``[a, b)`` and
``[b, c)`` cover every second exactly once, so an object created at exactly ``b`` belongs to the
second one only. At the Stripe boundary a window becomes ``created[gte]=start`` and ``created[lt]=end``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Window:
    """
    A half-open window ``[start, end)`` in epoch seconds.

    :param start: first second inside the window.
    :param end: first second after the window.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(
                f"Window end ({_iso(self.end)}) must be after its start ({_iso(self.start)}): "
                "an inverted or empty window would read nothing."
            )

    def widened(self, lookback: int) -> Window:
        """Return this window with its start moved ``lookback`` seconds earlier."""
        if lookback < 0:
            raise ValueError(f"lookback must be zero or more seconds, got {lookback}.")
        return Window(self.start - lookback, self.end)

    def created_filter(self) -> dict[str, int]:
        """Return the ``created`` list filter that selects exactly this window."""
        return {"gte": self.start, "lt": self.end}

    def split(self, parts: int) -> list[Window]:
        """Split into at most ``parts`` contiguous sub-windows that cover this one exactly."""
        if parts < 1:
            raise ValueError(f"parts must be at least 1, got {parts}.")
        length = self.end - self.start
        parts = min(parts, length)
        bounds = [self.start + (length * i) // parts for i in range(parts)] + [self.end]
        return [Window(lo, hi) for lo, hi in zip(bounds, bounds[1:], strict=False)]

    def as_list(self) -> list[int]:
        """Return ``[start, end]``, the form XCom summaries carry."""
        return [self.start, self.end]

    def describe(self) -> str:
        """Return the window as readable ISO-8601 UTC text."""
        return f"[{_iso(self.start)}, {_iso(self.end)})"


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def to_epoch(value: Any, *, field: str) -> int:
    """
    Convert an aware datetime, an epoch number or ISO-8601 text to whole epoch seconds.

    Naive datetimes and text without a UTC offset are refused: their meaning depends on the machine.
    Fractions of a second round down, so a window never reaches into the second before it.

    :param value: the value to convert.
    :param field: the argument's name, used in error messages.
    """
    if isinstance(value, bool):
        raise TypeError(f"{field} must be a datetime, epoch seconds or ISO-8601 text, got a bool.")
    if isinstance(value, (int, float)):
        return _checked_epoch(value, field)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return _checked_epoch(int(text), field)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as err:
            raise ValueError(
                f"{field}={value!r} is not ISO-8601 text such as '2026-11-01T00:00:00+00:00'."
            ) from err
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{field}={value.isoformat()} has no time zone; give an aware datetime or an offset "
                "such as '+00:00'."
            )
        return math.floor(value.timestamp())
    raise TypeError(
        f"{field} must be a datetime, epoch seconds or ISO-8601 text, got {type(value).__name__}."
    )


#: Epoch seconds beyond this (the year 5138) are almost surely milliseconds.
_MAX_EPOCH_SECONDS = 10**11


def _checked_epoch(value: float, field: str) -> int:
    if not math.isfinite(value):
        raise ValueError(f"{field}={value!r} is not a finite time.")
    if abs(value) >= _MAX_EPOCH_SECONDS:
        raise ValueError(f"{field}={value!r} looks like epoch milliseconds; give epoch seconds.")
    return math.floor(value)


def _is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


def resolve_window(
    *,
    window_start: Any = None,
    window_end: Any = None,
    interval_start: Any = None,
    interval_end: Any = None,
    fallback: tuple[Any, Any] | None = None,
) -> Window:
    """
    Decide the window a task reads.

    In order: explicit ``window_start``/``window_end`` (both or neither); else the run's data interval
    when it is not empty; else ``fallback`` (for example the last full interval of the DAG's timetable
    before a manual run that has no data interval). A zero-length data interval with no fallback is an
    error, never a silent empty sync.
    """
    start_unset, end_unset = _is_unset(window_start), _is_unset(window_end)
    if start_unset != end_unset:
        missing = "window_end" if end_unset else "window_start"
        raise ValueError(f"{missing} is missing: give both window_start and window_end, or neither.")
    if not start_unset:
        start = to_epoch(window_start, field="window_start")
        end = to_epoch(window_end, field="window_end")
        if end <= start:
            shape = "empty: both are the same second" if end == start else "inverted"
            raise ValueError(
                f"window_end ({_iso(end)}) must be after window_start ({_iso(start)}); the window is "
                f"{shape}, so it would read nothing. Give a window_end later than window_start "
                "(the window is [window_start, window_end))."
            )
        return Window(start, end)

    if not _is_unset(interval_start) and not _is_unset(interval_end):
        start = to_epoch(interval_start, field="data_interval_start")
        end = to_epoch(interval_end, field="data_interval_end")
        if end > start:
            return Window(start, end)

    if fallback is not None:
        return Window(to_epoch(fallback[0], field="window_start"), to_epoch(fallback[1], field="window_end"))

    if _is_unset(interval_start):
        problem = "This run has no data interval"
    else:
        problem = f"This run's data interval is empty ({interval_start} to {interval_end})"
    raise ValueError(
        f"{problem}, so there is no window to read. Use a data-interval timetable such as "
        "CronDataIntervalTimetable (plain cron schedules give zero-length intervals in Airflow 3), "
        "or pass window_start and window_end."
    )
