"""
Test and live data never mix: each destination operator refuses records of the other Stripe mode.

The records' mode is the ``livemode`` of their header (the Stripe key they were read with); the
destination's is its connection's ``environment`` extra. A refusal happens before any request: the
sandbox's request log stays empty.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.exceptions import EnvironmentMismatchError
from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator
from airflow_provider_stripe_sync.operators.mailchimp import MailchimpUpsertMembersOperator
from airflow_provider_stripe_sync.operators.stripe import StripeListNewCustomersOperator
from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator
from airflow_provider_stripe_sync.records import RecordWriter
from tests.conftest import make_context
from tests.records_input import BALANCE_TRANSACTION, CUSTOMER, LEDGER, NOON

pytestmark = pytest.mark.integration

TEST_TO_LIVE = "were read from Stripe with a test-mode key, but connection {conn!r} is a live environment"
LIVE_TO_TEST = "were read from Stripe with a live-mode key, but connection {conn!r} is a test environment"


def connect(monkeypatch, conn_id, conn_type, url, environment, **fields):
    extra = {**fields.pop("extra", {}), "environment": environment}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": conn_type, "host": url, "extra": extra, **fields}),
    )


def records(tmp_path, record, *, livemode, name="records.jsonl"):
    header = {"resource": "customers", "account": None, "livemode": livemode}
    with RecordWriter(tmp_path / "records" / name, header=header) as writer:
        writer.write(record)
    return writer.uri


def hubspot(monkeypatch, url, environment):
    connect(monkeypatch, "hubspot_default", "hubspot", url, environment, password="pat-sandbox")
    return HubSpotUpsertContactsOperator, {}, CUSTOMER


def mailchimp(monkeypatch, url, environment):
    connect(
        monkeypatch,
        "mailchimp_default",
        "mailchimp",
        url,
        environment,
        password="0123456789abcdef0123456789abcdef-us21",
        extra={"list_id": "aud0001"},
    )
    return MailchimpUpsertMembersOperator, {}, CUSTOMER


def xero(monkeypatch, url, environment):
    connect(
        monkeypatch,
        "xero_default",
        "xero",
        url,
        environment,
        login="sandbox-client-id",
        password="sandbox-client-secret",
        extra={"refresh_token": "xero-sandbox-seed-refresh-token"},
    )
    return XeroCreateBankTransactionsOperator, {"ledger": LEDGER}, BALANCE_TRANSACTION


DESTINATIONS = {"hubspot_default": hubspot, "mailchimp_default": mailchimp, "xero_default": xero}


@pytest.mark.parametrize("conn_id", sorted(DESTINATIONS))
@pytest.mark.parametrize(
    ("livemode", "environment", "expected"), [(False, "live", TEST_TO_LIVE), (True, "test", LIVE_TO_TEST)]
)
def test_records_of_one_mode_are_refused_by_a_destination_of_the_other_before_any_request(
    sandbox, monkeypatch, tmp_path, conn_id, livemode, environment, expected
):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    operator_class, kwargs, record = DESTINATIONS[conn_id](monkeypatch, sandbox.url, environment)
    uri = records(tmp_path, record, livemode=livemode)
    operator = operator_class(task_id="write", records_uri=uri, **kwargs)
    sandbox.clear_requests()

    with pytest.raises(EnvironmentMismatchError) as raised:
        operator.execute(make_context())

    message = str(raised.value)
    assert expected.format(conn=conn_id) in message
    assert f"The records ({uri})" in message
    assert message.endswith("Nothing was written.")
    assert sandbox.requests() == []


def test_records_mixing_modes_are_refused(sandbox, monkeypatch, tmp_path):
    hubspot(monkeypatch, sandbox.url, "test")
    test_uri = records(tmp_path, CUSTOMER, livemode=False, name="a.jsonl")
    live_uri = records(tmp_path, CUSTOMER, livemode=True, name="b.jsonl")
    operator = HubSpotUpsertContactsOperator(task_id="write", records_uri=[test_uri, live_uri])
    sandbox.clear_requests()

    with pytest.raises(EnvironmentMismatchError) as raised:
        operator.execute(make_context())

    assert str(raised.value) == (
        f"The record files mix Stripe modes: {live_uri} was read in live mode and {test_uri} in test "
        "mode. Read every input with keys of one mode."
    )
    assert sandbox.requests() == []


def test_a_test_key_listing_then_a_live_hubspot_is_refused_end_to_end(sandbox, monkeypatch, tmp_path):
    # The sandbox's keys are test keys: the List New operator's header says so.
    sandbox.seed(scenario="demo", seed=3, end=NOON + 43200, days=1, customers=20)
    listing = StripeListNewCustomersOperator(task_id="list", output_uri=str(tmp_path))
    summary = listing.execute(make_context(interval=(NOON - 43200, NOON + 43200)))
    assert summary["count"] > 0
    hubspot(monkeypatch, sandbox.url, "live")
    sandbox.clear_requests()

    with pytest.raises(EnvironmentMismatchError, match=TEST_TO_LIVE.format(conn="hubspot_default")):
        HubSpotUpsertContactsOperator(task_id="write", records_uri=summary).execute(make_context())

    assert sandbox.requests() == []


def test_the_same_mode_goes_through(sandbox, monkeypatch, tmp_path):
    hubspot(monkeypatch, sandbox.url, "test")
    uri = records(tmp_path, CUSTOMER, livemode=False)
    result = HubSpotUpsertContactsOperator(task_id="write", records_uri=uri).execute(make_context())
    assert (result["upserted"], result["rejected"]) == (1, 0)
    assert [c["properties"]["email"] for c in sandbox.state()["hubspot"]["contacts"]] == ["ada@example.com"]
