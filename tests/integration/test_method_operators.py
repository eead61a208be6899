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
    # The task run is the idempotency scope: each operator runs as its own task.
    ctx = make_context(**{"task_id": operator.task_id, **context})
    result = operator.execute(ctx)
    return result, ctx["ti"].xcom


def stripe_writes(sandbox):
    return [
        r for r in sandbox.requests() if r["path"].startswith("/v1/") and r["method"] in ("POST", "DELETE")
    ]


def test_customer_create_retrieve_update_list(sandbox, tmp_path):
    created, xcom = run(
        StripeMethodOperator(
            task_id="c", method="customers.create", stripe_params={"email": "ada@example.com"}
        )
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
    list_request = [
        r for r in sandbox.requests() if r["method"] == "GET" and r["path"] == "/v1/subscriptions"
    ]
    assert list_request[-1]["query"]["expand"] == ["data.customer"]


def test_charges_refunds_balance_transactions_and_events(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_payer", "email": "payer@example.com", "created": B - HOUR}],
            "charges": [
                {
                    "amount": 2000,
                    "currency": "usd",
                    "customer": "cus_payer",
                    "source": "tok_visa",
                    "created": B,
                }
            ],
        }
    )
    charges, _ = run(
        StripeListChargesOperator(task_id="ch", stripe_params={"customer": "cus_payer"}), tmp_path
    )
    (charge,) = read_records(charges["uri"])
    assert (charge["amount"], charge["customer"]) == (2000, "cus_payer")

    refund, xcom = run(
        StripeCreateRefundOperator(task_id="re", stripe_params={"charge": charge["id"], "amount": 500})
    )
    assert (refund["object"], refund["charge"], refund["amount"]) == ("refund", charge["id"], 500)
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/refunds/{refund['id']}"
    refunds, _ = run(
        StripeListRefundsOperator(task_id="rl", stripe_params={"charge": charge["id"]}), tmp_path
    )
    assert [r["id"] for r in read_records(refunds["uri"])] == [refund["id"]]

    txns, xcom = run(StripeListBalanceTransactionsOperator(task_id="bt"), tmp_path)
    records = list(read_records(txns["uri"]))
    assert sorted((t["type"], t["amount"]) for t in records) == [("charge", 2000), ("refund", -500)]
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/balance/overview"
    one, _ = run(StripeRetrieveBalanceTransactionOperator(task_id="bt1", object_id=records[0]["id"]))
    assert one["id"] == records[0]["id"]

    events, _ = run(
        StripeListEventsOperator(task_id="ev", stripe_params={"type": "charge.refunded"}), tmp_path
    )
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
            task_id="p",
            stripe_conn_id="stripe_live",
            stripe_account="acct_1Linked",
            stripe_params={"name": "L"},
        )
    )
    assert created["livemode"] is True
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/acct_1Linked/products/{created['id']}"


