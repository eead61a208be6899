"""
Accounting reconciliation: Stripe balance transactions into Xero, one day per run.

Each run covers one day, its data interval ``[start, end)``:

1. the Stripe balance transactions created in the window are listed to a record file;
2. each becomes one Xero entry on the clearing bank account of its settlement currency, with the
   Stripe id in ``Reference``: charges, refunds, disputes, fees and the rest as bank transactions
   (gross and each fee on their own lines), payouts as transfers to the currency's bank account;
   categories with no account go to suspense and the report, currencies with no clearing account to
   the report only;
3. a summary (counts and totals per currency and category) is the run's result.

So each clearing account in Xero moves exactly as the Stripe balance in its currency does. The
``ledger`` param maps currencies and categories to account codes; its default fits the local
sandbox's chart of accounts. A manual run with no data interval reads the window from the
``window_start``/``window_end`` params. Re-running any interval posts nothing twice.

Connections: ``stripe_default`` and ``xero_default`` (its rotating refresh token lives in the Variable
``xero_refresh_token__xero_default``). Pools: ``stripe_api`` and ``xero_api`` (give ``xero_api`` at most
5 slots: Xero's limit of concurrent calls per organisation). Parsing this file imports no SDK and
looks up no connection.

Record files and reports (they hold customers' emails and names) are removed by the stand-alone
``remove_expired_files`` task once older than the Variable ``stripe_sync_retention_days`` (30 days).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, task

from airflow_provider_stripe_sync.operators.cleanup import RETENTION_DAYS_TEMPLATE, StripeSyncCleanupOperator
from airflow_provider_stripe_sync.operators.stripe import StripeListNewBalanceTransactionsOperator
from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator

WINDOW = {"window_start": "{{ params.window_start }}", "window_end": "{{ params.window_end }}"}

#: Account codes of the sandbox's chart of accounts; change them (or the param) for a real organisation.
DEFAULT_LEDGER = {
    "currencies": {
        "usd": {"clearing": "095", "fees": "404", "bank": "090"},
        "eur": {"clearing": "096", "fees": "404", "bank": "091"},
        "jpy": {"clearing": "097", "fees": "404", "bank": "092"},
        "gbp": {"clearing": "098", "fees": "404", "bank": "093"},
    },
    "categories": {
        "charge": "200",
        "refund": "200",
        "dispute": "480",
        "dispute_reversal": "480",
        "other_adjustment": "260",
    },
    "fee_accounts": {"tax": "820"},
    "suspense": "999",
    "contact_name": "Stripe",
}

with DAG(
    dag_id="stripe_xero_reconciliation",
    description="Stripe balance transactions into Xero bank transactions and transfers, one day per run.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 1, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "window_start": Param(None, type=["null", "string"], description="Override: ISO-8601 start."),
        "window_end": Param(None, type=["null", "string"], description="Override: ISO-8601 end."),
        "ledger": Param(
            DEFAULT_LEDGER, type="object", description="Xero account codes per currency and category."
        ),
    },
    tags=["stripe", "xero", "example"],
    doc_md=__doc__,
) as dag:
    balance_transactions = StripeListNewBalanceTransactionsOperator(
        task_id="list_new_balance_transactions", pool="stripe_api", **WINDOW
    )
    ledger = XeroCreateBankTransactionsOperator(
        task_id="post_to_xero",
        records_uri=balance_transactions.output,
        ledger="{{ params.ledger }}",
        stripe_conn_id="stripe_default",
        pool="xero_api",
        outlets=[Asset(name="xero_bank_transactions", uri="xero://accounting/banktransactions")],
    )

    @task
    def summarize(listed: dict, posted: dict) -> dict:
        """Say, for this interval, what was read from Stripe and what the Xero ledger holds for it."""
        summary = {
            "window": listed["window"],
            "stripe_balance_transactions_read": listed["count"],
            "xero_entries_posted": posted["upserted"],
            "xero_entries_unchanged": posted["unchanged"],
            "xero_records_rejected": posted["rejected"],
            "counts": posted["counts"],
            "totals": posted["totals"],
            "report_uri": posted["report_uri"],
        }
        import logging

        logging.getLogger(__name__).info("Reconciliation summary: %s", summary)
        return summary

    summarize(balance_transactions.output, ledger.output)

    # Record files and reports hold customers' emails and names: they go after the retention period
    # (the Variable stripe_sync_retention_days, 30 days by default). The task stands alone, so it runs
    # whatever the sync does, and a failed sync never hides behind its success.
    StripeSyncCleanupOperator(task_id="remove_expired_files", retention_days=RETENTION_DAYS_TEMPLATE)
