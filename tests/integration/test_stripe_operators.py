"""The Stripe operators against the sandbox, over HTTP, with the real stripe SDK."""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.hooks.stripe import StripeHook
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCreateCustomerOperator,
    StripeCreateCustomersFromSignupsOperator,
    StripeCreateSubscriptionOperator,
    StripeListNewBalanceTransactionsOperator,
    StripeListNewChargesOperator,
    StripeListNewCustomersOperator,
    StripeListNewObjectsOperator,
    StripeListNewSubscriptionsOperator,
)
from airflow_provider_stripe_sync.records import read_header, read_records
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000  # 2026-10-29T00:00:00Z, a day boundary
HOUR = 3600


def stripe_requests(sandbox, path_prefix="/v1/"):
    return [r for r in sandbox.requests() if r["path"].startswith(path_prefix)]


def run(operator, tmp_path, interval=None, **context):
    operator.output_uri = str(tmp_path)
    return operator.execute(make_context(interval=interval, **context))


def test_objects_around_a_boundary_land_in_exactly_one_window(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [
                {"id": "cus_before", "email": "before@example.com", "created": B - 1},
                {"id": "cus_at", "email": "at@example.com", "created": B},
                {"id": "cus_after", "email": "after@example.com", "created": B + 1},
            ]
        }
    )
    sandbox.clear_requests()

    first = run(StripeListNewCustomersOperator(task_id="a"), tmp_path, (B - HOUR, B))
    second = run(StripeListNewCustomersOperator(task_id="b"), tmp_path, (B, B + HOUR))

    assert [c["id"] for c in read_records(first["uri"])] == ["cus_before"]
    assert [c["id"] for c in read_records(second["uri"])] == ["cus_after", "cus_at"]
    assert first == {"uri": first["uri"], "count": 1, "window": [B - HOUR, B], "resource": "customers"}
    assert second["window"] == [B, B + HOUR]
    queries = [r["query"] for r in stripe_requests(sandbox)]
    assert queries == [
        {"created": {"gte": str(B - HOUR), "lt": str(B)}, "limit": "100"},
        {"created": {"gte": str(B), "lt": str(B + HOUR)}, "limit": "100"},
    ]


def test_paging_keeps_every_filter_expand_and_account_on_every_page(sandbox, tmp_path):
    account = "acct_1PagingTest"
    customer = {"id": "cus_payer", "email": "payer@example.com", "created": B - 10 * HOUR}
    charges = [
        {
            "amount": 1000 + n,
            "currency": "usd",
            "customer": "cus_payer",
            "source": "tok_visa",
            "created": B + n,
        }
        for n in range(250)
    ]
    sandbox.seed(stripe={"customers": [customer], "charges": charges}, account=account)
    sandbox.seed(
        stripe={"charges": [{"amount": 5, "currency": "usd", "source": "tok_visa", "created": B + 5}]}
    )
    sandbox.clear_requests()

    result = run(
        StripeListNewChargesOperator(
            task_id="charges",
            stripe_account=account,
            expand=["customer"],
            filters={"customer": "cus_payer"},
            lookback=0,
        ),
        tmp_path,
        (B, B + HOUR),
    )

    records = list(read_records(result["uri"]))
    assert result["count"] == 250
    assert [r["amount"] for r in records] == list(range(1249, 999, -1))
    assert {r["customer"]["id"] for r in records} == {"cus_payer"}
    sent = stripe_requests(sandbox)
    assert len(sent) == 3
    for request in sent:
        assert request["headers"]["stripe-account"] == account
        assert request["query"]["created"] == {"gte": str(B), "lt": str(B + HOUR)}
        assert request["query"]["limit"] == "100"
        assert request["query"]["expand"] == ["data.customer"]
        assert request["query"]["customer"] == "cus_payer"
        assert not ("starting_after" in request["query"] and "ending_before" in request["query"])
    assert "starting_after" not in sent[0]["query"]
    assert sent[1]["query"]["starting_after"] == records[99]["id"]
    assert sent[2]["query"]["starting_after"] == records[199]["id"]
    assert read_header(result["uri"])["account"] == account