def test_invoices_create_finalize_pay_and_void(sandbox):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeCreateInvoiceItemOperator,
        StripeCreateInvoiceOperator,
        StripeFinalizeInvoiceOperator,
        StripeListInvoicesOperator,
        StripePayInvoiceOperator,
        StripeRetrieveInvoiceOperator,
        StripeVoidInvoiceOperator,
    )

    sandbox.seed(stripe={"customers": [{"id": "cus_billed", "email": "billed@example.com"}]})
    draft, xcom = run(StripeCreateInvoiceOperator(task_id="inv", stripe_params={"customer": "cus_billed"}))
    assert (draft["status"], draft["amount_due"], draft["customer"]) == ("draft", 0, "cus_billed")
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/invoices/{draft['id']}"
    item, _ = run(
        StripeCreateInvoiceItemOperator(
            task_id="item",
            stripe_params={
                "customer": "cus_billed",
                "invoice": draft["id"],
                "amount": 4200,
                "currency": "usd",
            },
        )
    )
    assert (item["invoice"], item["amount"]) == (draft["id"], 4200)
    finalized, _ = run(StripeFinalizeInvoiceOperator(task_id="fin", object_id=draft["id"]))
    assert (finalized["status"], finalized["amount_due"]) == ("open", 4200)
    assert [line["amount"] for line in finalized["lines"]["data"]] == [4200]
    assert finalized["number"].endswith("-0001")
    paid, _ = run(StripePayInvoiceOperator(task_id="pay", object_id=draft["id"]))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 4200, 0)

    second, _ = run(StripeCreateInvoiceOperator(task_id="inv2", stripe_params={"customer": "cus_billed"}))
    run(StripeFinalizeInvoiceOperator(task_id="fin2", object_id=second["id"]))
    # An invoice for nothing is paid when finalized; Stripe refuses to void it.
    assert run(StripeRetrieveInvoiceOperator(task_id="r", object_id=second["id"]))[0]["status"] == "paid"
    third, _ = run(StripeCreateInvoiceOperator(task_id="inv3", stripe_params={"customer": "cus_billed"}))
    run(
        StripeCreateInvoiceItemOperator(
            task_id="item3",
            stripe_params={
                "customer": "cus_billed",
                "invoice": third["id"],
                "amount": 100,
                "currency": "usd",
            },
        )
    )
    run(StripeFinalizeInvoiceOperator(task_id="fin3", object_id=third["id"]))
    voided, _ = run(StripeVoidInvoiceOperator(task_id="void", object_id=third["id"]))
    assert (voided["status"], voided["amount_due"]) == ("void", 100)

    listed, _ = run(StripeListInvoicesOperator(task_id="l", stripe_params={"customer": "cus_billed"}))
    records = list(read_records(listed["uri"]))
    assert sorted((r["id"], r["status"]) for r in records) == sorted(
        [(draft["id"], "paid"), (second["id"], "paid"), (third["id"], "void")]
    )
    events = [
        e for e in sandbox.state(resources=["events"])["stripe"]["events"] if e["type"].startswith("inv")
    ]
    types = [e["type"] for e in sorted(events, key=lambda e: e["created"])]
    for expected in (
        "invoice.created",
        "invoiceitem.created",
        "invoice.updated",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.voided",
    ):
        assert expected in types
    charges = sandbox.state(resources=["charges"])["stripe"]["charges"]
    assert [(c["customer"], c["amount"], c["captured"]) for c in charges] == [("cus_billed", 4200, True)]


def test_payouts_list_and_retrieve(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeListNewPayoutsOperator,
        StripeListPayoutsOperator,
        StripeRetrievePayoutOperator,
    )

    sandbox.seed(
        stripe={
            "payouts": [
                {"id": "po_early", "amount": 10000, "currency": "usd", "created": B - HOUR},
                {
                    "id": "po_late",
                    "amount": 2500,
                    "currency": "usd",
                    "created": B + 60,
                    "status": "in_transit",
                },
            ]
        }
    )
    listed, xcom = run(StripeListPayoutsOperator(task_id="p"), tmp_path)
    assert [(p["id"], p["amount"], p["status"]) for p in read_records(listed["uri"])] == [
        ("po_late", 2500, "in_transit"),
        ("po_early", 10000, "paid"),
    ]
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/payouts"
    new, _ = run(StripeListNewPayoutsOperator(task_id="n"), tmp_path, interval=(B, B + HOUR))
    assert [p["id"] for p in read_records(new["uri"])] == ["po_late"]
    one, xcom = run(StripeRetrievePayoutOperator(task_id="r", object_id="po_early"))
    assert (one["id"], one["amount"]) == ("po_early", 10000)
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/payouts/po_early"


def test_capture_a_charge_and_a_payment_intent(sandbox):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeCaptureChargeOperator,
        StripeCapturePaymentIntentOperator,
        StripeCreateChargeOperator,
        StripeCreatePaymentIntentOperator,
    )

    sandbox.seed(stripe={"customers": [{"id": "cus_auth", "email": "auth@example.com"}]})
    charge, _ = run(
        StripeCreateChargeOperator(
            task_id="c",
            stripe_params={"amount": 3000, "currency": "usd", "source": "tok_visa", "capture": False},
        )
    )
    assert (charge["captured"], charge["amount_captured"]) == (False, 0)
    captured, _ = run(StripeCaptureChargeOperator(task_id="cap", object_id=charge["id"]))
    assert (captured["captured"], captured["amount_captured"]) == (True, 3000)

    intent, xcom = run(
        StripeCreatePaymentIntentOperator(
            task_id="pi",
            stripe_params={
                "amount": 5000,
                "currency": "usd",
                "customer": "cus_auth",
                "payment_method": "pm_card_visa",
                "capture_method": "manual",
                "confirm": True,
            },
        )
    )
    assert intent["status"] == "requires_capture"
    assert "client_secret" not in intent
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/payments/{intent['id']}"
    done, _ = run(
        StripeCapturePaymentIntentOperator(
            task_id="cpi", object_id=intent["id"], stripe_params={"amount_to_capture": 4000}
        )
    )
    assert (done["status"], done["amount_received"]) == ("succeeded", 4000)
    events = {e["type"] for e in sandbox.state(resources=["events"])["stripe"]["events"]}
    assert {
        "charge.captured",
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
    } <= events


