"""
One check of "have enough new objects been created in the window?", as sensors and triggers ask it.

A check is one list request with a small ``limit``: it never pages, so polling stays far inside
Stripe's read allocation. The same logic serves the sensor's sync poke and the trigger's async loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_stripe_sync.stripe.listing import MAX_PAGE_SIZE, RESERVED_LIST_PARAMS, drop_none
from airflow_provider_stripe_sync.stripe.resources import listable

#: The event that says a charge succeeded; counted instead of charges with ``succeeded_only``.
CHARGE_SUCCEEDED = "charge.succeeded"


@dataclass(frozen=True)
class CheckResult:
    """
    What one check found.

    :param done: enough objects were found.
    :param skip: the window is closed and holds too few objects: nothing will come.
    :param summary: for ``done``, ``{"window": [start, seen_until], "count": n, "newest_id": ...,
        "has_more": bool}``: the exact window the check read, so downstream tasks read the same.
    :param reason: a sentence saying what was found, for logs and skip messages.
    """

    done: bool
    skip: bool
    summary: dict[str, Any] | None
    reason: str


@dataclass(frozen=True)
class NewObjectsCheck:
    """
    A check for at least ``min_count`` objects of ``resource`` created in ``[window_start, window_end)``.

    :param resource: a listable resource (``charges``, ``subscriptions``...).
    :param window_start: first second of the window (epoch).
    :param window_end: end of the window, exclusive, or ``None`` for an open window that reaches up to
        the moment of each check.
    :param min_count: how many objects make the check succeed, 1 to 100.
    :param filters: extra list filters.
    :param succeeded_only: for charges: count ``charge.succeeded`` events created in the window instead,
        since a charge can succeed days after it is created and the list has no status filter.
    """

    resource: str
    window_start: int
    window_end: int | None = None
    min_count: int = 1
    filters: Mapping[str, Any] = field(default_factory=dict)
    succeeded_only: bool = False

    def __post_init__(self) -> None:
        spec = listable(self.resource)
        if isinstance(self.min_count, bool) or not 1 <= int(self.min_count) <= MAX_PAGE_SIZE:
            raise ValueError(f"min_count must be from 1 to {MAX_PAGE_SIZE}, got {self.min_count!r}.")
        if self.window_end is not None and self.window_end <= self.window_start:
            raise ValueError(
                f"window_end ({self.window_end}) must be after window_start ({self.window_start})."
            )
        if self.succeeded_only and spec.name != "charges":
            raise ValueError("succeeded_only applies to charges only.")
        clash = sorted(RESERVED_LIST_PARAMS & set(self.filters))
        if clash:
            raise ValueError(f"filters may not set {', '.join(clash)}: the check owns these.")

    def seen_until(self, now: int) -> int:
        """Return the end of the window a check at ``now`` reads."""
        return self.window_end if self.window_end is not None else now

    def request(self, now: int) -> tuple[str, dict[str, Any]]:
        """Return the resource to list and the parameters of the one request a check at ``now`` sends."""
        created = {"gte": self.window_start, "lt": max(self.seen_until(now), self.window_start + 1)}
        if self.succeeded_only:
            return "events", {"type": CHARGE_SUCCEEDED, "created": created, "limit": self.min_count}
        params = {**listable(self.resource).default_filters, **self.filters}
        return self.resource, drop_none({**params, "created": created, "limit": self.min_count})

    def evaluate(self, page: Mapping[str, Any], now: int) -> CheckResult:
        """Decide from the page a check at ``now`` got back."""
        data = list(page.get("data") or [])
        count = len(data)
        seen_until = self.seen_until(now)
        what = f"{CHARGE_SUCCEEDED} events" if self.succeeded_only else self.resource
        if count >= self.min_count:
            newest = data[0]
            newest_id = newest["data"]["object"]["id"] if self.succeeded_only else newest["id"]
            summary = {
                "window": [self.window_start, seen_until],
                "count": count,
                "newest_id": newest_id,
                "has_more": bool(page.get("has_more")),
            }
            return CheckResult(True, False, summary, f"found {count} {what} created in the window")
        if self.window_end is not None and now >= self.window_end:
            reason = (
                f"the window [{self.window_start}, {self.window_end}) is closed and holds {count} {what}, "
                f"fewer than {self.min_count}"
            )
            return CheckResult(False, True, None, reason)
        return CheckResult(False, False, None, f"{count} of {self.min_count} {what} so far")