def test_subscriptions_are_listed_with_status_all(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_s", "email": "s@example.com", "created": B}],
            "products": [{"id": "prod_s", "name": "Pro", "created": B}],
            "prices": [
                {
                    "id": "price_s",
                    "product": "prod_s",
                    "currency": "usd",
                    "unit_amount": 2900,
                    "recurring": {"interval": "month"},
                    "created": B,
                }
            ],
            "subscriptions": [
                {"id": "sub_live", "customer": "cus_s", "items": [{"price": "price_s"}], "created": B + 1},
                {
                    "id": "sub_gone",
                    "customer": "cus_s",
                    "items": [{"price": "price_s"}],
                    "created": B + 2,
                    "status": "canceled",
                    "canceled_at": B + 3,
                    "ended_at": B + 3,
                },
            ],
        }
    )
    sandbox.clear_requests()
    result = run(StripeListNewSubscriptionsOperator(task_id="s"), tmp_path, (B, B + HOUR))
    assert [(s["id"], s["status"]) for s in read_records(result["uri"])] == [
        ("sub_gone", "canceled"),
        ("sub_live", "active"),
    ]
    assert stripe_requests(sandbox)[0]["query"]["status"] == "all"


def test_balance_transactions_look_back_ten_minutes_by_default(sandbox, tmp_path):
    sandbox.seed(
        stripe={"charges": [{"amount": 5000, "currency": "jpy", "source": "tok_visa", "created": B - 300}]}
    )
    result = run(StripeListNewBalanceTransactionsOperator(task_id="bt"), tmp_path, (B, B + HOUR))
    assert result["window"] == [B - 600, B + HOUR]
    [transaction] = read_records(result["uri"])
    assert (transaction["type"], transaction["amount"], transaction["currency"]) == ("charge", 5000, "jpy")


def test_three_rate_limits_then_success_make_exactly_four_requests(sandbox, tmp_path):
    sandbox.seed(stripe={"customers": [{"email": "x@example.com", "created": B}]})
    sandbox.add_fault("/v1/customers", 429, method="GET", code="rate_limit", times=3)
    sandbox.clear_requests()
    result = run(StripeListNewCustomersOperator(task_id="c"), tmp_path, (B, B + HOUR))
    assert result["count"] == 1
    assert [r["status"] for r in stripe_requests(sandbox)] == [429, 429, 429, 200]


def test_lock_timeout_is_retried(sandbox, tmp_path):
    sandbox.add_fault("/v1/customers", 429, method="GET", code="lock_timeout", times=1)
    sandbox.clear_requests()
    run(StripeListNewCustomersOperator(task_id="c"), tmp_path, (B, B + HOUR))
    assert [r["status"] for r in stripe_requests(sandbox)] == [429, 200]


def test_should_retry_false_makes_one_request_and_names_the_request_id(sandbox, tmp_path):
    sandbox.add_fault(
        "/v1/customers", 500, method="GET", code="api_error", headers={"Stripe-Should-Retry": "false"}
    )
    sandbox.clear_requests()
    with pytest.raises(StripeRequestError) as caught:
        run(StripeListNewCustomersOperator(task_id="c"), tmp_path, (B, B + HOUR))
    [request] = stripe_requests(sandbox)
    assert request["status"] == 500
    assert caught.value.request_id.startswith("req_")
    assert caught.value.request_id in str(caught.value)
    assert str(caught.value).startswith("Stripe list customers failed (HTTP 500, request req_")


def test_invalid_request_is_not_retried(sandbox, tmp_path):
    sandbox.clear_requests()
    with pytest.raises(StripeRequestError, match=r"HTTP 400, parameter_unknown, request req_\w+: .*colour"):
        # The generic operator sends filters as given (the named ones check them against the catalog).
        operator = StripeListNewObjectsOperator(task_id="c", resource="customers", filters={"colour": "red"})
        run(operator, tmp_path, (B, B + HOUR))
    assert [r["status"] for r in stripe_requests(sandbox)] == [400]


