"""
A test DAG running every kind of operator of the provider once, for the secrets scan.

Every connection it uses holds a known secret in each of its credential fields; the test scans what
the run leaves behind. Two tasks fail on purpose (a Stripe key Stripe refuses, a Xero refresh token
Xero refuses), so that error messages are scanned too.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable

from airflow_provider_stripe_sync.operators.cleanup import StripeSyncCleanupOperator
from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator
from airflow_provider_stripe_sync.operators.mailchimp import MailchimpUpsertMembersOperator
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCreateCustomerOperator,
    StripeCustomerProfilesOperator,
    StripeListConnectedAccountsOperator,
    StripeListNewBalanceTransactionsOperator,
    StripeListNewChargesOperator,
    StripeListNewCustomersOperator,
)
from airflow_provider_stripe_sync.operators.stripe_method import StripeMethodOperator
from airflow_provider_stripe_sync.operators.stripe_updated import StripeListUpdatedCustomersOperator
from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator
from airflow_provider_stripe_sync.sensors.stripe import StripeNewChargesSensor, StripeNewSubscriptionsSensor

LEDGER = {
    "currencies": {
        "usd": {"clearing": "095", "fees": "404", "bank": "090"},
        "eur": {"clearing": "096", "fees": "404", "bank": "091"},
        "jpy": {"clearing": "097", "fees": "404", "bank": "092"},
        "gbp": {"clearing": "098", "fees": "404", "bank": "093"},
    },
    "categories": {"charge": "200", "refund": "200", "dispute": "480", "other_adjustment": "260"},
    "fee_accounts": {"tax": "820"},
    "suspense": "999",
}

with DAG(
    dag_id="stripe_sync_secrets_scan",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    default_args={"retries": 0},
):
    customers = StripeListNewCustomersOperator(task_id="list_new_customers")
    charges = StripeListNewChargesOperator(task_id="list_new_charges")
    updated = StripeListUpdatedCustomersOperator(task_id="list_updated_customers")
    created = StripeCreateCustomerOperator(
        task_id="create_customer",
        stripe_params={"email": "scan@example.com", "name": "Scan", "metadata": {"signup_id": "scan_1"}},
    )
    retrieved = StripeMethodOperator(
        task_id="retrieve_customer",
        method="customers.retrieve",
        object_id="{{ ti.xcom_pull(task_ids='create_customer')['id'] }}",
    )
    created >> retrieved
    StripeMethodOperator(task_id="list_products", method="products.list")
    StripeNewChargesSensor(task_id="wait_for_charges", deferrable=True, poke_interval=1, timeout=120)
    StripeNewSubscriptionsSensor(task_id="wait_for_subscriptions", mode="poke", poke_interval=1, timeout=60)
    profiles = StripeCustomerProfilesOperator(
        task_id="build_customer_profiles", records_uris=[customers.output, charges.output]
    )
    HubSpotUpsertContactsOperator(task_id="upsert_hubspot_contacts", records_uri=profiles.output)
    MailchimpUpsertMembersOperator(
        task_id="upsert_mailchimp_members", records_uri=[profiles.output, charges.output]
    )
    balance = StripeListNewBalanceTransactionsOperator(task_id="list_new_balance_transactions")
    XeroCreateBankTransactionsOperator(
        task_id="post_to_xero", records_uri=balance.output, ledger=LEDGER, stripe_conn_id="stripe_default"
    )
    StripeListConnectedAccountsOperator(
        task_id="list_connected_accounts", stripe_conn_id="stripe_oauth_default"
    )
    StripeListNewChargesOperator(task_id="list_app_account_charges", stripe_conn_id="stripe_app")
    StripeSyncCleanupOperator(task_id="remove_expired_files", retention_days=30)

    # These two fail on purpose: their error messages must not carry the credentials either.
    StripeListNewCustomersOperator(task_id="refused_stripe_key", stripe_conn_id="stripe_refused")
    XeroCreateBankTransactionsOperator(
        task_id="refused_xero_token", records_uri=balance.output, ledger=LEDGER, xero_conn_id="xero_refused"
    )
