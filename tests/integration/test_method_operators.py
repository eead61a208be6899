"""Catalog operators against the sandbox, over HTTP, with the real stripe SDK."""

from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.exceptions import IdempotencyError
from airflow_provider_stripe_sync.links import XCOM_KEY
from airflow_provider_stripe_sync.operators.stripe import StripeListNewChargesOperator
from airflow_provider_stripe_sync.operators.stripe_methods import (
    StripeCancelSubscriptionOperator,
    StripeCreateCustomerOperator,
    StripeCreatePriceOperator,
    StripeCreateProductOperator,
    StripeCreateRefundOperator,
    StripeCreateSubscriptionOperator,
    StripeListBalanceTransactionsOperator,
    StripeListChargesOperator,
    StripeListCustomersOperator,
    StripeListEventsOperator,
    StripeListRefundsOperator,
    StripeListSubscriptionsOperator,
    StripeMethodOperator,
    StripeRetrieveBalanceTransactionOperator,
    StripeRetrieveCustomerOperator,
    StripeUpdateCustomerOperator,
)
from airflow_provider_stripe_sync.records import read_header, read_records
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000  # 2026-10-29T00:00:00Z
HOUR = 3600


def run(operator, tmp_path=None, **context):
    if tmp_path is not None:
        operator.output_uri = str(tmp_path)
    ctx = make_context(**context)
    result = operator.execute(ctx)
    return result, ctx["ti"].xcom


def stripe_writes(sandbox):
    return [r for r in sandbox.requests() if r["path"].startswith("/v1/") and r["method"] in ("POST", "DELETE")]


def test_customer_create_retrieve_update_list(sandbox, tmp_path):
    created, xcom = run(
        StripeMethodOperator(task_id="c", method="customers.create", stripe_params={"email": "ada@example.com"})
    )
    assert created["object"] == "customer" and created["email"] == "ada@example.com"
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/customers/{created['id']}"

    found, _ = run(StripeRetrieveCustomerOperator(task_id="r", object_id=created["id"]))
    assert (found["id"], found["email"]) == (created["id"], "ada@example.com")

    updated, _ = run(
        StripeUpdateCustomerOperator(task_id="u", object_id=created["id"], stripe_params={"name": "Ada L."})
    )
    assert updated["name"] == "Ada L."

    listed, xcom = run(
        StripeListCustomersOperator(task_id="l", stripe_params={"email": "ada@example.com"}), tmp_path
    )
    assert listed == {"uri": listed["uri"], "count": 1, "method": "customers.list", "resource": "customers"}
    assert [(c["id"], c["name"]) for c in read_records(listed["uri"])] == [(created["id"], "Ada L.")]
    assert read_header(listed["uri"])["filters"] == {"email": "ada@example.com"}
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/customers?email=ada%40example.com"


def test_products_prices_subscriptions_create_cancel_list(sandbox, tmp_path):
    product, xcom = run(StripeCreateProductOperator(task_id="p", stripe_params={"name": "Pro"}))
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/products/{product['id']}"
    price, _ = run(
        StripeCreatePriceOperator(
            task_id="pr",
            stripe_params={
                "product": product["id"],
                "currency": "usd",
                "unit_amount": 1500,
                "recurring": {"interval": "month"},
            },
        )
    )
    assert (price["product"], price["unit_amount"]) == (product["id"], 1500)
    customer, _ = run(StripeCreateCustomerOperator(task_id="c", stripe_params={"email": "sub@example.com"}))
    subscription, _ = run(
        StripeCreateSubscriptionOperator(
            task_id="s", stripe_params={"customer": customer["id"], "items": [{"price": price["id"]}]}
        )
    )
    canceled, xcom = run(StripeCancelSubscriptionOperator(task_id="x", object_id=subscription["id"]))
    assert (canceled["id"], canceled["status"]) == (subscription["id"], "canceled")
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/subscriptions/{subscription['id']}"

    listed, _ = run(
        StripeListSubscriptionsOperator(
            task_id="l", stripe_params={"customer": customer["id"], "status": "canceled"}, expand=["customer"]
        ),
        tmp_path,
    )
    records = list(read_records(listed["uri"]))
    assert [(s["id"], s["status"], s["customer"]["email"]) for s in records] == [
        (subscription["id"], "canceled", "sub@example.com")
    ]
    list_request = [r for r in sandbox.requests() if r["method"] == "GET" and r["path"] == "/v1/subscriptions"]
    assert list_request[-1]["query"]["expand"] == ["data.customer"]


