"""
Connect platforms: one sync mapped over every connected account, one data interval per run.

The platform's ``stripe_oauth_default`` connection (client id and platform key) lists the accounts
connected to it; the charges each account created in the day are listed with dynamic task mapping,
one mapped task per account, each acting for its account through the ``Stripe-Account`` header. An
account that disconnected the platform is skipped with the reason in its log, and the others
complete; the summary says which accounts were synced and which were skipped.

Pool: ``stripe_api``. Parsing this file imports no SDK and looks up no connection.

Record files and reports (they hold customers' emails and names) are removed by the stand-alone
``remove_expired_files`` task once older than the Variable ``stripe_sync_retention_days`` (30 days).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, task

from airflow_provider_stripe_sync.operators.cleanup import RETENTION_DAYS_TEMPLATE, StripeSyncCleanupOperator
from airflow_provider_stripe_sync.operators.stripe import (
    StripeListConnectedAccountsOperator,
    StripeListNewChargesOperator,
)

PLATFORM = "stripe_oauth_default"

with DAG(
    dag_id="stripe_connect_accounts_sync",
    description="New charges of every connected account, one mapped task per account, one day per run.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    params={
        "window_start": Param(None, type=["null", "string"], description="Override: ISO-8601 start."),
        "window_end": Param(None, type=["null", "string"], description="Override: ISO-8601 end."),
    },
    tags=["stripe", "connect", "example"],
    doc_md=__doc__,
) as dag:
    accounts = StripeListConnectedAccountsOperator(
        task_id="list_connected_accounts", stripe_conn_id=PLATFORM, pool="stripe_api"
    )
    charges = StripeListNewChargesOperator.partial(
        task_id="list_new_charges",
        stripe_conn_id=PLATFORM,
        pool="stripe_api",
        window_start="{{ params.window_start }}",
        window_end="{{ params.window_end }}",
    ).expand(stripe_account=accounts.output)

    @task(trigger_rule="all_done")
    def summarize(account_ids: list[str], results) -> dict:
        """Say which accounts were synced (with their charge counts) and which were skipped."""
        import logging

        from airflow_provider_stripe_sync.records import read_header

        synced = {}
        for result in results:
            if result:
                synced[read_header(result["uri"])["account"]] = result["count"]
        summary = {
            "synced": dict(sorted(synced.items())),
            "skipped": sorted(set(account_ids) - set(synced)),
        }
        logging.getLogger(__name__).info("Connected accounts: %s", summary)
        return summary

    summarize(accounts.output, charges.output)

    # Record files and reports hold customers' emails and names: they go after the retention period
    # (the Variable stripe_sync_retention_days, 30 days by default). The task stands alone, so it runs
    # whatever the sync does, and a failed sync never hides behind its success.
    StripeSyncCleanupOperator(task_id="remove_expired_files", retention_days=RETENTION_DAYS_TEMPLATE)
