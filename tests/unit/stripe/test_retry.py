from __future__ import annotations

import pytest
import requests
import stripe
import urllib3

from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.stripe.retry import RetryPolicy, is_retryable


def error(cls, status, code=None, **headers):
    extra = {"param": None} if cls is stripe.InvalidRequestError else {}
    return cls("boom", **extra, http_status=status, headers={"request-id": "req_abc", **headers}, code=code)


class Script:
    """Fails with the given errors in turn, then returns "ok"; counts calls."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    "err, expected",
    [
        (error(stripe.RateLimitError, 429, "rate_limit"), True),
        (error(stripe.RateLimitError, 429, "lock_timeout"), True),
        (error(stripe.APIError, 500), True),
        (error(stripe.APIError, 503), True),
        (error(stripe.InvalidRequestError, 409), True),
        (error(stripe.APIError, 500, **{"Stripe-Should-Retry": "false"}), False),
        (error(stripe.RateLimitError, 429, "rate_limit", **{"stripe-should-retry": "false"}), False),
        (error(stripe.InvalidRequestError, 400, **{"Stripe-Should-Retry": "true"}), True),
        (error(stripe.InvalidRequestError, 400, "parameter_unknown"), False),
        (error(stripe.AuthenticationError, 401), False),
        (error(stripe.PermissionError, 403), False),
        (error(stripe.InvalidRequestError, 404, "resource_missing"), False),
    ],
)
def test_classification(err, expected):
    assert is_retryable(err) is expected


def test_three_429s_then_success_make_four_calls_with_growing_waits():
    waits = []
    script = Script(*(error(stripe.RateLimitError, 429, "rate_limit") for _ in range(3)))
    policy = RetryPolicy(max_retries=5, initial_delay=1.0, sleep=waits.append)
    assert policy.call(script, description="list charges") == "ok"
    assert script.calls == 4
    assert len(waits) == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0


def test_retry_after_sets_the_wait():
    waits = []
    script = Script(error(stripe.RateLimitError, 429, "rate_limit", **{"Retry-After": "3"}))
    RetryPolicy(sleep=waits.append).call(script, description="x")
    assert waits == [3.0]


def test_should_retry_false_makes_one_call_and_names_the_request():
    script = Script(error(stripe.APIError, 500, **{"Stripe-Should-Retry": "false"}))
    with pytest.raises(StripeRequestError) as caught:
        RetryPolicy(sleep=lambda s: None).call(script, description="create customer")
    assert script.calls == 1
    assert caught.value.request_id == "req_abc"
    assert caught.value.attempts == 1
    assert str(caught.value).startswith("Stripe create customer failed (HTTP 500, request req_abc: ")


def test_exhausted_retries_name_the_request_id_and_attempts():
    script = Script(*(error(stripe.RateLimitError, 429, "lock_timeout") for _ in range(10)))
    with pytest.raises(StripeRequestError) as caught:
        RetryPolicy(max_retries=2, sleep=lambda s: None).call(script, description="list charges")
    assert script.calls == 3
    assert caught.value.attempts == 3
    assert caught.value.code == "lock_timeout"
    assert str(caught.value).startswith(
        "Stripe list charges failed after 3 attempts (HTTP 429, lock_timeout, request req_abc: "
    )


def test_rate_limit_callback_sees_each_429():
    seen = []
    script = Script(error(stripe.RateLimitError, 429, "rate_limit"), error(stripe.APIError, 502))
    RetryPolicy(sleep=lambda s: None, on_rate_limited=seen.append).call(script, description="x")
    assert [e.http_status for e in seen] == [429]


def connection_error(should_retry, cause):
    err = stripe.APIConnectionError("Unexpected error communicating with Stripe.", should_retry=should_retry)
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    "err, expected",
    [
        # A 2xx whose JSON was cut short: stripe-python raises APIError with the 2xx status.
        (error(stripe.APIError, 200), True),
        (error(stripe.APIError, 201), True),
        # An answer reset mid-body: requests raises ChunkedEncodingError, which the SDK marks final.
        (connection_error(False, requests.exceptions.ChunkedEncodingError("Connection broken")), True),
        (connection_error(False, urllib3.exceptions.ProtocolError("Connection broken")), True),
        (connection_error(True, requests.exceptions.ReadTimeout("read timed out")), True),
        # What the SDK marks final for a reason: a bad URL or certificate is not a flaky network.
        (connection_error(False, requests.exceptions.InvalidURL("no host")), False),
        (connection_error(False, requests.exceptions.SSLError("bad certificate")), False),
    ],
)
def test_broken_answers_are_retried_and_configuration_errors_are_not(err, expected):
    assert is_retryable(err) is expected
