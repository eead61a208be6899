"""The List Updated operators against the sandbox, over HTTP, with the real stripe SDK."""

from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.hooks.stripe import StripeHook
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCustomerProfilesOperator,
    StripeListNewChargesOperator,
    StripeListNewCustomersOperator,
)
from airflow_provider_stripe_sync.operators.stripe_updated import (
    StripeListUpdatedChargesOperator,
    StripeListUpdatedCustomersOperator,
    StripeListUpdatedInvoicesOperator,
    StripeListUpdatedObjectsOperator,
    StripeListUpdatedPaymentIntentsOperator,
    StripeListUpdatedSubscriptionsOperator,
)
from airflow_provider_stripe_sync.records import read_header, read_records
from airflow_provider_stripe_sync.stripe.events import UPDATABLE_RESOURCES
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000  # 2026-10-29T00:00:00Z, a day boundary
HOUR = 3600
DAY = 24 * HOUR

PRODUCT = {"id": "prod_pro", "name": "Pro", "created": B - 5 * DAY}
PRICE = {
    "id": "price_pro",
    "product": "prod_pro",
    "currency": "usd",
    "unit_amount": 2900,
    "recurring": {"interval": "month"},
    "created": B - 5 * DAY,
}


def stripe_requests(sandbox):
    return [r for r in sandbox.requests() if r["path"].startswith("/v1/")]


def run(operator, tmp_path, interval):
    operator.output_uri = str(tmp_path)
    context = make_context(interval=interval)
    pushed = {}
    context["ti"].xcom_push = lambda key, value: pushed.__setitem__(key, value)
    result = operator.execute(context)
    result["_pushed"] = pushed
    return result


def ids(result):
    return [record["id"] for record in read_records(result["uri"])]


def test_a_charge_refunded_later_is_updated_once_and_not_new(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_payer", "email": "payer@example.com", "created": B - DAY}],
            "charges": [
                {
                    "id": "ch_old",
                    "amount": 5000,
                    "currency": "usd",
                    "customer": "cus_payer",
                    "source": "tok_visa",
                    "created": B - 2 * HOUR,
                }
            ],
        }
    )
    client = StripeHook().client
    sandbox.set_clock(B + 10 * 60)
    client.v1.refunds.create(params={"charge": "ch_old", "amount": 2000})
    sandbox.set_clock(B + 20 * 60)
    client.v1.refunds.create(params={"charge": "ch_old"})
    sandbox.set_clock(B + HOUR + 300)
    sandbox.clear_requests()

    updated = run(StripeListUpdatedChargesOperator(task_id="updated"), tmp_path, (B, B + HOUR))
    new = run(StripeListNewChargesOperator(task_id="new"), tmp_path, (B, B + HOUR))

    records = list(read_records(updated["uri"]))
    assert [(r["id"], r["refunded"], r["amount_refunded"]) for r in records] == [("ch_old", True, 5000)]
    assert updated["count"] == 1
    assert updated["events"] == 2
    assert updated["deleted"] == 0
    assert updated["window"] == [B, B + HOUR]
    assert ids(new) == []
    assert new["count"] == 0
    events_query = stripe_requests(sandbox)[0]["query"]
    assert events_query["created"] == {"gte": str(B), "lt": str(B + HOUR)}
    assert events_query["types"] == list(UPDATABLE_RESOURCES["charges"].event_types)
    assert updated["_pushed"] == {"stripe_dashboard_url": "https://dashboard.stripe.com/test/payments"}


def test_an_object_changed_three_times_is_one_record_in_its_state_now(sandbox, tmp_path):
    sandbox.seed(stripe={"customers": [{"id": "cus_busy", "email": "a@example.com", "created": B - DAY}]})
    client = StripeHook().client
    for minute, name in ((5, "First"), (6, "Second"), (7, "Third")):
        sandbox.set_clock(B + minute * 60)
        client.v1.customers.update("cus_busy", params={"name": name, "metadata": {"step": str(minute)}})
    sandbox.set_clock(B + HOUR)
    sandbox.clear_requests()

    result = run(StripeListUpdatedCustomersOperator(task_id="customers"), tmp_path, (B, B + HOUR))

    records = list(read_records(result["uri"]))
    assert [(r["id"], r["name"], r["metadata"]) for r in records] == [("cus_busy", "Third", {"step": "7"})]
    assert (result["count"], result["events"], result["deleted"]) == (1, 3, 0)
    paths = [(r["method"], r["path"]) for r in stripe_requests(sandbox)]
    assert paths == [("GET", "/v1/events"), ("GET", "/v1/customers/cus_busy")]
    assert read_header(result["uri"])["mode"] == "updated"


