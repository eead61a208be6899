"""Which environment a destination connection is, and the check against the records' Stripe mode."""

from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.environment import (
    check_environment,
    check_records_environment,
    connection_environment,
    records_livemode,
)
from airflow_provider_stripe_sync.exceptions import EnvironmentMismatchError
from airflow_provider_stripe_sync.get_provider_info import get_provider_info
from airflow_provider_stripe_sync.hooks.hubspot import HUBSPOT_EXTRAS
from airflow_provider_stripe_sync.hooks.mailchimp import MAILCHIMP_EXTRAS
from airflow_provider_stripe_sync.hooks.xero import XERO_EXTRAS
from airflow_provider_stripe_sync.records import RecordWriter


@pytest.mark.parametrize(
    ("extras", "host", "expected"),
    [
        ({}, None, "live"),
        ({}, "", "live"),
        ({}, "https://api.hubapi.com", "live"),
        ({}, "http://sandbox:12111", "live"),
        ({}, "http://127.0.0.1:12111", "test"),
        ({}, "localhost:8000", "test"),
        ({}, "http://[::1]:8000", "test"),
        ({"environment": ""}, "http://127.0.0.1:1", "test"),
        ({"environment": "test"}, "https://api.hubapi.com", "test"),
        ({"environment": " LIVE "}, "http://127.0.0.1:1", "live"),
    ],
)
def test_the_environment_is_the_extra_else_test_on_loopback_only(extras, host, expected):
    assert connection_environment(extras, host, conn_id="c") == expected


def test_an_unknown_environment_names_the_extra_and_the_choices():
    with pytest.raises(ValueError) as raised:
        connection_environment({"environment": "prod"}, None, conn_id="hubspot_default")
    assert str(raised.value) == (
        "Connection 'hubspot_default': extra 'environment' must be 'test' (an account used for testing, "
        "the sandbox) or 'live' (the real account), got 'prod'."
    )


def test_records_say_their_mode_and_files_without_one_say_nothing():
    assert records_livemode([("a", {"livemode": False}), ("b", {})]) == (False, "a")
    assert records_livemode([("a", {}), ("b", {"livemode": True})]) == (True, "b")
    assert records_livemode([("a", {}), ("b", {"livemode": None})]) == (None, None)


@pytest.mark.parametrize(("livemode", "environment"), [(True, "live"), (False, "test"), (None, "live")])
def test_the_same_mode_or_an_unknown_one_passes(livemode, environment):
    check_environment(livemode, environment, conn_id="c", uri="u")


def test_the_check_reads_only_the_headers(tmp_path):
    with RecordWriter(tmp_path / "a.jsonl", header={"resource": "customers", "livemode": True}) as writer:
        writer.write({"id": "cus_1"})
    with pytest.raises(
        EnvironmentMismatchError, match="read from Stripe with a live-mode key, but connection 'x'"
    ):
        check_records_environment([writer.uri], "test", conn_id="x")
    assert check_records_environment([writer.uri], "live", conn_id="x") is True


@pytest.mark.parametrize(
    ("conn_type", "allowed"),
    [("hubspot", HUBSPOT_EXTRAS), ("xero", XERO_EXTRAS), ("mailchimp", MAILCHIMP_EXTRAS)],
)
def test_every_destination_form_and_allow_list_has_the_environment(conn_type, allowed):
    forms = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    field = forms[conn_type]["conn-fields"]["environment"]
    assert field["schema"] == {"type": ["string", "null"], "enum": ["test", "live", None]}
    assert allowed["environment"] is str
    # Stripe's own connections know their mode from the key.
    assert "environment" not in forms["stripe"]["conn-fields"]


def test_each_refusal_says_how_the_environment_was_decided():
    with pytest.raises(EnvironmentMismatchError) as live_to_test:
        check_environment(True, "test", conn_id="hubspot_default", uri="file:///r.jsonl")
    assert "is a test environment (extra 'environment' is 'test', or empty on a loopback host)" in str(
        live_to_test.value
    )
    with pytest.raises(EnvironmentMismatchError) as test_to_live:
        check_environment(False, "live", conn_id="hubspot_default", uri="file:///r.jsonl")
    assert (
        "is a live environment (extra 'environment' is 'live', or empty on a host that is not loopback)"
        in (str(test_to_live.value))
    )