def test_coupons_create_list_delete(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeCreateCouponOperator,
        StripeDeleteCouponOperator,
        StripeListCouponsOperator,
    )

    coupon, xcom = run(
        StripeCreateCouponOperator(
            task_id="c", stripe_params={"id": "WELCOME10", "percent_off": 10, "duration": "once"}
        )
    )
    assert (coupon["id"], coupon["percent_off"], coupon["valid"]) == ("WELCOME10", 10.0, True)
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/coupons/WELCOME10"
    listed, _ = run(StripeListCouponsOperator(task_id="l"), tmp_path)
    assert [c["id"] for c in read_records(listed["uri"])] == ["WELCOME10"]
    deleted, xcom = run(StripeDeleteCouponOperator(task_id="d", object_id="WELCOME10"))
    assert deleted == {"id": "WELCOME10", "object": "coupon", "deleted": True}
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/coupons"
    events = [e["type"] for e in sandbox.state(resources=["events"])["stripe"]["events"]]
    assert sorted(events) == ["coupon.created", "coupon.deleted"]


def test_a_list_expand_deeper_than_four_levels_is_refused_before_any_request(sandbox):
    from airflow_provider_stripe_sync.operators.stripe_methods import StripeListChargesOperator

    sandbox.clear_requests()
    allowed = StripeListChargesOperator(task_id="ok", expand=["invoice.subscription.default_source"])
    assert allowed.execute(make_context())["count"] == 0
    sent = [r for r in sandbox.requests() if r["path"] == "/v1/charges"]
    assert sent[-1]["query"]["expand"] == ["data.invoice.subscription.default_source"]
    sandbox.clear_requests()
    deeper = StripeListChargesOperator(task_id="no", expand=["invoice.subscription.default_source.customer"])
    with pytest.raises(
        ValueError, match="5 levels deep; Stripe allows 4 including the list's 'data.' prefix"
    ):
        deeper.execute(make_context())
    assert [r for r in sandbox.requests() if r["path"].startswith("/v1/")] == []


def test_a_sensor_pushes_the_list_page_of_the_window_it_saw(sandbox):
    from airflow_provider_stripe_sync.sensors.stripe import StripeNewChargesSensor

    sandbox.seed(
        stripe={"charges": [{"amount": 700, "currency": "usd", "source": "tok_visa", "created": B + 5}]}
    )
    sensor = StripeNewChargesSensor(task_id="wait", deferrable=False, poke_interval=0.1, timeout=10)
    ctx = make_context(interval=(B, B + HOUR))
    assert sensor.poke(ctx).is_done
    assert ctx["ti"].xcom[XCOM_KEY] == (
        f"https://dashboard.stripe.com/test/payments?created%5Bgte%5D={B}&created%5Blt%5D={B + HOUR}"
    )


