"""Emails from Stripe to HubSpot through the CRM sync's operators, against the sandbox."""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCustomerProfilesOperator,
    StripeListNewCustomersOperator,
    StripeListNewSubscriptionsOperator,
)
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000
DAY = 86400


def sync(tmp_path, run_id="r1"):
    context = make_context(interval=(B, B + DAY), run_id=run_id)
    out = str(tmp_path)
    customers = StripeListNewCustomersOperator(task_id="c", output_uri=out).execute(context)
    subscriptions = StripeListNewSubscriptionsOperator(task_id="s", output_uri=out).execute(context)
    profiles = StripeCustomerProfilesOperator(
        task_id="p", records_uris=[customers, subscriptions], output_uri=out
    ).execute(context)
    return HubSpotUpsertContactsOperator(task_id="h", records_uri=profiles).execute(context)


def contacts(sandbox):
    return sorted(
        (c["properties"]["email"], c["properties"]["stripe_customer_id"])
        for c in sandbox.state()["hubspot"]["contacts"]
    )


def report(result):
    with open(result["report_uri"].removeprefix("file://")) as handle:
        return sorted((row["id"], row["reason"]) for row in map(json.loads, handle))


def test_case_and_space_variants_shared_emails_and_missing_emails(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_ada_old", "email": " Ada@Example.COM ", "created": B + 10},
                {"id": "cus_ada_new", "email": "ada@example.com", "created": B + 20},
                {"id": "cus_shared_a", "email": "team@example.com", "created": B + 30},
                {"id": "cus_shared_b", "email": "team@example.com", "created": B + 30},
                {"id": "cus_none", "created": B + 40},
            ]
        }
    )
    result = sync(tmp_path)

    # Newest customer wins a shared email; same second: the greater id.
    assert contacts(sandbox) == [("ada@example.com", "cus_ada_new"), ("team@example.com", "cus_shared_b")]
    assert (result["upserted"], result["unchanged"], result["rejected"]) == (2, 0, 3)
    assert report(result) == [
        ("cus_ada_old", "email_shared_with_newer_customer"),
        ("cus_none", "no_email"),
        ("cus_shared_a", "email_shared_with_newer_customer"),
    ]


def test_a_changed_email_updates_the_contact_instead_of_adding_one(sandbox, tmp_path):
    import stripe

    sandbox.seed(stripe={"customers": [{"id": "cus_move", "email": "old@example.com", "created": B + 5}]})
    sync(tmp_path)
    [before] = sandbox.state()["hubspot"]["contacts"]

    client = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url})
    client.v1.customers.update("cus_move", params={"email": "New@Example.com"})
    result = sync(tmp_path, run_id="r2")

    [after] = sandbox.state()["hubspot"]["contacts"]
    assert after["id"] == before["id"]
    assert after["properties"]["email"] == "new@example.com"
    assert after["properties"]["stripe_customer_id"] == "cus_move"
    assert (result["upserted"], result["unchanged"], result["rejected"]) == (1, 0, 0)


def test_an_email_given_up_in_the_same_batch_goes_to_the_customer_taking_it(sandbox, tmp_path):
    import stripe

    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_A", "email": "a@x.com", "created": B + 500},
                {"id": "cus_B", "email": "b-old@x.com", "created": B + 100},
            ]
        }
    )
    sync(tmp_path)
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url})
    client.v1.customers.update("cus_A", params={"email": "b@x.com"})
    client.v1.customers.update("cus_B", params={"email": "a@x.com"})

    result = sync(tmp_path, run_id="r2")
    # Both contacts moved: cus_A's to b@x.com first, then cus_B's to the a@x.com it freed.
    assert contacts(sandbox) == [("a@x.com", "cus_B"), ("b@x.com", "cus_A")]
    assert (result["upserted"], result["rejected"]) == (2, 0)
    again = sync(tmp_path, run_id="r3")
    assert (again["upserted"], again["unchanged"]) == (0, 2)
