"""Stripe's speed as a client sees it: per-request latency and the two rate limits.

Stripe answers a list request in a few hundred milliseconds and allows about 100 requests per second
per account in live mode (25 in test mode) and about 25 per second on any one endpoint; above either
it answers 429 with code ``rate_limit``. The sandbox answers at once and without limits unless told
otherwise, through ``POST /_sandbox/limits`` or the command line's ``--latency``, ``--account-rate``
and ``--endpoint-rate``. Only the Stripe API (``/v1``) is throttled.

Each limit is a token bucket holding one second's worth of requests, refilled at the rate on the
machine's monotonic clock (never the sandbox clock, which tests freeze). Accounts are told apart by
the ``Stripe-Account`` header and the key's mode; endpoints by method and route (``GET
/v1/charges``; every charge id shares ``GET /v1/charges/{charge}``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_stripe_sync.sandbox.common import ApiResponse, SandboxRequest

#: The settings ``/_sandbox/limits`` takes, all off by default.
LIMIT_FIELDS = ("latency", "account_rate", "endpoint_rate")


class TokenBucket:
    """Allow ``rate`` requests per second with bursts of up to one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self._clock = clock
        self._updated = clock()

    def ready(self) -> bool:
        """Refill for the time passed; whether a token is there to take."""
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now
        return self.tokens >= 1.0


class Throttle:
    """
    Latency and rate limits for the sandbox's Stripe API.

    :param stripe_api: the sandbox's Stripe API, which renders the 429s.
    :param clock: a monotonic clock (tests pass a fake one).
    """

    def __init__(self, stripe_api: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._stripe_api = stripe_api
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """No latency and no limits; forget every bucket and count."""
        with self._lock:
            self.latency = 0.0
            self.account_rate: float | None = None
            self.endpoint_rate: float | None = None
            self._accounts: dict[tuple[str, bool], TokenBucket] = {}
            self._endpoints: dict[tuple[str, bool, str], TokenBucket] = {}
            self.throttled = {"account": 0, "endpoint": 0}
            self.requests = 0

    def configure(self, settings: dict[str, Any]) -> None:
        """
        Change the settings given (``latency`` in seconds, ``account_rate``, ``endpoint_rate`` in
        requests per second; ``null`` or 0 switches a limit off); the buckets start full.
        """
        unknown = sorted(set(settings) - set(LIMIT_FIELDS))
        if unknown:
            raise ValueError(f"unknown limit settings {unknown}; known: {', '.join(LIMIT_FIELDS)}")
        values = {}
        for name, value in settings.items():
            number = 0.0 if value is None else float(value)
            if number < 0:
                raise ValueError(f"{name} must be 0 or more, got {value!r}")
            values[name] = number
        with self._lock:
            if "latency" in values:
                self.latency = values["latency"]
            if "account_rate" in values:
                self.account_rate = values["account_rate"] or None
            if "endpoint_rate" in values:
                self.endpoint_rate = values["endpoint_rate"] or None
            self._accounts.clear()
            self._endpoints.clear()

    def as_dict(self) -> dict[str, Any]:
        """The settings, how many Stripe requests came in and how many each limit refused so far."""
        with self._lock:
            return {
                "latency": self.latency,
                "account_rate": self.account_rate,
                "endpoint_rate": self.endpoint_rate,
                "requests": self.requests,
                "throttled": dict(self.throttled),
            }

    def admit(self, req: SandboxRequest, endpoint: str) -> str | None:
        """
        Count one request against both limits; return which one it is over (``"account"`` or
        ``"endpoint"``), or ``None`` when it may go on.
        """
        if self.account_rate is None and self.endpoint_rate is None:
            return None
        account = req.header("stripe-account") or ""
        live = "_live_" in (req.header("authorization") or "")
        with self._lock:
            buckets = []
            if self.endpoint_rate is not None:
                key = (account, live, endpoint)
                if key not in self._endpoints:
                    self._endpoints[key] = TokenBucket(self.endpoint_rate, self._clock)
                buckets.append(("endpoint", self._endpoints[key]))
            if self.account_rate is not None:
                if (account, live) not in self._accounts:
                    self._accounts[(account, live)] = TokenBucket(self.account_rate, self._clock)
                buckets.append(("account", self._accounts[(account, live)]))
            # A refused request uses up neither budget, as with Stripe.
            for name, bucket in buckets:
                if not bucket.ready():
                    self.throttled[name] += 1
                    return name
            for _, bucket in buckets:
                bucket.tokens -= 1.0
        return None

    def refusal(self, api_name: str, req: SandboxRequest) -> ApiResponse | None:
        """The 429 Stripe would send for a request over a rate limit, or ``None`` to answer it."""
        if api_name != "stripe":
            return None
        with self._lock:
            self.requests += 1
        from airflow_provider_stripe_sync.sandbox.stripe_api import FAULT_MESSAGES, match_route
        from airflow_provider_stripe_sync.sandbox.stripe_model import StripeError

        route = match_route(req.method, req.path)
        over = self.admit(req, f"{req.method} {route[0] if route else req.path}")
        if over is None:
            return None
        error = StripeError(429, FAULT_MESSAGES["rate_limit"], code="rate_limit")
        response = self._stripe_api.error_response(error, req)
        response.headers["Request-Id"] = req.request_id
        return response

    def latency_for(self, api_name: str) -> float:
        """The seconds to hold an answer of ``api_name`` back."""
        return self.latency if api_name == "stripe" else 0.0