def test_search_customers_follows_next_page(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import StripeSearchCustomersOperator

    sandbox.seed(
        stripe={
            "customers": [
                {
                    "email": f"vip{n}@example.com",
                    "metadata": {"tier": "vip" if n % 2 else "basic"},
                    "created": B + n,
                }
                for n in range(5)
            ]
        }
    )
    found, xcom = run(
        StripeSearchCustomersOperator(
            task_id="s", stripe_params={"query": "metadata['tier']:'vip'"}, limit=1
        ),
        tmp_path,
    )
    assert [c["email"] for c in read_records(found["uri"])] == ["vip3@example.com", "vip1@example.com"]
    searches = [r["query"] for r in sandbox.requests() if r["path"] == "/v1/customers/search"]
    assert [q.get("page") for q in searches] == [None, "1"]
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/customers"


def test_subscription_items_and_tax_rates(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeCreateTaxRateOperator,
        StripeListSubscriptionItemsOperator,
        StripeListTaxRatesOperator,
        StripeRetrieveSubscriptionItemOperator,
        StripeUpdateTaxRateOperator,
    )

    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_i", "email": "i@example.com"}],
            "products": [{"id": "prod_i", "name": "I"}],
            "prices": [
                {
                    "id": "price_i",
                    "product": "prod_i",
                    "currency": "usd",
                    "unit_amount": 100,
                    "recurring": {"interval": "month"},
                }
            ],
            "subscriptions": [{"id": "sub_i", "customer": "cus_i", "items": [{"price": "price_i"}]}],
        }
    )
    items, _ = run(
        StripeListSubscriptionItemsOperator(task_id="si", stripe_params={"subscription": "sub_i"}), tmp_path
    )
    (item,) = read_records(items["uri"])
    assert (item["subscription"], item["price"]["id"]) == ("sub_i", "price_i")
    one, xcom = run(StripeRetrieveSubscriptionItemOperator(task_id="r", object_id=item["id"]))
    assert one["id"] == item["id"]
    assert xcom[XCOM_KEY] == "https://dashboard.stripe.com/test/subscriptions"

    rate, xcom = run(
        StripeCreateTaxRateOperator(
            task_id="t",
            stripe_params={"display_name": "VAT", "percentage": 19, "inclusive": False, "country": "DE"},
        )
    )
    assert (rate["display_name"], rate["percentage"], rate["active"]) == ("VAT", 19.0, True)
    assert xcom[XCOM_KEY] == f"https://dashboard.stripe.com/test/tax-rates/{rate['id']}"
    run(StripeUpdateTaxRateOperator(task_id="u", object_id=rate["id"], stripe_params={"active": False}))
    listed, _ = run(StripeListTaxRatesOperator(task_id="l", stripe_params={"active": False}), tmp_path)
    assert [(r["id"], r["active"]) for r in read_records(listed["uri"])] == [(rate["id"], False)]
    events = [
        e["type"]
        for e in sandbox.state(resources=["events"])["stripe"]["events"]
        if e["type"].startswith("tax")
    ]
    assert sorted(events) == ["tax_rate.created", "tax_rate.updated"]


def test_two_runs_of_one_list_task_keep_two_files(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_oct30", "email": "oct30@example.com", "created": B},
                {"id": "cus_oct31", "email": "oct31@example.com", "created": B + 86400},
            ]
        }
    )
    runs = []
    for run_id, email in (
        ("scheduled__2026-10-30T00:00:00+00:00", "oct30@example.com"),
        ("scheduled__2026-10-31T00:00:00+00:00", "oct31@example.com"),
    ):
        listed, _ = run(
            StripeListCustomersOperator(task_id="customers", stripe_params={"email": email}),
            tmp_path,
            run_id=run_id,
        )
        runs.append(listed)
    first, second = runs
    folder = f"file://{tmp_path}/records/test_dag/customers"
    assert first["uri"] == f"{folder}/platform__customers.list__scheduled__2026-10-30T00_00_00_00_00.jsonl"
    assert second["uri"] == f"{folder}/platform__customers.list__scheduled__2026-10-31T00_00_00_00_00.jsonl"
    # The first run's XCom still points at the first run's records.
    assert [c["id"] for c in read_records(first["uri"])] == ["cus_oct30"]
    assert [c["id"] for c in read_records(second["uri"])] == ["cus_oct31"]
    # A mapped task's runs are folders of their own.
    mapped, _ = run(
        StripeListCustomersOperator(task_id="customers", stripe_params={"email": "oct31@example.com"}),
        tmp_path,
        run_id="manual__1",
        map_index=2,
    )
    assert mapped["uri"] == f"{folder}/map-2/platform__customers.list__manual__1.jsonl"
    assert [c["id"] for c in read_records(mapped["uri"])] == ["cus_oct31"]


PINNED = "stripe-python 16.1.0 (API version 2026-10-28.endive)"


