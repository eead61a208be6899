"""Stripe lists in the sandbox: newest first, cursors, created filters, limits, expand."""

from __future__ import annotations

import pytest
import stripe
from sandbox_helpers import B


def _customers(sbx, n, start=B - 1000):
    sbx.seed(
        stripe={
            "customers": [
                {"id": f"cus_{i:04d}", "email": f"c{i}@example.com", "created": start + i} for i in range(n)
            ]
        }
    )


def test_250_customers_take_three_pages_of_100(sbx, client):
    _customers(sbx, 250)
    sbx.clear_requests()
    pages, after = [], None
    while True:
        params = {"limit": 100, "expand": ["data.customer"]} if False else {"limit": 100}
        if after:
            params["starting_after"] = after
        page = client.v1.customers.list(params=params)
        pages.append(page)
        if not page.has_more:
            break
        after = page.data[-1].id
    assert [len(p.data) for p in pages] == [100, 100, 50]
    assert [p.has_more for p in pages] == [True, True, False]
    ids = [c.id for p in pages for c in p.data]
    assert ids == [f"cus_{i:04d}" for i in range(249, -1, -1)]
    log = sbx.requests()
    assert [(r["query"].get("limit"), r["query"].get("starting_after")) for r in log] == [
        ("100", None),
        ("100", "cus_0150"),
        ("100", "cus_0050"),
    ]
    assert pages[0].url == "/v1/customers"


def test_auto_paging_sees_every_object_once(sbx, client):
    _customers(sbx, 120)
    ids = [c.id for c in client.v1.customers.list(params={"limit": 50}).auto_paging_iter()]
    assert len(ids) == 120 and len(set(ids)) == 120


def test_same_created_second_breaks_ties_by_insertion_newest_first(sbx, client):
    sbx.seed(
        stripe={
            "customers": [
                {"id": "cus_a", "created": B},
                {"id": "cus_b", "created": B},
                {"id": "cus_c", "created": B - 1},
            ]
        }
    )
    assert [c.id for c in client.v1.customers.list().data] == ["cus_b", "cus_a", "cus_c"]


def test_created_window_boundaries_are_half_open(sbx, client):
    sbx.seed(
        stripe={
            "customers": [
                {"id": "cus_before", "created": B - 1},
                {"id": "cus_at", "created": B},
                {"id": "cus_last", "created": B + 99},
                {"id": "cus_end", "created": B + 100},
            ]
        }
    )
    first = client.v1.customers.list(params={"created": {"gte": B - 100, "lt": B}})
    second = client.v1.customers.list(params={"created": {"gte": B, "lt": B + 100}})
    assert [c.id for c in first.data] == ["cus_before"]
    assert [c.id for c in second.data] == ["cus_last", "cus_at"]
    assert [c.id for c in client.v1.customers.list(params={"created": {"gt": B, "lte": B + 100}}).data] == [
        "cus_end",
        "cus_last",
    ]
    assert [c.id for c in client.v1.customers.list(params={"created": B}).data] == ["cus_at"]


def test_ending_before_returns_the_page_just_newer_than_the_cursor(sbx, client):
    _customers(sbx, 10)  # cus_0009 newest
    page = client.v1.customers.list(params={"ending_before": "cus_0004", "limit": 2})
    assert [c.id for c in page.data] == ["cus_0006", "cus_0005"]
    assert page.has_more is True
    last = client.v1.customers.list(params={"ending_before": "cus_0007", "limit": 5})
    assert [c.id for c in last.data] == ["cus_0009", "cus_0008"]
    assert last.has_more is False


def test_starting_after_never_returns_newer_objects(sbx, client):
    _customers(sbx, 5)
    page = client.v1.customers.list(params={"starting_after": "cus_0004"})
    assert [c.id for c in page.data] == ["cus_0003", "cus_0002", "cus_0001", "cus_0000"]


def test_both_cursors_and_bad_limits_are_refused(sbx, client):
    _customers(sbx, 3)
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.customers.list(params={"starting_after": "cus_0001", "ending_before": "cus_0000"})
    assert both.value.user_message == (
        "You may only specify one of these parameters: ending_before, starting_after."
    )
    for limit, message in (
        (0, "This value must be greater than or equal to 1."),
        (101, "This value must be less than or equal to 100."),
    ):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.customers.list(params={"limit": limit})
        assert (caught.value.http_status, caught.value.param, caught.value.user_message) == (
            400,
            "limit",
            message,
        )


def test_unknown_parameters_are_refused_like_stripe(sbx, client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.list(params={"emails": "x@example.com"})
    err = caught.value
    assert (err.http_status, err.code, err.param, err.user_message) == (
        400,
        "parameter_unknown",
        "emails",
        "Received unknown parameter: emails",
    )
    with pytest.raises(stripe.InvalidRequestError) as nested:
        client.v1.charges.list(params={"created": {"after": 1}})
    assert nested.value.user_message == "Received unknown parameter: created[after]"
    body = sbx.requests()[-1]["body"]["error"]
    assert body["doc_url"] == "https://stripe.com/docs/error-codes/parameter-unknown"
    assert body["request_log_url"].startswith("https://dashboard.stripe.com/test/logs/req_")


def test_email_filter_is_exact(sbx, client):
    sbx.seed(
        stripe={
            "customers": [
                {"id": "cus_l", "email": "ann@example.com", "created": B},
                {"id": "cus_u", "email": "Ann@example.com", "created": B},
            ]
        }
    )
    assert [c.id for c in client.v1.customers.list(params={"email": "ann@example.com"}).data] == ["cus_l"]


def _subscription_world(sbx):
    sbx.seed(
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
                {"id": "sub_s", "customer": "cus_s", "items": [{"price": "price_s"}], "created": B},
                {
                    "id": "sub_old",
                    "customer": "cus_s",
                    "items": [{"price": "price_s"}],
                    "created": B - 10,
                    "canceled_at": B - 5,
                },
            ],
        }
    )


def test_expand_on_objects_and_lists(sbx, client):
    _subscription_world(sbx)
    sub = client.v1.subscriptions.retrieve(
        "sub_s", params={"expand": ["customer", "items.data.price.product"]}
    )
    assert sub.customer.email == "s@example.com"
    assert sub["items"].data[0].price.product.name == "Pro"
    page = client.v1.subscriptions.list(params={"expand": ["data.customer", "data.items.data.price"]})
    assert [(s.id, s.customer.id) for s in page.data] == [("sub_s", "cus_s")]


def test_expand_more_than_four_levels_is_refused(sbx, client):
    _subscription_world(sbx)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.list(params={"expand": ["data.items.data.price.product"]})
    assert caught.value.user_message == (
        "You cannot expand more than 4 levels of a property. Property: data.items.data.price.product"
    )
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.subscriptions.list(params={"expand": ["customer"]})
    assert unknown.value.user_message.startswith("This property cannot be expanded (customer).")


def test_subscription_status_filters(sbx, client):
    _subscription_world(sbx)
    ids = lambda params: [s.id for s in client.v1.subscriptions.list(params=params).data]  # noqa: E731
    assert ids({}) == ["sub_s"]
    assert ids({"status": "all"}) == ["sub_s", "sub_old"]
    assert ids({"status": "canceled"}) == ["sub_old"]
    assert ids({"price": "price_s", "customer": "cus_s"}) == ["sub_s"]
    old = client.v1.subscriptions.retrieve("sub_old")
    assert (old.status, old.canceled_at, old.ended_at) == ("canceled", B - 5, B - 5)
