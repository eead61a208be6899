"""Stripe writes in the sandbox: auth, idempotency, accounts, money, events, faults."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import stripe
from sandbox_helpers import B, make_client

PK_MESSAGE = (
    "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a "
    "list of your API keys at https://dashboard.stripe.com/account/apikeys."
)


def _raw(url, path, key="sk_test_x", method="GET", data=None, headers=None):
    request = urllib.request.Request(
        url + path, method=method, data=data, headers={"Authorization": "Bearer " + key, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read())


def test_publishable_key_is_refused(sbx):
    with pytest.raises(stripe.AuthenticationError) as caught:
        make_client(sbx.url, key="pk_test_123").v1.customers.list()
    assert caught.value.http_status == 401
    assert caught.value.user_message == PK_MESSAGE


def test_missing_key_and_malformed_key(sbx):
    status, headers, body = _raw(sbx.url, "/v1/customers", key="")
    assert status == 401 and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("You did not provide an API key.")
    assert headers["Request-Id"].startswith("req_")
    status, _, body = _raw(sbx.url, "/v1/customers", key="nonsense")
    assert status == 401 and body["error"]["code"] == "api_key_invalid"


def test_restricted_and_live_keys_work_and_livemode_follows_the_key(sbx):
    live = make_client(sbx.url, key="rk_live_abc").v1.customers.create(params={"email": "l@example.com"})
    test = make_client(sbx.url, key="sk_test_abc").v1.customers.retrieve(live.id)
    assert (live.livemode, test.livemode) == (True, False)


def test_request_ids_are_unique(sbx):
    ids = {_raw(sbx.url, "/v1/customers")[1]["Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_idempotent_replay_mismatch_and_expiry(sbx, client):
    first = client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k1"})
    again = client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k1"})
    assert again.id == first.id
    assert sbx.requests()[-1]["response_headers"]["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(params={"email": "b@example.com"}, options={"idempotency_key": "k1"})
    assert caught.value.user_message == (
        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
        "Try using a key other than 'k1' if you meant to execute a different request."
    )
    sbx.advance(24 * 3600 - 1)
    assert (
        client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k1"}).id
        == first.id
    )
    sbx.advance(1)
    fresh = client.v1.customers.create(params={"email": "b@example.com"}, options={"idempotency_key": "k1"})
    assert fresh.id != first.id
    assert len(sbx.state()["stripe"]["customers"]) == 2


def test_stripe_account_partitions_are_isolated(sbx, client):
    mine = client.v1.customers.create(params={"email": "a@example.com"}, options={"stripe_account": "acct_A"})
    assert [c.id for c in client.v1.customers.list(options={"stripe_account": "acct_A"}).data] == [mine.id]
    assert client.v1.customers.list().data == []
    assert client.v1.customers.list(options={"stripe_account": "acct_B"}).data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve(mine.id)
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
    assert caught.value.user_message == f"No such customer: '{mine.id}'"
    assert [a.id for a in client.v1.accounts.list().data] == ["acct_B", "acct_A"]
    assert sbx.state(account="acct_A")["stripe"]["customers"][0]["id"] == mine.id


def test_charge_fee_net_and_refund_balance_transactions(sbx, client):
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    charge = client.v1.charges.create(params={"amount": 10000, "currency": "usd", "customer": customer.id})
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.type, txn.reporting_category, txn.amount, txn.fee, txn.net, txn.currency, txn.source) == (
        "charge",
        "charge",
        10000,
        320,
        9680,
        "usd",
        charge.id,
    )
    assert txn.fee_details[0].amount == 320 and txn.available_on == B + 2 * 86400 and txn.status == "pending"
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 2500})
    rtxn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (rtxn.type, rtxn.amount, rtxn.fee, rtxn.net, rtxn.source) == ("refund", -2500, 0, -2500, refund.id)
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (2500, False)
    types = [e.type for e in client.v1.events.list().data]
    assert types == ["charge.refunded", "refund.created", "charge.succeeded", "customer.created"]
    refunded = client.v1.events.list(params={"type": "charge.refunded"}).data[0]
    assert refunded.data.previous_attributes["amount_refunded"] == 0
    sbx.advance(2 * 86400)
    balance = client.v1.balance.retrieve()
    assert [(b.currency, b.amount) for b in balance.available] == [("usd", 9680 - 2500)]


def test_jpy_is_zero_decimal_and_can_settle_in_usd(sbx, client):
    charge = client.v1.charges.create(
        params={"amount": 5000, "currency": "jpy", "source": "tok_visa", "expand": ["balance_transaction"]}
    )
    assert (
        charge.amount,
        charge.balance_transaction.amount,
        charge.balance_transaction.currency,
        charge.balance_transaction.fee,
    ) == (5000, 5000, "jpy", 175)
    sbx.seed(account="acct_usd", settlement_currencies=["usd"])
    other = client.v1.charges.create(
        params={"amount": 5000, "currency": "jpy", "source": "tok_visa", "expand": ["balance_transaction"]},
        options={"stripe_account": "acct_usd"},
    )
    bt = other.balance_transaction
    assert (bt.amount, bt.currency, bt.fee, bt.net, bt.exchange_rate) == (3350, "usd", 127, 3223, 0.0067)


def test_subscription_create_trial_incomplete_and_cancel(sbx, client):
    sbx.seed(
        stripe={
            "customers": [{"id": "cus_1", "email": "a@example.com", "created": B - 10}],
            "products": [{"id": "prod_1", "name": "Pro", "created": B - 10}],
            "prices": [
                {
                    "id": "price_1",
                    "product": "prod_1",
                    "currency": "eur",
                    "unit_amount": 2700,
                    "recurring": {"interval": "month"},
                    "created": B - 10,
                }
            ],
        }
    )
    sub = client.v1.subscriptions.create(
        params={"customer": "cus_1", "items": [{"price": "price_1"}], "metadata": {"plan": "pro"}}
    )
    item = sub["items"].data[0]
    assert (sub.status, sub.currency, item.price.id, item.price.unit_amount, item.quantity) == (
        "active",
        "eur",
        "price_1",
        2700,
        1,
    )
    assert (item.current_period_start, item.current_period_end) == (B, B + 30 * 86400)
    trial = client.v1.subscriptions.create(
        params={"customer": "cus_1", "items": [{"price": "price_1"}], "trial_period_days": 14}
    )
    assert (trial.status, trial.trial_end) == ("trialing", B + 14 * 86400)
    incomplete = client.v1.subscriptions.create(
        params={
            "customer": "cus_1",
            "items": [{"price": "price_1"}],
            "payment_behavior": "default_incomplete",
        }
    )
    assert incomplete.status == "incomplete"
    sbx.advance(60)
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert (canceled.status, canceled.canceled_at, canceled.ended_at) == ("canceled", B + 60, B + 60)
    event = client.v1.events.list(params={"type": "customer.subscription.deleted"}).data[0]
    assert (event.data.object.id, event.created) == (sub.id, B + 60)


def test_update_emits_previous_attributes(sbx, client):
    customer = client.v1.customers.create(params={"email": "a@example.com", "name": "Ann"})
    client.v1.customers.update(customer.id, params={"name": "Anne", "metadata": {"k": "v"}})
    event = client.v1.events.list(params={"types": ["customer.updated"]}).data[0]
    assert event.data.object.name == "Anne"
    assert event.data.previous_attributes.to_dict() == {"name": "Ann", "metadata": {}}


def test_faults_three_429_then_success(sbx):
    sbx.add_fault(
        "/v1/customers", 429, method="GET", code="lock_timeout", times=3, headers={"Retry-After": "0"}
    )
    statuses = [_raw(sbx.url, "/v1/customers")[0] for _ in range(4)]
    assert statuses == [429, 429, 429, 200]
    log = sbx.requests()
    assert log[0]["body"]["error"]["code"] == "lock_timeout"
    assert log[0]["response_headers"]["Retry-After"] == "0"
    assert sbx.faults() == []


def test_sdk_retries_through_faults_and_stops_on_should_retry_false(sbx):
    client = make_client(sbx.url, retries=3)
    sbx.add_fault("/v1/customers", 429, method="GET", code="lock_timeout", times=1)
    assert client.v1.customers.list().data == []
    sbx.add_fault("/v1/customers", 500, method="GET", times=1, headers={"Stripe-Should-Retry": "false"})
    sbx.clear_requests()
    with pytest.raises(stripe.APIError) as caught:
        client.v1.customers.list()
    assert [r["status"] for r in sbx.requests()] == [500]
    assert caught.value.request_id == sbx.requests()[0]["request_id"]


def test_fault_limited_to_one_account(sbx, client):
    sbx.add_fault("/v1/charges", 403, code="account_invalid", times=5, account="acct_gone")
    with pytest.raises(stripe.PermissionError):
        client.v1.charges.list(options={"stripe_account": "acct_gone"})
    assert client.v1.charges.list().data == []


def test_declined_card_is_a_402_card_error(sbx, client):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.charges.create(params={"amount": 100, "currency": "usd", "source": "tok_chargeDeclined"})
    assert (caught.value.http_status, caught.value.code) == (402, "card_declined")
    assert client.v1.charges.list().data[0].status == "failed"


def test_payment_intent_confirm(sbx, client):
    intent = client.v1.payment_intents.create(params={"amount": 1500, "currency": "gbp"})
    assert intent.status == "requires_payment_method"
    done = client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert (done.status, done.amount_received) == ("succeeded", 1500)
    charge = client.v1.charges.retrieve(done.latest_charge)
    assert (charge.payment_intent, charge.amount) == (intent.id, 1500)