def test_deleted_customers_become_tombstones(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_gone", "email": "gone@example.com", "created": B - DAY},
                {"id": "cus_later", "email": "later@example.com", "created": B - DAY},
                {"id": "cus_kept", "email": "kept@example.com", "created": B - DAY},
            ]
        }
    )
    client = StripeHook().client
    sandbox.set_clock(B + 60)
    client.v1.customers.update("cus_later", params={"name": "Changed, then deleted after the window"})
    sandbox.set_clock(B + 120)
    client.v1.customers.update("cus_kept", params={"name": "Kept"})
    sandbox.set_clock(B + 180)
    client.v1.customers.delete("cus_gone")
    sandbox.set_clock(B + HOUR + 60)
    client.v1.customers.delete("cus_later")
    sandbox.clear_requests()

    result = run(StripeListUpdatedCustomersOperator(task_id="customers"), tmp_path, (B, B + HOUR))

    records = list(read_records(result["uri"]))
    assert [r if r.get("deleted") else (r["id"], r["name"]) for r in records] == [
        {"id": "cus_gone", "object": "customer", "deleted": True},
        ("cus_kept", "Kept"),
        {"id": "cus_later", "object": "customer", "deleted": True},
    ]
    assert (result["count"], result["deleted"], result["events"]) == (3, 2, 3)
    # The deletion event says enough; the customer deleted after the window is found by fetching it.
    paths = [r["path"] for r in stripe_requests(sandbox)]
    assert paths == ["/v1/events", "/v1/customers/cus_kept", "/v1/customers/cus_later"]


def test_a_window_older_than_the_event_retention_fails_saying_so(sandbox, tmp_path):
    sandbox.seed(stripe={"customers": [{"id": "cus_old", "email": "old@example.com", "created": B + 60}]})
    sandbox.set_clock(B + 30 * DAY + 1)
    sandbox.clear_requests()

    with pytest.raises(ValueError, match="Stripe keeps events for 30 days only") as err:
        run(StripeListUpdatedCustomersOperator(task_id="customers"), tmp_path, (B, B + HOUR))

    assert "[2026-10-29T00:00:00+00:00, 2026-10-29T01:00:00+00:00) starts before 2026-10-29T00:00:01" in str(
        err.value
    )
    # Only the first events page was asked for (its Date header is Stripe's clock); nothing written.
    assert [r["path"] for r in stripe_requests(sandbox)] == ["/v1/events"]
    assert list(tmp_path.rglob("*.jsonl")) == []

    sandbox.set_clock(B + 30 * DAY)
    result = run(StripeListUpdatedCustomersOperator(task_id="customers"), tmp_path, (B, B + HOUR))
    assert ids(result) == ["cus_old"]


def test_expansions_are_applied_when_fetching_again(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_sub", "email": "sub@example.com", "created": B - DAY}],
            "products": [PRODUCT],
            "prices": [PRICE],
            "subscriptions": [
                {"id": "sub_x", "customer": "cus_sub", "items": [{"price": "price_pro"}], "created": B - DAY}
            ],
        }
    )
    sandbox.set_clock(B + 60)
    StripeHook().client.v1.subscriptions.update("sub_x", params={"metadata": {"seat": "3"}})
    sandbox.set_clock(B + HOUR)
    sandbox.clear_requests()

    result = run(
        StripeListUpdatedSubscriptionsOperator(
            task_id="subs", expand=["customer", "items.data.price.product"]
        ),
        tmp_path,
        (B, B + HOUR),
    )

    [record] = read_records(result["uri"])
    assert record["customer"]["email"] == "sub@example.com"
    assert record["items"]["data"][0]["price"]["product"]["name"] == "Pro"
    assert record["metadata"] == {"seat": "3"}
    retrieve = stripe_requests(sandbox)[1]
    assert retrieve["path"] == "/v1/subscriptions/sub_x"
    assert retrieve["query"]["expand"] == ["customer", "items.data.price.product"]

    sandbox.clear_requests()
    with pytest.raises(ValueError, match="5 levels deep"):
        run(
            StripeListUpdatedSubscriptionsOperator(task_id="deep", expand=["items.data.price.product.x"]),
            tmp_path,
            (B, B + HOUR),
        )
    assert stripe_requests(sandbox) == []


def test_the_window_is_half_open_on_events(sandbox, tmp_path):
    customers = [{"id": f"cus_{n}", "email": f"{n}@example.com", "created": B - DAY} for n in "abcd"]
    sandbox.seed(stripe={"customers": customers})
    client = StripeHook().client
    for name, at in (("a", B - 1), ("b", B), ("c", B + HOUR - 1), ("d", B + HOUR)):
        sandbox.set_clock(at)
        client.v1.customers.update(f"cus_{name}", params={"name": name})
    sandbox.set_clock(B + 2 * HOUR)

    before = run(StripeListUpdatedCustomersOperator(task_id="a"), tmp_path, (B - HOUR, B))
    inside = run(StripeListUpdatedCustomersOperator(task_id="b"), tmp_path, (B, B + HOUR))
    after = run(StripeListUpdatedCustomersOperator(task_id="c"), tmp_path, (B + HOUR, B + 2 * HOUR))

    assert ids(before) == ["cus_a"]
    assert ids(inside) == ["cus_c", "cus_b"]
    assert ids(after) == ["cus_d"]


