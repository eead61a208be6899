from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.hooks.base import api_base_url, connection_extras

ALLOWED = {"stripe_account": str, "max_network_retries": int, "allow_insecure_host": bool}


def test_extras_are_checked_and_coerced():
    extras = connection_extras(
        '{"stripe_account": "acct_1", "max_network_retries": "3", "allow_insecure_host": "true"}',
        allowed=ALLOWED,
        conn_id="c",
    )
    assert extras == {"stripe_account": "acct_1", "max_network_retries": 3, "allow_insecure_host": True}


@pytest.mark.parametrize(
    "extra, message",
    [
        ("{not json", "Connection 'c': extra is not valid JSON"),
        ("[1]", 'Connection \'c\': extra must be a JSON object such as {"key": "value"}, got a JSON list'),
        (
            '{"stripe_acount": "acct_1"}',
            "unknown extra field(s) stripe_acount; "
            "accepted: allow_insecure_host, max_network_retries, stripe_account",
        ),
        ('{"max_network_retries": "many"}', "extra 'max_network_retries' must be int, got 'many'"),
        ('{"max_network_retries": true}', "extra 'max_network_retries' must be int, got a bool"),
    ],
)
def test_bad_extras_name_the_field(extra, message):
    with pytest.raises(ValueError) as caught:
        connection_extras(extra, allowed=ALLOWED, conn_id="c")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "host, port, expected",
    [
        (None, None, "https://api.stripe.com"),
        ("http://127.0.0.1:12111/", None, "http://127.0.0.1:12111"),
        ("127.0.0.1", 12111, "http://127.0.0.1:12111"),
        ("localhost:8000", None, "http://localhost:8000"),
        ("stripe-proxy.internal", None, "https://stripe-proxy.internal"),
        ("http://[::1]:9", None, "http://[::1]:9"),
    ],
)
def test_host_overrides(host, port, expected):
    assert (
        api_base_url(host, default="https://api.stripe.com", allow_insecure=False, conn_id="c", port=port)
        == expected
    )


def test_plain_http_off_loopback_needs_opt_in():
    with pytest.raises(ValueError, match="plain http on a non-loopback address.*allow_insecure_host"):
        api_base_url("http://sandbox:12111", default="x", allow_insecure=False, conn_id="c")
    assert (
        api_base_url("http://sandbox:12111", default="x", allow_insecure=True, conn_id="c")
        == "http://sandbox:12111"
    )


def test_a_malformed_secret_extra_is_not_echoed():
    with pytest.raises(ValueError) as caught:
        connection_extras('{"client_secret": 123456789012345}', allowed={"client_secret": str}, conn_id="c")
    expected = (
        "Connection 'c': extra 'client_secret' must be str, got an int (value hidden). "
        "Fix the value of 'client_secret' in the connection's extra, or remove it."
    )
    assert str(caught.value) == expected