def test_publishable_key_is_refused_before_any_request(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_PK",
        json.dumps({"conn_type": "stripe", "password": "pk_test_1", "host": sandbox.url}),
    )
    sandbox.clear_requests()
    with pytest.raises(ValueError, match="holds a publishable key"):
        run(StripeListNewCustomersOperator(task_id="c", stripe_conn_id="stripe_pk"), tmp_path, (B, B + HOUR))
    assert stripe_requests(sandbox) == []


def test_test_connection_reads_the_account(sandbox):
    ok, message = StripeHook().test_connection()
    assert ok is True
    assert message.startswith("Connected to Stripe account acct_")


def test_create_customer_is_safe_to_repeat_past_the_idempotency_window(sandbox):
    params = {"email": "  Ada@Example.com ", "name": "Ada", "metadata": {"signup_id": "su_1"}}
    operator = StripeCreateCustomerOperator(task_id="create", stripe_params=params)
    first = operator.execute(make_context())
    again = StripeCreateCustomerOperator(task_id="create", stripe_params=params).execute(make_context())
    sandbox.advance(25 * HOUR)
    later = StripeCreateCustomerOperator(task_id="create", stripe_params=params).execute(
        make_context(run_id="other")
    )

    assert first["created"] is True and again["created"] is False and later["created"] is False
    assert first["id"] == again["id"] == later["id"]
    customers = sandbox.state()["stripe"]["customers"]
    assert [(c["email"], c["metadata"]) for c in customers] == [("ada@example.com", {"signup_id": "su_1"})]
    posts = [r for r in stripe_requests(sandbox) if r["method"] == "POST"]
    assert len(posts) == 1
    assert posts[0]["headers"]["idempotency-key"].startswith("stripe-sync-customers.create-")
    assert "idempotency" not in json.dumps(posts[0]["form"])


def test_create_customer_retry_after_lost_response_creates_once(sandbox):
    # The first attempt's response is lost (500); the retry carries the same key and the same bytes.
    sandbox.add_fault("/v1/customers", 500, method="POST", code="api_error", times=1)
    result = StripeCreateCustomerOperator(
        task_id="create", stripe_params={"email": "b@example.com", "metadata": {"signup_id": "su_2"}}
    ).execute(make_context())
    posts = [r for r in stripe_requests(sandbox) if r["method"] == "POST"]
    assert [p["status"] for p in posts] == [500, 200]
    assert posts[0]["headers"]["idempotency-key"] == posts[1]["headers"]["idempotency-key"]
    assert posts[0]["form"] == posts[1]["form"]
    assert [c["id"] for c in sandbox.state()["stripe"]["customers"]] == [result["id"]]


def test_create_subscription_finds_the_one_it_made(sandbox):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_sub", "email": "sub@example.com", "created": B}],
            "products": [{"id": "prod_p", "name": "Pro", "created": B}],
            "prices": [
                {
                    "id": "price_p",
                    "product": "prod_p",
                    "currency": "usd",
                    "unit_amount": 2900,
                    "recurring": {"interval": "month"},
                    "created": B,
                }
            ],
        }
    )
    params = {
        "customer": "cus_sub",
        "items": [{"price": "price_p"}],
        "metadata": {"signup_id": "su_3"},
        "trial_period_days": 14,
    }
    first = StripeCreateSubscriptionOperator(task_id="s", stripe_params=params).execute(make_context())
    sandbox.advance(25 * HOUR)
    second = StripeCreateSubscriptionOperator(task_id="s", stripe_params=params).execute(
        make_context(run_id="r2")
    )
    assert (first["created"], second["created"], first["id"] == second["id"]) == (True, False, True)
    [subscription] = sandbox.state()["stripe"]["subscriptions"]
    assert subscription["status"] == "trialing"


