"""
A client-side request rate limiter, shared by every thread of a process.

Stripe allows about 100 read requests per second per account in live mode and 25 in test mode. Staying
below that on the client side avoids 429s instead of recovering from them; a 429 that still comes back
halves the rate for a while. Across tasks and workers, an Airflow pool per Stripe account bounds
concurrency: this limiter only sees its own process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Default requests per second: below Stripe's 25/s (test mode) and 100/s (live mode).
DEFAULT_RATE = {False: 20.0, True: 80.0}


class RateLimiter:
    """
    Space requests at least ``1 / rate`` seconds apart.

    :param rate: requests per second; must be positive.
    :param clock: a monotonic clock (tests pass a fake one).
    :param sleep: the function that waits.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate or rate <= 0:
            raise ValueError(f"requests_per_second must be more than 0, got {rate!r}.")
        self.rate = float(rate)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._slowed_until = 0.0

    def acquire(self) -> float:
        """Wait for this request's slot; return how long it waited."""
        with self._lock:
            now = self._clock()
            rate = self.rate / 2 if now < self._slowed_until else self.rate
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / rate
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self, seconds: float = 10.0) -> None:
        """Halve the rate for ``seconds``, after Stripe answered 429."""
        with self._lock:
            self._slowed_until = max(self._slowed_until, self._clock() + seconds)


_LIMITERS: dict[tuple[str, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(key: str, rate: float) -> RateLimiter:
    """Return the process-wide limiter for ``key`` (an account) at ``rate``, made once."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get((key, rate))
        if limiter is None:
            limiter = _LIMITERS[(key, rate)] = RateLimiter(rate)
        return limiter
