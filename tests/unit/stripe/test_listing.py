from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.stripe.listing import iter_pages, list_expand, window_list_params
from airflow_provider_stripe_sync.stripe.retry import RetryPolicy
from airflow_provider_stripe_sync.stripe.windows import Window


def test_params_carry_both_bounds_limit_expand_and_drop_none():
    params = window_list_params(
        Window(100, 200),
        filters={"customer": "cus_1", "type": None},
        expand=["customer"],
        default_filters={"status": "all"},
    )
    assert params == {
        "status": "all",
        "customer": "cus_1",
        "created": {"gte": 100, "lt": 200},
        "limit": 100,
        "expand": ["data.customer"],
    }


def test_caller_filters_override_defaults():
    params = window_list_params(Window(1, 2), filters={"status": "active"}, default_filters={"status": "all"})
    assert params["status"] == "active"


@pytest.mark.parametrize("reserved", ["created", "starting_after", "ending_before", "limit", "expand"])
def test_filters_may_not_set_what_the_loop_owns(reserved):
    with pytest.raises(ValueError, match=f"filters may not set {reserved}"):
        window_list_params(Window(1, 2), filters={reserved: 1})


@pytest.mark.parametrize("limit", [0, 101, -1, "100", True])
def test_page_size_outside_1_to_100_is_refused(limit):
    with pytest.raises(ValueError, match="limit must be a whole number from 1 to 100"):
        window_list_params(Window(1, 2), limit=limit)


def test_expand_gets_data_prefix_and_depth_counts_it():
    assert list_expand(["invoice.subscription.default_source"]) == [
        "data.invoice.subscription.default_source"
    ]
    assert list_expand(["data.customer"]) == ["data.customer"]
    with pytest.raises(ValueError, match="5 levels deep; Stripe allows 4"):
        list_expand(["items.data.price.product"])


def test_pages_follow_has_more_keeping_every_parameter():
    objects = [{"id": f"ch_{n:03d}"} for n in range(250, 0, -1)]
    sent = []

    def fetch(params):
        sent.append(params)
        start = 0
        if "starting_after" in params:
            start = next(i for i, o in enumerate(objects) if o["id"] == params["starting_after"]) + 1
        page = objects[start : start + params["limit"]]
        return {"data": page, "has_more": start + len(page) < len(objects)}

    first = {"created": {"gte": 1, "lt": 2}, "limit": 100, "expand": ["data.customer"]}
    pages = list(iter_pages(fetch, first, retry=RetryPolicy(max_retries=0), description="list charges"))

    assert [len(p) for p in pages] == [100, 100, 50]
    assert len(sent) == 3
    assert sent[0] == first
    assert sent[1] == {**first, "starting_after": "ch_151"}
    assert sent[2] == {**first, "starting_after": "ch_051"}
    assert all("ending_before" not in p for p in sent)
    assert [o["id"] for p in pages for o in p] == [o["id"] for o in objects]
