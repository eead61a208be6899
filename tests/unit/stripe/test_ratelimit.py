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


def limiter(rate, clock, *, endpoint_rate=None, burst=0.0):
    return RateLimiter(rate, endpoint_rate=endpoint_rate, burst=burst, clock=clock, sleep=clock.sleep)


def test_requests_are_spaced_at_the_rate():
    clock = FakeClock()
    spaced = limiter(4, clock)
    assert [spaced.acquire() for _ in range(4)] == [0, 0.25, 0.25, 0.25]


def test_a_request_may_go_a_little_ahead_of_its_turn():
    clock = FakeClock()
    ahead = limiter(4, clock, burst=0.125)
    assert [ahead.acquire() for _ in range(3)] == [0, 0.125, 0.25]


def test_one_endpoint_is_held_to_its_own_budget_under_the_account_budget():
    clock = FakeClock()
    both = limiter(8, clock, endpoint_rate=2)
    assert both.acquire("GET /v1/charges") == 0
    # The account allows one every 0.125 s, the endpoint one every 0.5 s.
    assert both.acquire("GET /v1/charges") == 0.5
    # Another endpoint waits only for the account's budget.
    assert both.acquire("GET /v1/customers") == 0.125
    assert both.acquire("GET /v1/events") == 0.125
    # Customers again: its endpoint was last used at 100.625.
    assert both.acquire("GET /v1/customers") == 0.375
    assert clock.now == 101.125


def test_waiting_for_one_endpoint_reserves_nothing_on_the_account():
    clock = FakeClock()
    both = limiter(8, clock, endpoint_rate=2)
    both.acquire("GET /v1/charges")
    clock.now += 0.25
    # The charges budget is busy until 100.5; customers go at once, the account being free.
    assert both.acquire("GET /v1/customers") == 0
    assert both.acquire("GET /v1/charges") == 0.25


def requests_in(seconds, both, clock, endpoints):
    started, sent = clock.now, 0
    while True:
        both.acquire(endpoints[sent % len(endpoints)])
        if clock.now >= started + seconds:
            return sent
        sent += 1


def test_one_endpoint_gets_its_budget_and_four_share_the_account_budget():
    one = FakeClock()
    assert requests_in(10, limiter(8, one, endpoint_rate=4), one, ["GET /v1/charges"]) == 40
    four = FakeClock()
    endpoints = ["GET /v1/charges", "GET /v1/customers", "GET /v1/subscriptions", "GET /v1/events"]
    # Four endpoints could take 16/s; the account allows 8.
    assert requests_in(10, limiter(8, four, endpoint_rate=4), four, endpoints) == 80


def test_a_429_halves_both_rates_for_a_while():
    clock = FakeClock()
    both = limiter(4, clock, endpoint_rate=2)
    both.acquire()
    both.slow_down(10)
    assert both.acquire() == 0.25
    assert both.acquire() == 0.5
    assert both.acquire("GET /v1/charges") == 0.5
    assert both.acquire("GET /v1/charges") == 1.0
    clock.now += 20
    both.acquire("GET /v1/charges")
    assert both.acquire() == 0.25
    assert both.acquire("GET /v1/charges") == 0.25


@pytest.mark.parametrize("rate", [0, -1, None])
def test_rate_must_be_positive(rate):
    with pytest.raises(ValueError, match="requests_per_second must be more than 0"):
        RateLimiter(rate)


def test_endpoint_rate_must_be_positive():
    with pytest.raises(ValueError, match="the endpoint rate must be more than 0, got -2"):
        RateLimiter(10, endpoint_rate=-2)


def test_limiters_are_shared_per_account_and_rates():
    assert shared_limiter("acct_1", 20.0) is shared_limiter("acct_1", 20.0)
    assert shared_limiter("acct_1", 20.0) is not shared_limiter("acct_2", 20.0)
    assert shared_limiter("acct_1", 20.0, 20.0) is not shared_limiter("acct_1", 20.0)
    assert shared_limiter("acct_1", 90.0, 23.0).endpoint_rate == 23.0
