"""
The one place where Stripe requests are retried.

The SDK's own retries are switched off (``max_network_retries=0`` on the client) and Airflow's task
retries are left for crashes, so a failing request is retried here and only here: retries never
multiply. Rate limits (plain 429 and ``lock_timeout``), conflicts, 5xx, connection errors, timeouts,
answers cut off mid-body and 2xx answers whose JSON cannot be read are retried with jittered
exponential backoff; ``Stripe-Should-Retry`` overrides that either way, and ``Retry-After`` sets the
wait when present. Everything else (400, 401, 403, 404) fails at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from airflow_provider_stripe_sync.exceptions import StripeRequestError

if TYPE_CHECKING:
    import stripe

log = logging.getLogger(__name__)

T = TypeVar("T")


def _header(err: stripe.StripeError, name: str) -> str | None:
    headers = err.headers or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def is_retryable(err: stripe.StripeError) -> bool:
    """Decide whether a failed request may succeed if sent again."""
    import stripe

    should_retry = _header(err, "Stripe-Should-Retry")
    if should_retry == "false":
        return False
    if should_retry == "true":
        return True
    if isinstance(err, stripe.APIConnectionError):
        return bool(getattr(err, "should_retry", True)) or _broken_mid_answer(err)
    status = err.http_status or 0
    # A 2xx the SDK could not read (the JSON was cut short): sending again is as safe as any retry,
    # reads being reads and every write carrying an idempotency key.
    return status in (409, 429) or status >= 500 or 200 <= status < 300


#: Errors of the HTTP stack meaning the answer broke off (a reset or a cut connection mid-body).
#: stripe-python marks them not retryable, as it cannot know whether the request was applied; our
#: writes carry idempotency keys, so they are retried like a connection error.
_BROKEN_ANSWER_ERRORS = ("ChunkedEncodingError", "ContentDecodingError", "ProtocolError", "IncompleteRead")


def _broken_mid_answer(err: stripe.StripeError) -> bool:
    cause = err.__cause__
    return cause is not None and any(cls.__name__ in _BROKEN_ANSWER_ERRORS for cls in type(cause).__mro__)


def describe_error(err: stripe.StripeError) -> str:
    """Return a one-line description naming the status, code and request id."""
    parts = []
    if err.http_status:
        parts.append(f"HTTP {err.http_status}")
    if err.code:
        parts.append(err.code)
    parts.append(f"request {err.request_id}" if err.request_id else "no request id")
    message = getattr(err, "user_message", None) or str(err._message or err)
    return f"{', '.join(parts)}: {message}"


@dataclass
class RetryPolicy:
    """
    How often and how patiently to retry a Stripe request.

    :param max_retries: retries after the first attempt (so ``max_retries + 1`` requests at most).
    :param initial_delay: the first backoff, in seconds; it doubles each retry.
    :param max_delay: the longest single wait, in seconds, ``Retry-After`` included.
    :param sleep: the function that waits (tests pass a recorder).
    :param on_rate_limited: called with the error each time Stripe answers 429, so a rate limiter
        can slow down.
    """

    max_retries: int = 5
    initial_delay: float = 0.5
    max_delay: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    on_rate_limited: Callable[[stripe.StripeError], None] | None = field(default=None, repr=False)

    def delay(self, retry_number: int, err: stripe.StripeError) -> float:
        """Return how long to wait before retry ``retry_number`` (1-based)."""
        retry_after = _header(err, "Retry-After")
        if retry_after is not None:
            try:
                return min(self.max_delay, max(0.0, float(retry_after)))
            except ValueError:
                pass
        backoff = min(self.max_delay, self.initial_delay * 2 ** (retry_number - 1))
        return backoff * random.uniform(0.5, 1.0)

    def call(self, request: Callable[[], T], *, description: str) -> T:
        """
        Send ``request`` until it succeeds, fails for good, or the retries run out.

        :param request: a function that sends one request.
        :param description: what the request does, for logs and the final error ("list charges").
        :raises StripeRequestError: naming the request id and the number of attempts.
        """
        # Imported here, not at the top: DAG files import operators, and parsing must stay cheap.
        import stripe

        attempts = 0
        while True:
            attempts += 1
            try:
                return request()
            except stripe.StripeError as err:
                if err.http_status == 429 and self.on_rate_limited is not None:
                    self.on_rate_limited(err)
                if not is_retryable(err) or attempts > self.max_retries:
                    raise _final_error(err, description, attempts) from err
                wait = self.delay(attempts, err)
                log.warning(
                    "[Try %d of %d] Stripe %s failed (%s); retrying in %.2f s.",
                    attempts,
                    self.max_retries + 1,
                    description,
                    describe_error(err),
                    wait,
                )
                self.sleep(wait)


def _final_error(err: stripe.StripeError, description: str, attempts: int) -> StripeRequestError:
    if attempts > 1:
        summary = f"Stripe {description} failed after {attempts} attempts ({describe_error(err)})"
    else:
        summary = f"Stripe {description} failed ({describe_error(err)})"
    return StripeRequestError(
        summary,
        request_id=err.request_id,
        http_status=err.http_status,
        code=err.code,
        attempts=attempts,
    )
