"""
Paged reading of Stripe list endpoints.

Stripe lists are newest first. New objects are found with a ``created`` window, never by remembering
the newest id seen (``starting_after`` walks towards older objects). A page loop keeps every filter,
``limit`` and ``expand`` on every page, moves ``starting_after`` to the last id of the page it just
read, and stops only when ``has_more`` is false.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
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
    if type(obj) in (dict, OrderedDict):
        # Parsed JSON already (a raw page): nothing to convert.
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None:
        return to_dict(for_json=True)
    return dict(obj)


#: A window's first pages are read one after another: a window of up to this many pages is read with
#: exactly the requests a plain page loop sends, and splitting starts only once a window proved large.
SERIAL_PAGES = 3


class _Splitter:
    """The shared state of one concurrent listing: sub-windows waiting, threads busy, pages read."""

    def __init__(self, workers: int, queue_size: int) -> None:
        import queue

        self.workers = workers
        self.pending: deque[tuple[Window, bool]] = deque()
        self.busy = 0
        self.stopped = False
        self.condition = threading.Condition()
        self.pages: queue.Queue[Any] = queue.Queue(maxsize=queue_size)

    def idle(self) -> int:
        """How many threads would take a sub-window now (call with the condition held)."""
        return self.workers - self.busy - len(self.pending)

    def take(self) -> tuple[Window, bool] | None:
        """Wait for a sub-window to read; ``None`` when everything is read or the listing stopped."""
        with self.condition:
            while not self.pending and self.busy and not self.stopped:
                self.condition.wait()
            if self.stopped or not self.pending:
                self.condition.notify_all()
                return None
            self.busy += 1
            return self.pending.popleft()

    def done(self) -> None:
        with self.condition:
            self.busy -= 1
            self.condition.notify_all()

    def stop(self) -> None:
        with self.condition:
            self.stopped = True
            self.condition.notify_all()


def iter_window_pages(
    fetch_page: Callable[[dict[str, Any]], Any],
    params: Mapping[str, Any],
    window: Window,
    *,
    retry: RetryPolicy,
    description: str,
    max_concurrency: int = 1,
) -> Iterator[list[dict[str, Any]]]:
    """
    Yield every object created in ``window``, a page at a time, reading sub-windows in parallel.

    The window's first pages are read in order, as :func:`iter_pages` reads them. When more remain
    and threads are free, the rest is cut at the ``created`` second of the page's last object,
    ``c``: the page's objects created after ``c`` are kept (every object created after ``c`` has been
    read, lists being newest first), those created at ``c`` are dropped, and ``[start, c + 1)`` is
    split into sub-windows that free threads read the same way, each splitting again whenever a
    thread falls idle. Sub-windows are disjoint and together cover what was not kept, so no object is
    lost or read twice, however the objects are spread over time. A page whose objects all share
    one second is never cut. Pages come in no fixed order across sub-windows (newest first within
    each); at most ``2 * max_concurrency`` pages wait to be consumed, so memory stays bounded.

    :param fetch_page: sends one list request and returns Stripe's list object (a dict with ``data``
        and ``has_more``); called from several threads at once.
    :param params: the window's first-page parameters (``created`` is replaced per sub-window).
    :param window: the ``created`` window ``params`` selects.
    :param retry: the retry policy each page request goes through.
    :param description: what is listed, for logs and errors ("list charges").
    :param max_concurrency: threads reading at once; 1 reads the window with a plain page loop.
    """
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}.")
    if max_concurrency == 1:
        yield from iter_pages(fetch_page, params, retry=retry, description=description)
        return

    splitter = _Splitter(max_concurrency, queue_size=2 * max_concurrency)
    splitter.pending.append((window, True))
    finished = object()

    def work() -> None:
        try:
            while True:
                taken = splitter.take()
                if taken is None:
                    return
                try:
                    _read_sub_window(fetch_page, params, *taken, splitter, retry, description)
                finally:
                    splitter.done()
        except BaseException as err:  # handed to the consuming thread, which raises it
            splitter.stop()
            splitter.pages.put(err)
        finally:
            splitter.pages.put(finished)

    threads = [
        threading.Thread(target=work, name=f"stripe-list-{number}", daemon=True)
        for number in range(max_concurrency)
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = splitter.pages.get()
            if item is finished:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        splitter.stop()
        # Unblock threads waiting to hand over a page, then let them finish.
        while running:
            if splitter.pages.get() is finished:
                running -= 1
        for thread in threads:
            thread.join()


def _read_sub_window(
    fetch_page: Callable[[dict[str, Any]], Any],
    params: Mapping[str, Any],
    window: Window,
    first: bool,
    splitter: _Splitter,
    retry: RetryPolicy,
    description: str,
) -> None:
    """Page through one sub-window, handing pages over, until it ends or is split for idle threads."""
    page_params = {**params, "created": window.created_filter()}
    pages = 0
    while not splitter.stopped:
        page = retry.call(lambda p=dict(page_params): fetch_page(p), description=description)
        records = [_as_dict(obj) for obj in page["data"]]
        pages += 1
        if not page["has_more"] or not records:
            splitter.pages.put(records)
            return
        rest = _rest_to_split(records, window, splitter, serial=first and pages < SERIAL_PAGES)
        if rest is not None:
            cut = rest.end - 1
            splitter.pages.put([record for record in records if record["created"] > cut])
            return
        splitter.pages.put(records)
        page_params["starting_after"] = records[-1]["id"]


def _rest_to_split(
    records: list[dict[str, Any]], window: Window, splitter: _Splitter, *, serial: bool
) -> Window | None:
    """
    Split what is left of ``window`` after ``records`` among the idle threads, and return it; or
    return ``None`` to go on paging (no thread idle, the page is one second, nothing left to split).
    """
    if serial:
        return None
    newest, oldest = records[0].get("created"), records[-1].get("created")
    if not isinstance(newest, int) or not isinstance(oldest, int) or newest == oldest:
        return None
    rest = Window(window.start, oldest + 1)
    with splitter.condition:
        idle = splitter.idle()
        if idle < 1 or rest.end - rest.start < 2:
            return None
        parts = rest.split(idle + 1)
        splitter.pending.extend((part, False) for part in reversed(parts))
        splitter.condition.notify_all()
    return rest
