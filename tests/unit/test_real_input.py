"""Objects Stripe itself made (stripe-fixtures3.json) go through record files and the HubSpot mapping."""

from __future__ import annotations

import copy
import json

import pytest

from airflow_provider_stripe_sync.mapping.hubspot import contact_properties, plan_contacts
from airflow_provider_stripe_sync.records import RecordWriter, read_records
from tests.contract import specs_dir, stripe_fixtures

pytestmark = pytest.mark.skipif(
    specs_dir() is None, reason="../shared/specs is absent (set STRIPE_SYNC_SPECS_DIR)"
)

RESOURCES = ("customer", "subscription", "charge", "balance_transaction")


@pytest.fixture
def fixtures():
    return {name: copy.deepcopy(stripe_fixtures()[name]) for name in RESOURCES}


def test_fixture_objects_round_trip_through_a_record_file(tmp_path, fixtures):
    with RecordWriter(str(tmp_path / "real.jsonl"), header={"resource": "mixed"}) as writer:
        for name in RESOURCES:
            writer.write(fixtures[name])
    assert list(read_records(writer.uri)) == [json.loads(json.dumps(fixtures[name])) for name in RESOURCES]


def test_fixture_customer_and_subscription_give_the_expected_contact(fixtures):
    customer = {**fixtures["customer"], "email": " Fixture.Customer@Example.com ", "name": "Fixture Customer"}
    profile = {"customer": customer, "subscriptions": [fixtures["subscription"]], "products": {}}
    assert contact_properties(profile) == {
        "email": "fixture.customer@example.com",
        "firstname": "Fixture",
        "lastname": "Customer",
        "stripe_customer_id": "cus_QXg1o8vcGmoR32",
        "stripe_customer_created": "1234567890000",
        "stripe_subscription_id": "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
        "stripe_subscription_status": "active",
        # No product object and no price nickname: the product id stands in for the name.
        "stripe_product": "prod_QXg1hqf4jFNsqG",
        "stripe_livemode": "false",
    }


def test_fixture_objects_that_cannot_be_contacts_are_reported_not_raised(fixtures):
    contacts, rejections = plan_contacts([fixtures[name] for name in RESOURCES])
    assert contacts == []
    assert sorted((r.customer_id, r.reason, r.details.get("object")) for r in rejections) == [
        ("ch_1PgafuB7WZ01zgkWXYmPNZs8", "not_a_customer", "charge"),
        ("cus_QXg1o8vcGmoR32", "no_email", None),
        ("sub_1Pgc6rB7WZ01zgkWNy0Cn5nw", "not_a_customer", "subscription"),
        ("txn_1PgaxNB7WZ01zgkWEV3TLf40", "not_a_customer", "balance_transaction"),
    ]
