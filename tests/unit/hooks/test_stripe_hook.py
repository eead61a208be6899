from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.hooks.stripe import StripeHook, check_api_key


@pytest.mark.parametrize("key", ["sk_test_abc", "rk_live_abc", "  sk_live_x  "])
def test_secret_and_restricted_keys_pass(key):
    assert check_api_key(key, conn_id="c") == key.strip()


@pytest.mark.parametrize(
    "key, message",
    [
        (
            "pk_test_abc",
            "Connection 'c' holds a publishable key (pk_…), which cannot call the API from a server",
        ),
        ("", "Connection 'c' has no API key"),
        (None, "Connection 'c' has no API key"),
        ("whsec_abc", "the password is not a Stripe secret (sk_…) or restricted (rk_…) key"),
    ],
)
def test_other_keys_are_refused_saying_why(key, message):
    with pytest.raises(ValueError) as caught:
        check_api_key(key, conn_id="c")
    assert message in str(caught.value)
    assert "abc" not in str(caught.value)


def conn_env(monkeypatch, conn_id="stripe_default", **fields):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "stripe", **fields}))


def test_hook_builds_one_client_pointed_at_the_host_with_sdk_retries_off(monkeypatch):
    conn_env(
        monkeypatch,
        password="sk_test_123",
        host="http://127.0.0.1:9",
        extra=json.dumps({"stripe_version": "2025-01-01.test", "max_network_retries": 2}),
    )
    hook = StripeHook()
    client = hook.get_conn()
    assert client is hook.get_conn()
    assert hook.base_url == "http://127.0.0.1:9"
    assert hook.api_version == "2025-01-01.test"
    assert hook.retry_policy.max_retries == 2
    assert client._requestor._options.base_addresses["api"] == "http://127.0.0.1:9"
    assert client._requestor._options.max_network_retries == 0
    assert hook.livemode is False


def test_account_from_operator_overrides_extra_and_must_look_like_one(monkeypatch):
    conn_env(monkeypatch, password="sk_test_123", extra=json.dumps({"stripe_account": "acct_Extra1"}))
    assert StripeHook().request_options() == {"stripe_account": "acct_Extra1"}
    assert StripeHook(stripe_account="acct_Op2").request_options(idempotency_key="k") == {
        "stripe_account": "acct_Op2",
        "idempotency_key": "k",
    }
    with pytest.raises(ValueError, match="'cus_1' is not a Stripe account id"):
        StripeHook(stripe_account="cus_1").stripe_account


def test_publishable_key_fails_test_connection_without_raising(monkeypatch):
    conn_env(monkeypatch, password="pk_test_123")
    ok, message = StripeHook().test_connection()
    assert ok is False
    assert "publishable key" in message


@pytest.mark.parametrize(
    ("key", "extra", "budgets"),
    [
        ("sk_test_1", {}, (20.0, 20.0, 6)),
        ("sk_live_1", {}, (90.0, 23.0, 12)),
        ("rk_live_1", {"requests_per_second": 40, "max_concurrency": 3}, (40.0, 23.0, 3)),
        ("sk_live_1", {"requests_per_second": 10, "max_concurrency": 1}, (10.0, 10.0, 1)),
    ],
)
def test_rate_budgets_and_concurrency_come_from_the_key_mode_or_the_connection(
    monkeypatch, key, extra, budgets
):
    conn_env(monkeypatch, password=key, host="http://127.0.0.1:9", extra=json.dumps(extra))
    hook = StripeHook()
    limiter = hook.rate_limiter
    assert (limiter.rate, limiter.endpoint_rate, hook.max_concurrency) == budgets


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency must be 1 to 32, got 0; leave it empty for 6"),
        ({"max_concurrency": 33}, "max_concurrency must be 1 to 32, got 33; leave it empty for 6"),
        (
            {"requests_per_second": 0},
            "requests_per_second must be a number more than 0, got 0; leave it empty for 20/s",
        ),
        ({"requests_per_second": float("nan")}, "requests_per_second must be a number more than 0, got nan"),
        ({"requests_per_second": float("inf")}, "requests_per_second must be a number more than 0, got inf"),
    ],
)
def test_limits_that_would_stop_every_request_are_refused(monkeypatch, extra, message):
    conn_env(monkeypatch, password="sk_test_1", extra=json.dumps(extra))
    hook = StripeHook()
    with pytest.raises(ValueError, match=message):
        hook.max_concurrency if "max_concurrency" in extra else hook.rate_limiter
