from __future__ import annotations

from airflow_provider_stripe_sync.stripe.idempotency import canonical_json, idempotency_key


def test_same_write_same_key_whatever_the_key_order():
    a = idempotency_key(
        scope=["d", "t", "r", -1], method="customers.create", params={"email": "a@b.c", "name": "A"}
    )
    b = idempotency_key(
        scope=["d", "t", "r", "-1"], method="customers.create", params={"name": "A", "email": "a@b.c"}
    )
    assert a == b
    assert a.startswith("stripe-sync-customers.create-")
    assert len(a) == len("stripe-sync-customers.create-") + 64


def test_different_params_scope_or_method_give_different_keys():
    base = {"scope": ["s"], "method": "customers.create", "params": {"email": "a@b.c"}}
    key = idempotency_key(**base)
    assert key != idempotency_key(**{**base, "params": {"email": "x@b.c"}})
    assert key != idempotency_key(**{**base, "scope": ["t"]})
    assert key != idempotency_key(**{**base, "method": "subscriptions.create"})


def test_canonical_json_is_compact_and_sorted():
    assert canonical_json({"b": [2, 1], "a": {"y": 1, "x": 2}}) == '{"a":{"x":2,"y":1},"b":[2,1]}'
