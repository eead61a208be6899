"""Shared constants and helpers of the sandbox tests."""

from __future__ import annotations

import sys
from pathlib import Path

import stripe

TESTS_DIR = Path(__file__).resolve().parents[2]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import contract  # noqa: E402

B = 1793491200  # 2026-11-01T00:00:00Z

__all__ = ["B", "contract", "make_client"]


def make_client(url: str, key: str = "sk_test_sandbox", retries: int = 0) -> stripe.StripeClient:
    """A StripeClient pointed at the sandbox."""
    return stripe.StripeClient(
        key,
        base_addresses={"api": url, "files": url, "connect": url, "meter_events": url},
        max_network_retries=retries,
    )
