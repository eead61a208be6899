"""
A client-side request rate limiter, shared by every thread of a process.

Stripe allows about 100 read requests per second per account in live mode and 25 in test mode, and
about 25 per second on any one endpoint. Staying below both on the client side avoids 429s instead of
recovering from them; a 429 that still comes back halves both rates for a while. Across tasks and
workers, an Airflow pool per Stripe account bounds concurrency: this limiter only sees its own process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Default requests per second per account: below Stripe's 25/s (test mode) and 100/s (live mode).
DEFAULT_RATE = {False: 20.0, True: 90.0}

#: Default requests per second on one endpoint (``/v1/charges``): below Stripe's 25/s.
DEFAULT_ENDPOINT_RATE = 23.0

#: Threads listing one window at once by default: enough to keep an endpoint's budget busy at Stripe's
#: few hundred milliseconds per list page, in each mode.
DEFAULT_CONCURRENCY = {False: 6, True: 12}

#: The most threads one listing may use: past Stripe's budgets more threads only cut the window into
#: more, smaller sub-windows, so the same objects cost more requests.
MAX_CONCURRENCY = 32

#: How far ahead of its turn a request may go, in seconds: after a stretch of slow answers the
#: threads catch up on the budget they could not use, instead of losing it. Within any span of ``t``
#: seconds at most ``(t + 0.5) * rate + 1`` requests go out, which a limiter on Stripe's side allowing
#: a second's worth of burst at a higher rate (23/s against 25/s) accepts for every ``t``.
BURST_SECONDS = 0.5


class RateLimiter:
    """
    Keep requests under two budgets at once: the account's and each endpoint's.

    Each budget spaces requests ``1 / rate`` seconds apart on average (a request may go up to
    ``burst`` seconds ahead of its turn). A request waits until both the account's budget and its
    endpoint's have room; a thread waiting for one endpoint never holds up requests to another.

    :param rate: requests per second for the account; must be positive.
    :param endpoint_rate: requests per second on any one endpoint; ``None`` for no endpoint budget.
    :param burst: seconds a request may go ahead of its turn.
    :param clock: a monotonic clock (tests pass a fake one).
    :param sleep: the function that waits.
    """

    def __init__(
        self,
        rate: float,
        *,
        endpoint_rate: float | None = None,
        burst: float = BURST_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate or rate <= 0:
            raise ValueError(f"requests_per_second must be more than 0, got {rate!r}.")
        if endpoint_rate is not None and endpoint_rate <= 0:
            raise ValueError(f"the endpoint rate must be more than 0, got {endpoint_rate!r}.")
        self.rate = float(rate)
        self.endpoint_rate = float(endpoint_rate) if endpoint_rate else None
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # The time each budget is next free at ("theoretical arrival time").
        self._account_next = -float("inf")
        self._endpoint_next: dict[str, float] = {}
        self._slowed_until = -float("inf")

    def acquire(self, endpoint: str | None = None) -> float:
        """Wait until this request fits both budgets; return how long it waited in all."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                slowed = now < self._slowed_until
                account_free = self._account_next - self.burst
                endpoint_free = -float("inf")
                if endpoint is not None and self.endpoint_rate is not None:
                    endpoint_free = self._endpoint_next.get(endpoint, -float("inf")) - self.burst
                ready_at = max(account_free, endpoint_free)
                if now >= ready_at:
                    factor = 2.0 if slowed else 1.0
                    self._account_next = max(self._account_next, now) + factor / self.rate
                    if endpoint is not None and self.endpoint_rate is not None:
                        previous = self._endpoint_next.get(endpoint, now)
                        self._endpoint_next[endpoint] = max(previous, now) + factor / self.endpoint_rate
                    return waited
                wait = ready_at - now
            self._sleep(wait)
            waited += wait

    def slow_down(self, seconds: float = 10.0) -> None:
        """Halve both rates for ``seconds``, after Stripe answered 429."""
        with self._lock:
            self._slowed_until = max(self._slowed_until, self._clock() + seconds)


_LIMITERS: dict[tuple[str, float, float | None], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(key: str, rate: float, endpoint_rate: float | None = None) -> RateLimiter:
    """Return the process-wide limiter for ``key`` (an account) at these rates, made once."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get((key, rate, endpoint_rate))
        if limiter is None:
            limiter = _LIMITERS[(key, rate, endpoint_rate)] = RateLimiter(rate, endpoint_rate=endpoint_rate)
        return limiter
