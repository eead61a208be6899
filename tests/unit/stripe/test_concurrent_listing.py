"""Sub-window splitting reads every object of a window exactly once, however the objects are spread."""

from __future__ import annotations

import random
import threading

import pytest
import stripe

from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.stripe.listing import iter_pages, iter_window_pages
from airflow_provider_stripe_sync.stripe.retry import RetryPolicy
from airflow_provider_stripe_sync.stripe.windows import Window

WINDOW = Window(1_000_000, 1_086_400)


class FakeList:
    """A Stripe list endpoint over fixed objects: newest first, ``created`` bounds, cursors."""

    def __init__(self, objects, *, fail_every=0):
        # Ties in ``created`` keep a fixed order, as Stripe's do.
        self.objects = sorted(objects, key=lambda o: (o["created"], o["id"]), reverse=True)
        self.position = {o["id"]: i for i, o in enumerate(self.objects)}
        self.sent = []
        self.fail_every = fail_every
        self.lock = threading.Lock()

    def __call__(self, params):
        with self.lock:
            self.sent.append(params)
            if self.fail_every and len(self.sent) % self.fail_every == 0:
                raise stripe.RateLimitError(
                    "Request rate limit exceeded.", http_status=429, code="rate_limit"
                )
        low, high = params["created"]["gte"], params["created"]["lt"]
        start = self.position[params["starting_after"]] + 1 if "starting_after" in params else 0
        matching = [o for o in self.objects[start:] if low <= o["created"] < high]
        page = matching[: params["limit"]]
        return {"object": "list", "data": [dict(o) for o in page], "has_more": len(matching) > len(page)}


def objects_at(times):
    return [{"id": f"ch_{n:06d}", "object": "charge", "created": t} for n, t in enumerate(times)]


def read(fake, *, workers, window=WINDOW):
    params = {"created": window.created_filter(), "limit": 100}
    retry = RetryPolicy(max_retries=5, sleep=lambda seconds: None)
    pages = iter_window_pages(
        fake, params, window, retry=retry, description="list charges", max_concurrency=workers
    )
    return [o["id"] for page in pages for o in page]


rng = random.Random(8)
SPREADS = {
    "even": [rng.randrange(WINDOW.start, WINDOW.end) for _ in range(5000)],
    "one second": [WINDOW.start + 5] * 450,
    "bunched": [WINDOW.end - 1 - rng.randrange(60) for _ in range(3000)]
    + [rng.randrange(WINDOW.start, WINDOW.end) for _ in range(700)],
    "at the bounds": [WINDOW.start] * 250 + [WINDOW.end - 1] * 250 + [WINDOW.start + 1] * 150,
}


@pytest.mark.parametrize("workers", [1, 2, 8])
@pytest.mark.parametrize("spread", sorted(SPREADS))
def test_every_object_is_read_exactly_once(spread, workers):
    objects = objects_at(SPREADS[spread])
    outside = objects_at([WINDOW.start - 1, WINDOW.end, WINDOW.end + 100])
    for n, obj in enumerate(outside):
        obj["id"] = f"ch_out{n}"
    fake = FakeList(objects + outside)

    ids = read(fake, workers=workers)

    assert len(ids) == len(objects)
    assert sorted(ids) == sorted(o["id"] for o in objects)


def test_large_windows_are_split_and_read_in_parallel():
    fake = FakeList(objects_at(SPREADS["even"]))
    read(fake, workers=8)
    windows = {(p["created"]["gte"], p["created"]["lt"]) for p in fake.sent}
    # Many sub-windows were read, all inside the window; each costs at most one partial page and
    # one cut page more than the 50 full pages the objects fill.
    assert len(windows) > 8
    assert all(WINDOW.start <= low < high <= WINDOW.end for low, high in windows)
    assert 50 <= len(fake.sent) <= 50 + 2 * len(windows)


def test_small_windows_send_exactly_what_a_plain_page_loop_sends():
    objects = objects_at([WINDOW.start + n for n in range(250)])
    concurrent, plain = FakeList(objects), FakeList(objects)
    params = {"created": WINDOW.created_filter(), "limit": 100}

    assert read(concurrent, workers=8) == [o["id"] for o in concurrent.objects]
    list(iter_pages(plain, params, retry=RetryPolicy(max_retries=0), description="list charges"))
    assert concurrent.sent == plain.sent
    assert len(concurrent.sent) == 3


@pytest.mark.parametrize("workers", [1, 6])
def test_rate_limited_pages_are_retried_and_nothing_is_lost_or_doubled(workers):
    objects = objects_at(SPREADS["bunched"])
    fake = FakeList(objects, fail_every=4)

    ids = read(fake, workers=workers)

    assert sorted(ids) == sorted(o["id"] for o in objects)
    assert len(ids) == len(set(ids)) == len(objects)


def test_a_failure_that_outlasts_the_retries_stops_the_listing():
    fake = FakeList(objects_at(SPREADS["even"]), fail_every=1)

    with pytest.raises(StripeRequestError, match="list charges failed after 6 attempts"):
        read(fake, workers=4)


def test_a_consumer_stopping_early_stops_the_threads():
    fake = FakeList(objects_at(SPREADS["even"]))
    params = {"created": WINDOW.created_filter(), "limit": 100}
    pages = iter_window_pages(
        fake, params, WINDOW, retry=RetryPolicy(max_retries=0), description="list charges", max_concurrency=4
    )
    for number, _page in enumerate(pages):
        if number == 5:
            break
    pages.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("stripe-list-")]


def test_max_concurrency_must_be_positive():
    with pytest.raises(ValueError, match="max_concurrency must be at least 1, got 0"):
        read(FakeList([]), workers=0)
