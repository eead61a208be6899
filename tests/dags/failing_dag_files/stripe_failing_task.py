"""A test DAG whose Stripe task fails before it pushes its Dashboard link."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_stripe_sync.operators.stripe_methods import StripeFinalizeInvoiceOperator

with DAG(
    dag_id="stripe_failing_task",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
):
    # No object_id: fails in execute() naming it, before any request and before any link is pushed.
    StripeFinalizeInvoiceOperator(task_id="finalize_nothing", retries=0)
