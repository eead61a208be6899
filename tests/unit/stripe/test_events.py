"""Finding changed objects from events: event types, de-duplication, retention, expansions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.hooks.stripe import StripeHook, _response_time
from airflow_provider_stripe_sync.stripe.events import (
    EVENT_RETENTION_SECONDS,
    UPDATABLE_RESOURCES,
    ChangedObjects,
    check_retention,
    object_expand,
    tombstone,
    updatable,
)
from airflow_provider_stripe_sync.stripe.windows import Window
from tests import contract

B = 1793232000  # 2026-10-29T00:00:00Z


def event(event_type, obj_id, obj="charge"):
    return {"type": event_type, "data": {"object": {"id": obj_id, "object": obj}}}


def test_every_event_type_is_one_stripe_sends_for_that_object():
    spec = contract.stripe_spec()
    if spec is None:
        pytest.skip("Stripe's OpenAPI description is not in ../shared/specs or $STRIPE_SYNC_SPECS_DIR")
    body = spec["paths"]["/v1/webhook_endpoints"]["post"]["requestBody"]["content"]
    known = set(
        body["application/x-www-form-urlencoded"]["schema"]["properties"]["enabled_events"]["items"]["enum"]
    )
    for resource in UPDATABLE_RESOURCES.values():
        assert set(resource.event_types) <= known, resource.name
        assert resource.deletion_types <= set(resource.event_types)
    # Every event type about the object itself is read, except invoice.upcoming (no id, not stored).
    prefixes = {
        "customers": "customer.",
        "subscriptions": "customer.subscription.",
        "charges": "charge.",
        "invoices": "invoice.",
        "payment_intents": "payment_intent.",
    }
    for name, prefix in prefixes.items():
        own = {t for t in known if t.startswith(prefix) and t.count(".") == prefix.count(".")}
        assert set(UPDATABLE_RESOURCES[name].event_types) == own - {"invoice.upcoming"}, name


def test_an_object_changed_three_times_is_one_entry_in_newest_first_order():
    changed = ChangedObjects(updatable("charges"))
    changed.add([event("charge.refunded", "ch_1"), event("charge.updated", "ch_2")])
    changed.add([event("charge.updated", "ch_1"), event("charge.succeeded", "ch_1")])

    assert changed.items() == [("ch_1", False), ("ch_2", False)]
    assert (len(changed), changed.events) == (2, 4)


def test_a_deletion_anywhere_in_the_window_marks_the_object_deleted():
    changed = ChangedObjects(updatable("customers"))
    changed.add(
        [
            event("customer.updated", "cus_1", "customer"),
            event("customer.deleted", "cus_1", "customer"),
            event("customer.created", "cus_1", "customer"),
            event("customer.updated", "cus_2", "customer"),
        ]
    )
    assert changed.items() == [("cus_1", True), ("cus_2", False)]


def test_a_canceled_subscription_is_not_a_deletion():
    changed = ChangedObjects(updatable("subscriptions"))
    changed.add([event("customer.subscription.deleted", "sub_1", "subscription")])
    assert changed.items() == [("sub_1", False)]


def test_events_about_other_objects_are_ignored():
    changed = ChangedObjects(updatable("charges"))
    changed.add([event("charge.refund.updated", "re_1", "refund"), event("charge.updated", "", "charge")])
    assert (changed.items(), changed.events) == ([], 0)


def test_tombstones_have_the_shape_stripe_gives_a_deleted_customer():
    assert tombstone(updatable("invoices"), "in_1") == {"id": "in_1", "object": "invoice", "deleted": True}


@pytest.mark.parametrize(
    ("now", "fails"),
    [
        (B + EVENT_RETENTION_SECONDS, False),
        (B + EVENT_RETENTION_SECONDS + 0.9, False),
        (B + EVENT_RETENTION_SECONDS + 1, True),
    ],
)
def test_retention_is_thirty_days_from_stripes_clock(now, fails):
    window = Window(B, B + 3600)
    if fails:
        with pytest.raises(ValueError, match="Stripe keeps events for 30 days only"):
            check_retention(window, now)
    else:
        check_retention(window, now)


def test_expansions_are_for_one_object_and_at_most_four_levels():
    assert object_expand(["customer", " items.data.price.product ", ""]) == [
        "customer",
        "items.data.price.product",
    ]
    with pytest.raises(ValueError, match=r"written for a list.*'customer'"):
        object_expand(["data.customer"])
    with pytest.raises(ValueError, match="5 levels deep; Stripe allows 4"):
        object_expand(["a.b.c.d.e"])


def test_response_time_reads_the_date_header():
    page = SimpleNamespace(last_response=SimpleNamespace(headers={"Date": "Thu, 29 Oct 2026 00:00:05 GMT"}))
    assert _response_time(page) == B + 5


def test_retrieve_gives_none_for_a_missing_object_and_raises_other_errors(monkeypatch):
    hook = StripeHook("unused")
    errors = iter(
        [
            StripeRequestError("No such charge", http_status=404, code="resource_missing"),
            StripeRequestError("Forbidden", http_status=403, code="secret_key_required"),
        ]
    )

    def failing_call(send, *, description, idempotency_key=None):
        raise next(errors)

    monkeypatch.setattr(hook, "call", failing_call)
    monkeypatch.setattr(hook, "service", lambda resource: None)
    assert hook.retrieve("charges", "ch_gone") is None
    with pytest.raises(StripeRequestError, match="Forbidden"):
        hook.retrieve("charges", "ch_x")
