from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.mapping.common import (
    current_subscription,
    epoch_millis,
    is_plausible_email,
    normalize_email,
    product_name,
    split_name,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Ada.Lovelace@Example.COM \n", "ada.lovelace@example.com"),
        ("bob@example.com", "bob@example.com"),
        ("", None),
        ("   ", None),
        (None, None),
        (42, None),
    ],
)
def test_normalize_email(value, expected):
    assert normalize_email(value) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("  Ada   King  Lovelace ", ("Ada", "King Lovelace")),
        ("Cher", ("Cher", None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_split_name(name, expected):
    assert split_name(name) == expected


def test_epoch_millis_converts_stripe_seconds():
    assert epoch_millis(1700000000) == "1700000000000"
    assert epoch_millis(None) is None
    assert epoch_millis(True) is None


def _sub(sub_id, status, created):
    return {"id": sub_id, "object": "subscription", "status": status, "created": created}


def test_current_subscription_prefers_newest_live_one():
    subs = [
        _sub("sub_a", "active", 100),
        _sub("sub_b", "past_due", 300),
        _sub("sub_c", "canceled", 500),
        _sub("sub_d", "incomplete_expired", 600),
    ]
    assert current_subscription(subs)["id"] == "sub_b"


def test_current_subscription_all_ended_gives_newest_so_cancellation_shows():
    subs = [
        _sub("sub_a", "canceled", 100),
        _sub("sub_b", "canceled", 200),
        _sub("sub_c", "incomplete_expired", 150),
    ]
    assert current_subscription(subs)["id"] == "sub_b"


def test_current_subscription_ties_broken_by_greater_id():
    subs = [_sub("sub_B", "active", 100), _sub("sub_A", "active", 100), _sub("sub_C", "canceled", 100)]
    assert current_subscription(subs)["id"] == "sub_B"
    assert current_subscription(list(reversed(subs)))["id"] == "sub_B"


def test_current_subscription_none():
    assert current_subscription([]) is None


def _with_price(price):
    return {"id": "sub_1", "items": {"object": "list", "data": [{"id": "si_1", "price": price}]}}


def test_product_name_from_expanded_product():
    sub = _with_price({"id": "price_1", "nickname": "Monthly", "product": {"id": "prod_1", "name": "Pro"}})
    assert product_name(sub, {}) == "Pro"


def test_product_name_from_products_lookup():
    sub = _with_price({"id": "price_1", "nickname": "Monthly", "product": "prod_1"})
    assert product_name(sub, {"prod_1": {"id": "prod_1", "name": "Team"}}) == "Team"


def test_product_name_falls_back_to_nickname_then_product_id():
    sub = _with_price({"id": "price_1", "nickname": "Monthly", "product": "prod_1"})
    assert product_name(sub, {}) == "Monthly"
    sub = _with_price({"id": "price_1", "nickname": None, "product": "prod_1"})
    assert product_name(sub, {}) == "prod_1"


def test_product_name_without_expanded_price_or_items():
    assert product_name(_with_price("price_1"), {"prod_1": {"name": "Team"}}) is None
    assert product_name({"id": "sub_1", "items": {"data": []}}, {}) is None
    assert product_name(None, {}) is None


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ann@example.com", True),
        ("ann@localhost", True),  # HubSpot may refuse it; that is HubSpot's call
        ("not-an-email", False),
        ("ann@@example.com", False),
        ("ann smith@example.com", False),
        ("@example.com", False),
        ("ann@", False),
    ],
)
def test_is_plausible_email(email, expected):
    assert is_plausible_email(email) is expected
