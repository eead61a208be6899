"""The few errors this provider raises on top of Python's and Airflow's own."""

from __future__ import annotations

from typing import Any


class StripeSyncError(Exception):
    """Base class of this provider's errors."""


class StripeRequestError(StripeSyncError):
    """
    A Stripe request failed for good: not retryable, or still failing after the last retry.

    :param message: what went wrong, including Stripe's own message.
    :param request_id: the ``Request-Id`` Stripe answered with, when there was an answer.
    :param http_status: the HTTP status, when there was an answer.
    :param code: Stripe's error code (``rate_limit``, ``lock_timeout``, ``resource_missing``...).
    :param attempts: how many requests were sent in all.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        http_status: int | None = None,
        code: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.http_status = http_status
        self.code = code
        self.attempts = attempts


class IdempotencyError(StripeRequestError):
    """
    Stripe refused an ``Idempotency-Key``: it was first used for another endpoint or other parameters.

    :param idempotency_key: the key Stripe refused (not a secret: it is derived from the task run).
    """

    def __init__(self, message: str, *, idempotency_key: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.idempotency_key = idempotency_key


class DestinationError(StripeSyncError):
    """A destination API (HubSpot, Xero, Mailchimp) failed in a way retries cannot fix."""


class AllRecordsRejectedError(StripeSyncError):
    """Every record of a destination run was rejected: the run fails so that somebody looks."""


class EnvironmentMismatchError(StripeSyncError):
    """Records read from Stripe in one mode (test or live) were about to go to the other environment."""