def test_charges_refunds_balance_transactions_and_events(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_payer", "email": "payer@example.com", "created": B - HOUR}],
            "charges": [
                {"amount": 2000, "currency": "usd", "customer": "cus_payer", "source": "tok_visa", "created": B}
            ],
        }
    )
    charges, _ = run(StripeListChargesOperator(task_id="ch", stripe_params={"customer": "cus_payer"}), tmp_path)
    (charge,) = read_records(charges["uri"])
    assert (charge["amount"], charge["customer"]) == (2000, "cus_payer")

    refund, xcom = run(StripeCreateRefundOperator(task_id="re", stripe_params={"charge": charge["id"], "amount": 500}))
    assert (refund["object"], refund["charge"], refund["amount"]) == ("refund", charge["id"], 500)
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/refunds/{refund['id']}"
    refunds, _ = run(StripeListRefundsOperator(task_id="rl", stripe_params={"charge": charge["id"]}), tmp_path)
    assert [r["id"] for r in read_records(refunds["uri"])] == [refund["id"]]

    txns, xcom = run(StripeListBalanceTransactionsOperator(task_id="bt"), tmp_path)
    records = list(read_records(txns["uri"]))
    assert sorted((t["type"], t["amount"]) for t in records) == [("charge", 2000), ("refund", -500)]
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/balance/overview"
    one, _ = run(StripeRetrieveBalanceTransactionOperator(task_id="bt1", object_id=records[0]["id"]))
    assert one["id"] == records[0]["id"]

    events, _ = run(StripeListEventsOperator(task_id="ev", stripe_params={"type": "charge.refunded"}), tmp_path)
    assert [(e["type"], e["data"]["object"]["id"]) for e in read_records(events["uri"])] == [
        ("charge.refunded", charge["id"])
    ]


def test_create_twice_in_one_run_is_one_object_and_other_params_another(sandbox):
    params = {"name": "Gold plan", "metadata": {"tier": "gold"}}
    first, _ = run(StripeCreateProductOperator(task_id="make_product", stripe_params=params))
    again, _ = run(StripeCreateProductOperator(task_id="make_product", stripe_params=dict(params)))
    other, _ = run(StripeCreateProductOperator(task_id="make_product", stripe_params={"name": "Silver plan"}))

    assert again["id"] == first["id"]
    assert other["id"] != first["id"]
    keys = [r["headers"]["idempotency-key"] for r in stripe_writes(sandbox)]
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]
    assert all(key.startswith("stripe-sync-products.create-") and len(key) <= 255 for key in keys)
    products = sandbox.state(resources=["products"])
    assert sorted(p["name"] for p in products["stripe"]["products"]) == ["Gold plan", "Silver plan"]
    # Another task run (a different run id) is another write.
    later, _ = run(
        StripeCreateProductOperator(task_id="make_product", stripe_params=params),
        run_id="scheduled__2026-10-30T00:00:00+00:00",
    )
    assert later["id"] not in (first["id"], other["id"])


def test_a_key_reused_with_other_params_raises_idempotency_error_naming_it(sandbox):
    run(StripeCreateProductOperator(task_id="p", stripe_params={"name": "A"}, idempotency_key="my-key-1"))
    with pytest.raises(IdempotencyError, match="Idempotency-Key 'my-key-1'") as caught:
        run(StripeCreateProductOperator(task_id="p", stripe_params={"name": "B"}, idempotency_key="my-key-1"))
    assert caught.value.idempotency_key == "my-key-1"
    assert caught.value.http_status == 400


def test_list_new_operators_push_the_list_page_with_the_window(sandbox, tmp_path):
    operator = StripeListNewChargesOperator(task_id="n", lookback=0)
    operator.output_uri = str(tmp_path)
    ctx = make_context(interval=(B, B + HOUR))
    operator.execute(ctx)
    assert ctx["ti"].xcom[XCOM_KEY] == (
        f"https://dashboard.stripe.com/test/payments?created%5Bgte%5D={B}&created%5Blt%5D={B + HOUR}"
    )


def test_connected_account_and_live_key_shape_the_link(sandbox, monkeypatch, tmp_path):
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_LIVE",
        json.dumps({"conn_type": "stripe", "password": "sk_live_sandbox", "host": sandbox.url}),
    )
    created, xcom = run(
        StripeCreateProductOperator(
            task_id="p", stripe_conn_id="stripe_live", stripe_account="acct_1Linked", stripe_params={"name": "L"}
        )
    )
    assert created["livemode"] is True
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/acct_1Linked/products/{created['id']}"
