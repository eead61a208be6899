"""
Paged reading of Stripe list endpoints.

Stripe lists are newest first. New objects are found with a ``created`` window, never by remembering
the newest id seen (``starting_after`` walks towards older objects). A page loop keeps every filter,
``limit`` and ``expand`` on every page, moves ``starting_after`` to the last id of the page it just
read, and stops only when ``has_more`` is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_stripe_sync.stripe.retry import RetryPolicy
from airflow_provider_stripe_sync.stripe.windows import Window

#: The largest page Stripe serves.
MAX_PAGE_SIZE = 100

#: Stripe refuses expansions deeper than this many levels; a list's ``data.`` prefix counts as one.
MAX_EXPAND_DEPTH = 4

#: Parameters the window and the page loop own; callers may not pass them as filters.
RESERVED_LIST_PARAMS = frozenset({"created", "starting_after", "ending_before", "limit", "expand"})


def drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` without ``None`` values, recursively (Stripe reads ``key=`` as a value)."""
    cleaned: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            value = drop_none(value)
        cleaned[key] = value
    return cleaned


def list_expand(expand: Sequence[str] | None) -> list[str]:
    """
    Turn expansions written as for one object into a list request's (``customer`` → ``data.customer``).

    :raises ValueError: for a path deeper than Stripe allows once the ``data.`` prefix is counted.
    """
    prefixed = []
    for path in expand or ():
        path = path.strip()
        if not path:
            continue
        if not path.startswith("data."):
            path = "data." + path
        depth = path.count(".") + 1
        if depth > MAX_EXPAND_DEPTH:
            raise ValueError(
                f"expand path {path!r} is {depth} levels deep; Stripe allows {MAX_EXPAND_DEPTH} "
                "including the list's 'data.' prefix. Fetch the deeper objects separately."
            )
        prefixed.append(path)
    return prefixed


def validate_page_size(limit: int) -> int:
    """Return ``limit`` when Stripe accepts it as a page size, else raise naming the range."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}, got {limit!r}.")
    return limit


def window_list_params(
    window: Window,
    *,
    filters: Mapping[str, Any] | None = None,
    expand: Sequence[str] | None = None,
    limit: int = MAX_PAGE_SIZE,
    default_filters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    Build the parameters of the first page of a windowed list request.

    :param window: the ``created`` window, sent as ``created[gte]`` and ``created[lt]``.
    :param filters: extra list parameters (``customer``, ``type``, ...); ``None`` values are dropped.
    :param expand: expansions written as for one object; the ``data.`` prefix is added.
    :param limit: the page size, 1 to 100.
    :param default_filters: filters a resource needs unless the caller overrides them
        (``status=all`` for subscriptions, which Stripe otherwise filters to non-canceled ones).
    """
    filters = dict(filters or {})
    clash = sorted(RESERVED_LIST_PARAMS & filters.keys())
    if clash:
        raise ValueError(
            f"filters may not set {', '.join(clash)}: the window and the page loop own these. "
            "Use window_start/window_end, expand and limit instead."
        )
    params: dict[str, Any] = {**(default_filters or {}), **filters}
    params["created"] = window.created_filter()
    params["limit"] = validate_page_size(limit)
    expansions = list_expand(expand)
    if expansions:
        params["expand"] = expansions
    return drop_none(params)


def iter_pages(
    fetch_page: Callable[[dict[str, Any]], Any],
    params: Mapping[str, Any],
    *,
    retry: RetryPolicy,
    description: str,
) -> Iterator[list[dict[str, Any]]]:
    """
    Yield each page of a list request as plain dicts, until ``has_more`` is false.

    :param fetch_page: sends one list request with the given parameters and returns Stripe's list
        object (``stripe.ListObject`` or a dict with ``data`` and ``has_more``).
    :param params: the first page's parameters; every page repeats all of them.
    :param retry: the retry policy each page request goes through.
    :param description: what is listed, for logs and errors ("list charges").
    """
    page_params = dict(params)
    while True:
        page = retry.call(lambda p=dict(page_params): fetch_page(p), description=description)
        records = [_as_dict(obj) for obj in page["data"]]
        yield records
        if not page["has_more"] or not records:
            return
        page_params["starting_after"] = records[-1]["id"]


def _as_dict(obj: Any) -> dict[str, Any]:
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None:
        return to_dict(for_json=True)
    return dict(obj)