def test_signups_become_customers_and_subscriptions_once(sandbox, tmp_path):
    sandbox.seed(
        stripe={
            "products": [{"id": "prod_pro", "name": "Pro", "created": B}],
            "prices": [
                {
                    "id": "price_pro",
                    "product": "prod_pro",
                    "currency": "usd",
                    "unit_amount": 2900,
                    "recurring": {"interval": "month"},
                    "lookup_key": "pro_monthly_usd",
                    "created": B,
                }
            ],
        }
    )
    drop = tmp_path / "signups"
    drop.mkdir()
    rows = [
        {
            "signup_id": "su_a",
            "email": " Grace@Example.com",
            "name": "Grace Hopper",
            "signed_up_at": "2026-10-29T01:00:00+00:00",
            "price_lookup_key": "pro_monthly_usd",
            "trial_days": 14,
        },
        {"signup_id": "su_b", "email": "alan@example.com", "signed_up_at": "2026-10-29T02:00:00Z"},
        {"signup_id": "su_c", "email": "", "signed_up_at": "2026-10-29T03:00:00Z"},
        {
            "signup_id": "su_d",
            "email": "d@example.com",
            "signed_up_at": "2026-10-29T04:00:00Z",
            "price_lookup_key": "gold_monthly_usd",
        },
        {"signup_id": "su_e", "email": "later@example.com", "signed_up_at": "2026-10-30T00:00:00Z"},
    ]
    (drop / "day.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def sync(run_id):
        operator = StripeCreateCustomersFromSignupsOperator(
            task_id="signups", signups_uri=str(drop), report_uri=str(tmp_path)
        )
        return operator.execute(make_context(interval=(B, B + 24 * HOUR), run_id=run_id))

    first = sync("r1")
    sandbox.advance(25 * HOUR)
    second = sync("r2")

    assert {k: first[k] for k in first if k not in ("report_uri",)} == {
        "signups": 4,
        "customers_created": 2,
        "customers_existing": 0,
        "subscriptions_created": 1,
        "subscriptions_existing": 0,
        "rejected": 2,
        "window": [B, B + 24 * HOUR],
    }
    assert (second["customers_created"], second["customers_existing"]) == (0, 2)
    assert (second["subscriptions_created"], second["subscriptions_existing"]) == (0, 1)
    report = [json.loads(line) for line in open(first["report_uri"].removeprefix("file://"))]
    assert [(r["id"], r["reason"]) for r in report] == [
        ("su_c", "missing_email"),
        ("su_d", "unknown_price_lookup_key"),
    ]
    state = sandbox.state()["stripe"]
    assert sorted(c["email"] for c in state["customers"]) == ["alan@example.com", "grace@example.com"]
    assert [s["metadata"]["signup_id"] for s in state["subscriptions"]] == ["su_a"]


def test_a_repeated_create_in_the_same_task_run_is_one_object_reported_as_replayed(sandbox):
    params = {"email": "same@example.com", "name": "Same"}
    first = StripeCreateCustomerOperator(task_id="t", stripe_params=params).execute(make_context())
    second = StripeCreateCustomerOperator(task_id="t", stripe_params=params).execute(make_context())
    other = StripeCreateCustomerOperator(task_id="t", stripe_params={**params, "name": "Other"}).execute(
        make_context()
    )
    assert (first["created"], second["created"], other["created"]) == (True, False, True)
    assert first["id"] == second["id"] != other["id"]
    posts = [r for r in stripe_requests(sandbox) if r["method"] == "POST"]
    keys = [p["headers"]["idempotency-key"] for p in posts]
    assert keys[0] == keys[1] != keys[2]
    assert len(sandbox.state()["stripe"]["customers"]) == 2


def test_a_business_key_without_an_email_is_refused_before_any_request(sandbox):
    sandbox.clear_requests()
    operator = StripeCreateCustomerOperator(
        task_id="t", stripe_params={"name": "Ada", "metadata": {"signup_id": "su_9"}}
    )
    with pytest.raises(ValueError, match="metadata.signup_id needs an email"):
        operator.execute(make_context())
    assert stripe_requests(sandbox) == []


def test_an_existing_customer_with_a_mixed_case_email_is_adopted(sandbox):
    # Stripe's email filter is case-sensitive, so the address is looked up as given and lower-cased.
    sandbox.seed(stripe={"customers": [{"id": "cus_pre", "email": "Mixed@X.com", "created": B}]})
    result = StripeCreateCustomerOperator(
        task_id="t", stripe_params={"email": " Mixed@X.com", "metadata": {"signup_id": "su_6"}}
    ).execute(make_context())
    assert (result["id"], result["created"]) == ("cus_pre", False)
    assert [c["id"] for c in sandbox.state()["stripe"]["customers"]] == ["cus_pre"]


def test_signups_stripe_refuses_are_reported_and_the_rest_land(sandbox, tmp_path):
    rows = [
        {"signup_id": "su_ok1", "email": "ok1@example.com", "signed_up_at": "2026-10-29T01:00:00Z"},
        {
            "signup_id": "su_bad_price",
            "email": "bp@example.com",
            "signed_up_at": "2026-10-29T02:00:00Z",
            "price": "price_nope",
        },
        {
            "signup_id": "su_bad_trial",
            "email": "bt@example.com",
            "signed_up_at": "2026-10-29T03:00:00Z",
            "price": "price_nope",
            "trial_days": "fourteen",
        },
        {"signup_id": "su_ok2", "email": "ok2@example.com", "signed_up_at": "2026-10-29T04:00:00Z"},
    ]
    drop = tmp_path / "signups.jsonl"
    drop.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = StripeCreateCustomersFromSignupsOperator(
        task_id="signups", signups_uri=str(drop), report_uri=str(tmp_path)
    ).execute(make_context(interval=(B, B + 24 * HOUR)))

    assert (result["signups"], result["customers_created"], result["rejected"]) == (4, 3, 2)
    report = [json.loads(line) for line in open(result["report_uri"].removeprefix("file://"))]
    assert [(r["id"], r["reason"]) for r in report] == [
        ("su_bad_price", "stripe_rejected"),
        ("su_bad_trial", "invalid_trial_days"),
    ]
    assert "No such price: 'price_nope'" in report[0]["message"]
    emails = sorted(c["email"] for c in sandbox.state()["stripe"]["customers"])
    # The refused sign-up's customer exists; the next run finds it instead of making another.
    assert emails == ["bp@example.com", "ok1@example.com", "ok2@example.com"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"expand": "customer"}, "expand must be a list of paths such as ['customer'], got str 'customer'"),
        ({"filters": '{"customer": "cus_1"}'}, "filters must be a dict of list parameters, got str"),
        ({"lookback": "ten"}, "lookback must be whole seconds, got 'ten'"),
    ],
)
def test_templated_arguments_of_the_wrong_type_fail_before_any_request(sandbox, tmp_path, kwargs, message):
    sandbox.clear_requests()
    with pytest.raises(TypeError) as caught:
        run(StripeListNewChargesOperator(task_id="c", **kwargs), tmp_path, (B, B + HOUR))
    assert message in str(caught.value)
    assert stripe_requests(sandbox) == []


def test_a_restricted_key_without_permission_fails_once_naming_the_permission(sandbox, tmp_path):
    message = (
        "The provided key 'rk_test_****1234' does not have the required permissions for this endpoint on "
        "account 'acct_1'. Having the 'rak_charge_read' permission would allow this request to continue."
    )
    sandbox.add_fault(
        "/v1/charges",
        403,
        method="GET",
        body={"error": {"type": "invalid_request_error", "message": message}},
    )
    sandbox.clear_requests()
    with pytest.raises(StripeRequestError) as caught:
        run(StripeListNewChargesOperator(task_id="c"), tmp_path, (B, B + HOUR))
    assert [r["status"] for r in stripe_requests(sandbox)] == [403]
    assert caught.value.http_status == 403
    assert "'rak_charge_read' permission" in str(caught.value)
