from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.stripe.ratelimit import RateLimiter, shared_limiter


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.waits = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


def test_requests_are_spaced_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(4)] == [0, 0.25, 0.25, 0.25]


def test_a_429_halves_the_rate_for_a_while():
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.slow_down(10)
    assert limiter.acquire() == 0.25
    assert limiter.acquire() == 0.5
    clock.now += 20
    limiter.acquire()
    assert limiter.acquire() == 0.25


@pytest.mark.parametrize("rate", [0, -1, None])
def test_rate_must_be_positive(rate):
    with pytest.raises(ValueError, match="requests_per_second must be more than 0"):
        RateLimiter(rate)


def test_limiters_are_shared_per_account_and_rate():
    assert shared_limiter("acct_1", 20.0) is shared_limiter("acct_1", 20.0)
    assert shared_limiter("acct_1", 20.0) is not shared_limiter("acct_2", 20.0)
