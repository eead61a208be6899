"""
CRM sync: sign-ups become Stripe customers and subscriptions; Stripe customers become HubSpot contacts.

Each run covers one day, its data interval ``[start, end)``:

1. sign-ups from the platform's JSON Lines drop whose ``signed_up_at`` is in the window become Stripe
   customers (and subscriptions when they chose a plan), found again rather than duplicated on re-runs;
2. the Stripe customers and subscriptions created in the window are listed to record files, and so
   are those changed in it (from Stripe's events: an email changed, a subscription canceled, paused
   or renewed), each fetched again as it is now;
3. every customer they touch gets a profile: the customer, all of its subscriptions, their products
   (deleted customers are left out);
4. the profiles are upserted into HubSpot contacts by email, so a cancellation reaches the contact's
   ``stripe_subscription_status`` on the run of the day it happened.

A contact shows the customer's current subscription: the newest one that is not canceled (or, when
all are canceled, the newest one, so a cancellation shows), with its product's name.

A manual run with no data interval reads the window from the ``window_start``/``window_end`` params,
or, when those are empty, the last full day before the run. Re-running any interval changes nothing.
Stripe keeps events for 30 days, so an interval older than that fails in the List Updated tasks.

Connections: ``stripe_default`` and ``hubspot_default``. Pools: ``stripe_api`` and ``hubspot_api``.
Parsing this file imports no SDK and looks up no connection.

Record files and reports (they hold customers' emails and names) are removed by the stand-alone
``remove_expired_files`` task once older than the Variable ``stripe_sync_retention_days`` (30 days).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, task

from airflow_provider_stripe_sync.operators.cleanup import RETENTION_DAYS_TEMPLATE, StripeSyncCleanupOperator
from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCreateCustomersFromSignupsOperator,
    StripeCustomerProfilesOperator,
    StripeListNewCustomersOperator,
    StripeListNewSubscriptionsOperator,
)
from airflow_provider_stripe_sync.operators.stripe_updated import (
    StripeListUpdatedCustomersOperator,
    StripeListUpdatedSubscriptionsOperator,
)

SIGNUPS_URI = os.environ.get(
    "STRIPE_SYNC_SIGNUPS_URI", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "signups")
)
WINDOW = {"window_start": "{{ params.window_start }}", "window_end": "{{ params.window_end }}"}

with DAG(
    dag_id="stripe_hubspot_crm_sync",
    description="Sign-ups into Stripe, Stripe customers into HubSpot contacts, one day per run.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 1, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "window_start": Param(None, type=["null", "string"], description="Override: ISO-8601 start."),
        "window_end": Param(None, type=["null", "string"], description="Override: ISO-8601 end."),
    },
    tags=["stripe", "hubspot", "example"],
    doc_md=__doc__,
) as dag:
    signups = StripeCreateCustomersFromSignupsOperator(
        task_id="create_customers_from_signups", signups_uri=SIGNUPS_URI, pool="stripe_api", **WINDOW
    )
    new_customers = StripeListNewCustomersOperator(task_id="list_new_customers", pool="stripe_api", **WINDOW)
    new_subscriptions = StripeListNewSubscriptionsOperator(
        task_id="list_new_subscriptions", pool="stripe_api", **WINDOW
    )
    updated_customers = StripeListUpdatedCustomersOperator(
        task_id="list_updated_customers", pool="stripe_api", **WINDOW
    )
    updated_subscriptions = StripeListUpdatedSubscriptionsOperator(
        task_id="list_updated_subscriptions", pool="stripe_api", **WINDOW
    )
    profiles = StripeCustomerProfilesOperator(
        task_id="build_customer_profiles",
        records_uris=[
            new_customers.output,
            new_subscriptions.output,
            updated_customers.output,
            updated_subscriptions.output,
        ],
        pool="stripe_api",
    )
    contacts = HubSpotUpsertContactsOperator(
        task_id="upsert_hubspot_contacts",
        records_uri=profiles.output,
        pool="hubspot_api",
        outlets=[Asset(name="hubspot_contacts", uri="hubspot://crm/contacts")],
    )

    @task
    def summarize(
        customers: dict,
        subscriptions: dict,
        changed_customers: dict,
        changed_subscriptions: dict,
        upserted: dict,
    ) -> dict:
        """Say, for this interval, how many Stripe objects were read and HubSpot contacts written."""
        summary = {
            "window": customers["window"],
            "stripe_customers_read": customers["count"],
            "stripe_subscriptions_read": subscriptions["count"],
            "stripe_customers_changed": changed_customers["count"],
            "stripe_subscriptions_changed": changed_subscriptions["count"],
            "hubspot_contacts_upserted": upserted["upserted"],
            "hubspot_contacts_unchanged": upserted["unchanged"],
            "hubspot_records_rejected": upserted["rejected"],
            "report_uri": upserted["report_uri"],
        }
        import logging

        logging.getLogger(__name__).info("CRM sync summary: %s", summary)
        return summary

    signups >> [new_customers, new_subscriptions, updated_customers, updated_subscriptions]
    summarize(
        new_customers.output,
        new_subscriptions.output,
        updated_customers.output,
        updated_subscriptions.output,
        contacts.output,
    )

    # Record files and reports hold customers' emails and names: they go after the retention period
    # (the Variable stripe_sync_retention_days, 30 days by default). The task stands alone, so it runs
    # whatever the sync does, and a failed sync never hides behind its success.
    StripeSyncCleanupOperator(task_id="remove_expired_files", retention_days=RETENTION_DAYS_TEMPLATE)
