"""A test DAG of catalog operators: a customer is invoiced, the invoice finalized and paid, then listed."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_stripe_sync.operators.stripe_methods import (
    StripeCreateInvoiceItemOperator,
    StripeCreateInvoiceOperator,
    StripeFinalizeInvoiceOperator,
    StripeListInvoicesOperator,
    StripeMethodOperator,
    StripePayInvoiceOperator,
)

CUSTOMER = "{{ ti.xcom_pull(task_ids='create_customer')['id'] }}"
INVOICE = "{{ ti.xcom_pull(task_ids='create_invoice')['id'] }}"

with DAG(
    dag_id="stripe_catalog_invoice",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
):
    customer = StripeMethodOperator(
        task_id="create_customer",
        method="customers.create",
        stripe_params={"email": "catalog@example.com", "name": "Catalog DAG"},
    )
    invoice = StripeCreateInvoiceOperator(task_id="create_invoice", stripe_params={"customer": CUSTOMER})
    item = StripeCreateInvoiceItemOperator(
        task_id="add_item",
        stripe_params={"customer": CUSTOMER, "invoice": INVOICE, "amount": 900, "currency": "usd"},
    )
    finalize = StripeFinalizeInvoiceOperator(task_id="finalize", object_id=INVOICE)
    pay = StripePayInvoiceOperator(task_id="pay", object_id=INVOICE)
    listed = StripeListInvoicesOperator(task_id="list_invoices", stripe_params={"customer": CUSTOMER})
    customer >> invoice >> item >> finalize >> pay >> listed