def test_a_canceled_subscription_and_a_confirmed_payment_intent_are_listed(sandbox, tmp_path):
    account = "acct_1UpdatedTest"
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_c", "email": "c@example.com", "created": B - DAY}],
            "products": [PRODUCT],
            "prices": [PRICE],
            "subscriptions": [
                {"id": "sub_c", "customer": "cus_c", "items": [{"price": "price_pro"}], "created": B - DAY}
            ],
            "payment_intents": [
                {"id": "pi_c", "amount": 900, "currency": "usd", "customer": "cus_c", "created": B - DAY}
            ],
        },
        account=account,
    )
    client = StripeHook().client
    options = {"stripe_account": account}
    sandbox.set_clock(B + 60)
    client.v1.subscriptions.cancel("sub_c", options=options)
    client.v1.payment_intents.confirm("pi_c", params={"payment_method": "pm_card_visa"}, options=options)
    sandbox.set_clock(B + HOUR)
    sandbox.clear_requests()

    subs = run(
        StripeListUpdatedSubscriptionsOperator(task_id="subs", stripe_account=account),
        tmp_path,
        (B, B + HOUR),
    )
    intents = run(
        StripeListUpdatedPaymentIntentsOperator(task_id="pis", stripe_account=account),
        tmp_path,
        (B, B + HOUR),
    )

    assert [(r["id"], r["status"], r["canceled_at"]) for r in read_records(subs["uri"])] == [
        ("sub_c", "canceled", B + 60)
    ]
    assert [(r["id"], r["status"]) for r in read_records(intents["uri"])] == [("pi_c", "succeeded")]
    assert {r["headers"]["stripe-account"] for r in stripe_requests(sandbox)} == {account}
    assert read_header(subs["uri"])["account"] == account


def test_unknown_resources_are_refused_naming_the_known_ones(sandbox, tmp_path):
    with pytest.raises(ValueError, match="'refunds' has no List Updated support; known: charges, customers"):
        run(StripeListUpdatedObjectsOperator(task_id="x", resource="refunds"), tmp_path, (B, B + HOUR))


def test_customer_profiles_leave_deleted_customers_out(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_gone", "email": "gone@example.com", "created": B + 60},
                {"id": "cus_kept", "email": "kept@example.com", "created": B + 60},
            ]
        }
    )
    sandbox.set_clock(B + 120)
    StripeHook().client.v1.customers.delete("cus_gone")
    sandbox.set_clock(B + HOUR)
    new = run(StripeListNewCustomersOperator(task_id="new"), tmp_path, (B, B + HOUR))
    updated = run(StripeListUpdatedCustomersOperator(task_id="updated"), tmp_path, (B, B + HOUR))

    profiles = StripeCustomerProfilesOperator(
        task_id="profiles", records_uris=[new["uri"], updated["uri"]], output_uri=str(tmp_path)
    ).execute(make_context(interval=(B, B + HOUR)))

    assert ids(new) == ["cus_kept"]
    assert [r["customer"]["id"] for r in read_records(profiles["uri"])] == ["cus_kept"]
    assert profiles["count"] == 1


def test_invoices_paid_deleted_or_gone_later_each_give_one_record(sandbox, tmp_path):
    sandbox.seed(stripe={"customers": [{"id": "cus_inv", "email": "inv@example.com", "created": B - DAY}]})
    client = StripeHook().client
    sandbox.set_clock(B - 2 * HOUR)
    drafts = {}
    for name in ("paid", "deleted", "gone_later"):
        drafts[name] = client.v1.invoices.create(params={"customer": "cus_inv"}).id
        client.v1.invoice_items.create(
            params={"customer": "cus_inv", "invoice": drafts[name], "amount": 1500, "currency": "usd"}
        )
    sandbox.set_clock(B + 10 * 60)
    client.v1.invoices.finalize_invoice(drafts["paid"])
    sandbox.set_clock(B + 20 * 60)
    client.v1.invoices.pay(drafts["paid"], params={"paid_out_of_band": True})
    sandbox.set_clock(B + 30 * 60)
    client.v1.invoices.delete(drafts["deleted"])
    sandbox.set_clock(B + 40 * 60)
    client.v1.invoices.update(drafts["gone_later"], params={"metadata": {"note": "x"}})
    sandbox.set_clock(B + 2 * HOUR)
    client.v1.invoices.delete(drafts["gone_later"])
    sandbox.clear_requests()

    result = run(StripeListUpdatedInvoicesOperator(task_id="invoices"), tmp_path, (B, B + HOUR))

    records = list(read_records(result["uri"]))
    assert [r if r.get("deleted") else (r["id"], r["status"], r["amount_paid"]) for r in records] == [
        {"id": drafts["gone_later"], "object": "invoice", "deleted": True},
        {"id": drafts["deleted"], "object": "invoice", "deleted": True},
        (drafts["paid"], "paid", 1500),
    ]
    assert (result["count"], result["deleted"]) == (3, 2)
    # Stripe answers 404 for an invoice deleted after the window: a tombstone too, not a failure.
    statuses = [(r["path"], r["status"]) for r in stripe_requests(sandbox)]
    assert statuses == [
        ("/v1/events", 200),
        (f"/v1/invoices/{drafts['gone_later']}", 404),
        (f"/v1/invoices/{drafts['paid']}", 200),
    ]
