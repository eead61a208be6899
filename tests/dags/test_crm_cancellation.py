"""
A cancellation reaches HubSpot: real ``airflow dags test`` runs of the CRM sync against the sandbox.

A subscription created on one day and canceled the next is not new on the second day; the second
run finds it through Stripe's events and changes the contact's ``stripe_subscription_status``.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import stripe

from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_ID = "stripe_hubspot_crm_sync"
DAY_ONE = datetime(2026, 11, 10, tzinfo=timezone.utc)
D1 = int(DAY_ONE.timestamp())
HOUR = 3600
DAY = 24 * HOUR
TASKS = ("list_new_subscriptions", "list_updated_subscriptions", "list_updated_customers", "summarize")


@pytest.fixture(scope="module")
def airflow(sandbox_server, tmp_path_factory):
    local = LocalAirflow(
        tmp_path_factory.mktemp("airflow"), connections=sandbox_connections(sandbox_server.url)
    )
    local.migrate()
    return local


def run_day(airflow, sandbox, day_start):
    """Run the DAG for the day ``[day_start, day_start + 1 day)``, five minutes after it ended."""
    day_end = day_start + DAY
    sandbox.set_clock(day_end + 300)
    airflow.dags_test(DAG_ID, datetime.fromtimestamp(day_end, tz=timezone.utc).isoformat())
    return airflow.last_run(DAG_ID, xcom_tasks=TASKS)


def contacts(sandbox):
    return [
        (
            c["properties"]["email"],
            c["properties"]["stripe_customer_id"],
            c["properties"]["stripe_subscription_status"],
        )
        for c in sandbox.state()["hubspot"]["contacts"]
    ]


@pytest.mark.timeout(900)
def test_a_cancellation_on_a_later_day_changes_the_contact_status(airflow, sandbox_server):
    sandbox = sandbox_server
    sandbox.reset()
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_leaver", "email": "Leaver@Example.com", "created": D1 + HOUR}],
            "products": [{"id": "prod_team", "name": "Team", "created": D1 - DAY}],
            "prices": [
                {
                    "id": "price_team",
                    "product": "prod_team",
                    "currency": "usd",
                    "unit_amount": 4900,
                    "recurring": {"interval": "month"},
                    "created": D1 - DAY,
                }
            ],
            "subscriptions": [
                {
                    "id": "sub_leaver",
                    "customer": "cus_leaver",
                    "items": [{"price": "price_team"}],
                    "created": D1 + 2 * HOUR,
                }
            ],
        }
    )

    first = run_day(airflow, sandbox, D1)
    assert first["xcom"]["list_new_subscriptions"]["count"] == 1
    assert contacts(sandbox) == [("leaver@example.com", "cus_leaver", "active")]

    sandbox.set_clock(D1 + DAY + 5 * HOUR)
    key = sandbox_connections(sandbox.url)["stripe_default"]["password"]
    client = stripe.StripeClient(key, base_addresses={"api": sandbox.url}, max_network_retries=0)
    client.v1.subscriptions.cancel("sub_leaver")

    second = run_day(airflow, sandbox, D1 + DAY)
    xcom = second["xcom"]
    assert xcom["list_new_subscriptions"]["count"] == 0
    assert xcom["list_updated_subscriptions"]["count"] == 1
    assert xcom["list_updated_subscriptions"]["window"] == [D1 + DAY, D1 + 2 * DAY]
    assert xcom["list_updated_customers"]["count"] == 0
    assert xcom["summarize"]["stripe_subscriptions_changed"] == 1
    assert xcom["summarize"]["hubspot_contacts_upserted"] == 1
    assert contacts(sandbox) == [("leaver@example.com", "cus_leaver", "canceled")]

    # The next day nothing changed in Stripe, so nothing is written to HubSpot.
    third = run_day(airflow, sandbox, D1 + 2 * DAY)
    assert third["xcom"]["summarize"]["stripe_subscriptions_changed"] == 0
    assert third["xcom"]["summarize"]["hubspot_contacts_upserted"] == 0
    assert contacts(sandbox) == [("leaver@example.com", "cus_leaver", "canceled")]
