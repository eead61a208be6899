"""Fixtures for the sandbox's own tests: one server per session, reset before each test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import stripe  # noqa: F401

from airflow_provider_stripe_sync.sandbox.testing import SandboxServer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_helpers import B, contract, make_client  # noqa: E402


@pytest.fixture(scope="session")
def sbx_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sbx(sbx_server):
    """A reset sandbox with its clock frozen at ``B``."""
    sbx_server.reset()
    sbx_server.set_clock(B)
    return sbx_server


@pytest.fixture
def client(sbx) -> stripe.StripeClient:
    return make_client(sbx.url)


@pytest.fixture
def hubspot(sbx):
    from hubspot import HubSpot

    return HubSpot(access_token="pat-sandbox", host=sbx.url)


@pytest.fixture
def specs():
    if contract.specs_dir() is None:
        pytest.skip("vendor specs not found (../shared/specs or $STRIPE_SYNC_SPECS_DIR)")
    return contract