def test_list_new_filters_the_list_does_not_take_fail_before_any_request(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import StripeListNewRefundsOperator

    sandbox.clear_requests()
    operator = StripeListNewRefundsOperator(task_id="n", filters={"status": "succeeded", "charge": "ch_1"})
    with pytest.raises(ValueError) as caught:
        run(operator, tmp_path, interval=(B, B + HOUR))
    assert str(caught.value) == (
        f"filters of refunds.list_new has status, which {PINNED} does not know for refunds.list_new. "
        "It accepts: charge, payment_intent."
    )
    assert [r for r in sandbox.requests() if r["path"].startswith("/v1/")] == []
    # An accepted filter runs.
    listed, _ = run(
        StripeListNewRefundsOperator(task_id="n", filters={"charge": "ch_1"}),
        tmp_path,
        interval=(B, B + HOUR),
    )
    assert listed["count"] == 0


def test_business_key_create_operators_refuse_unknown_parameters_before_any_request(sandbox):
    sandbox.clear_requests()
    customer = StripeCreateCustomerOperator(
        task_id="c",
        stripe_params={"email": "ada@example.com", "colour": "red", "metadata": {"signup_id": "s1"}},
    )
    with pytest.raises(ValueError) as caught:
        run(customer)
    assert str(caught.value).startswith(
        f"stripe_params of customers.create has colour, which {PINNED} does not know for customers.create. "
        "It accepts: address, balance, business_name,"
    )
    subscription = StripeCreateSubscriptionOperator(
        task_id="s",
        stripe_params={"customer": "cus_1", "items": [{"price": "price_1"}], "coupon": "SUMMER25"},
    )
    with pytest.raises(ValueError) as caught:
        run(subscription)
    assert str(caught.value).startswith(
        f"stripe_params of subscriptions.create has coupon, which {PINNED} does not know for "
        'subscriptions.create; replaced at that version: coupon (use discounts=[{"coupon": "..."}]). It accepts:'
    )
    assert [r for r in sandbox.requests() if r["path"].startswith("/v1/")] == []


def test_business_key_create_operators_refuse_text_where_the_sdk_wants_a_hash_or_a_list(sandbox):
    sandbox.clear_requests()
    with pytest.raises(TypeError) as caught:
        run(StripeCreateCustomerOperator(task_id="c", stripe_params={"email": "a@b.c", "metadata": "{}"}))
    assert str(caught.value).startswith(
        "stripe_params['metadata'] of customers.create must be a dict (hash) or \"\" to unset it, got str '{}'."
    )
    with pytest.raises(TypeError) as caught:
        run(
            StripeCreateCustomerOperator(
                task_id="c", stripe_params={"email": "a@b.c"}, idempotency_scope="su_123"
            )
        )
    assert str(caught.value).startswith(
        "idempotency_scope must be a list of values, such as ['su_123'], got str 'su_123'."
    )
    assert [r for r in sandbox.requests() if r["path"].startswith("/v1/")] == []


def test_the_readme_list_expand_example_runs_on_invoice_items(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeCreateInvoiceOperator,
        StripeListInvoiceItemsOperator,
    )

    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_exp", "email": "exp@example.com", "default_source": "card_exp", "created": B}
            ],
            "invoiceitems": [{"customer": "cus_exp", "amount": 700, "currency": "usd", "created": B}],
        }
    )
    invoice, _ = run(
        StripeCreateInvoiceOperator(
            task_id="inv", stripe_params={"customer": "cus_exp", "pending_invoice_items_behavior": "include"}
        )
    )
    listed, _ = run(
        StripeListInvoiceItemsOperator(
            task_id="items",
            stripe_params={"customer": "cus_exp"},
            expand=["invoice.customer.default_source"],  # the README's example, exactly
        ),
        tmp_path,
    )
    (item,) = read_records(listed["uri"])
    assert (item["invoice"]["id"], item["invoice"]["customer"]["id"]) == (invoice["id"], "cus_exp")
    assert item["invoice"]["customer"]["default_source"] == "card_exp"  # the sandbox keeps no cards
    request = [r for r in sandbox.requests() if r["path"] == "/v1/invoiceitems"][-1]
    assert request["query"]["expand"] == ["data.invoice.customer.default_source"]
    # One level deeper is refused before any request.
    sandbox.clear_requests()
    with pytest.raises(
        ValueError, match=r"'data.invoice.customer.default_source.x' is 5 levels deep; Stripe "
    ):
        run(
            StripeListInvoiceItemsOperator(task_id="deep", expand=["invoice.customer.default_source.x"]),
            tmp_path,
        )
    assert [r for r in sandbox.requests() if r["path"].startswith("/v1/")] == []


def test_the_sandbox_says_only_customer_search_is_served(sandbox, tmp_path):
    from airflow_provider_stripe_sync.exceptions import StripeRequestError
    from airflow_provider_stripe_sync.operators.stripe_methods import StripeSearchChargesOperator

    with pytest.raises(StripeRequestError) as caught:
        run(StripeSearchChargesOperator(task_id="s", stripe_params={"query": "amount>100"}), tmp_path)
    assert caught.value.http_status == 404
    assert (
        "The sandbox serves search for customers only (GET /v1/customers/search); GET /v1/charges/search "
        "is Stripe's but not served here. List /v1/charges with its filters instead, or use Stripe's test "
        "mode." in str(caught.value)
    )
    assert "unknown parameter" not in str(caught.value)


def test_subscription_items_are_created_updated_and_deleted_each_with_its_event(sandbox, tmp_path):
    from airflow_provider_stripe_sync.operators.stripe_methods import (
        StripeCreateSubscriptionItemOperator,
        StripeDeleteSubscriptionItemOperator,
        StripeListSubscriptionItemsOperator,
        StripeRetrieveSubscriptionOperator,
        StripeUpdateSubscriptionItemOperator,
    )

    product, _ = run(StripeCreateProductOperator(task_id="p", stripe_params={"name": "Seats"}))
    prices = []
    for amount in (1000, 300):
        price, _ = run(
            StripeCreatePriceOperator(
                task_id=f"price{amount}",
                stripe_params={
                    "product": product["id"],
                    "currency": "usd",
                    "unit_amount": amount,
                    "recurring": {"interval": "month"},
                },
            )
        )
        prices.append(price["id"])
    customer, _ = run(StripeCreateCustomerOperator(task_id="c", stripe_params={"email": "si@example.com"}))
    subscription, _ = run(
        StripeCreateSubscriptionOperator(
            task_id="s", stripe_params={"customer": customer["id"], "items": [{"price": prices[0]}]}
        )
    )
    added, _ = run(
        StripeCreateSubscriptionItemOperator(
            task_id="add",
            stripe_params={"subscription": subscription["id"], "price": prices[1], "quantity": 2},
        )
    )
    assert (added["object"], added["subscription"], added["price"]["id"], added["quantity"]) == (
        "subscription_item",
        subscription["id"],
        prices[1],
        2,
    )
    updated, _ = run(
        StripeUpdateSubscriptionItemOperator(
            task_id="upd", object_id=added["id"], stripe_params={"quantity": 5}
        )
    )
    assert updated["quantity"] == 5
    listed, _ = run(
        StripeListSubscriptionItemsOperator(
            task_id="items", stripe_params={"subscription": subscription["id"]}
        ),
        tmp_path,
    )
    assert sorted((i["price"]["id"], i["quantity"]) for i in read_records(listed["uri"])) == sorted(
        [(prices[0], 1), (prices[1], 5)]
    )
    deleted, _ = run(StripeDeleteSubscriptionItemOperator(task_id="del", object_id=added["id"]))
    assert deleted == {"id": added["id"], "object": "subscription_item", "deleted": True}
    now, _ = run(StripeRetrieveSubscriptionOperator(task_id="r", object_id=subscription["id"]))
    assert [i["price"]["id"] for i in now["items"]["data"]] == [prices[0]]
    # Each change is the subscription's update event, holding its items as they were before.
    events = [
        e
        for e in sandbox.state(resources=["events"])["stripe"]["events"]
        if e["type"] == "customer.subscription.updated"
    ]
    before_counts = sorted(len(e["data"]["previous_attributes"]["items"]["data"]) for e in events)
    assert before_counts == [1, 2, 2]
    # The last item cannot be deleted: the subscription is canceled instead.
    from airflow_provider_stripe_sync.exceptions import StripeRequestError

    last = now["items"]["data"][0]["id"]
    with pytest.raises(StripeRequestError, match="A subscription must have at least one active plan"):
        run(StripeDeleteSubscriptionItemOperator(task_id="del_last", object_id=last))
