from __future__ import annotations

import copy

from airflow_provider_stripe_sync.mapping.hubspot import (
    CONTACT_PROPERTY_DEFINITIONS,
    CONTACT_PROPERTY_NAMES,
    PlannedContact,
    Rejection,
    contact_properties,
    held_by_newer_customer,
    plan_contacts,
    properties_match,
)

# Shaped like Stripe's API reference examples (API version 2024-x), trimmed to what matters.
CUSTOMER = {
    "id": "cus_NffrFeUfNV2Hib",
    "object": "customer",
    "address": None,
    "balance": 0,
    "created": 1680893993,
    "currency": None,
    "default_source": None,
    "delinquent": False,
    "description": None,
    "email": " Jennyrosen@Example.com ",
    "invoice_prefix": "0759376C",
    "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
    "livemode": False,
    "metadata": {},
    "name": "Jenny Rosen",
    "phone": "+15555550123",
    "preferred_locales": [],
    "shipping": None,
    "tax_exempt": "none",
    "test_clock": None,
}

SUBSCRIPTION = {
    "id": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
    "object": "subscription",
    "cancel_at_period_end": False,
    "created": 1679609767,
    "currency": "usd",
    "customer": "cus_NffrFeUfNV2Hib",
    "items": {
        "object": "list",
        "data": [
            {
                "id": "si_Na6dzxczY5fwHx",
                "object": "subscription_item",
                "created": 1679609768,
                "price": {
                    "id": "price_1MowQULkdIwHu7ixraBm864M",
                    "object": "price",
                    "active": True,
                    "currency": "usd",
                    "nickname": None,
                    "product": "prod_Na6dGcTsmU0I4R",
                    "recurring": {"interval": "month", "interval_count": 1},
                    "unit_amount": 1000,
                },
                "quantity": 1,
            }
        ],
        "has_more": False,
        "url": "/v1/subscription_items?subscription=sub_1MowQVLkdIwHu7ixeRlqHVzs",
    },
    "livemode": False,
    "status": "active",
}

PRODUCT = {"id": "prod_Na6dGcTsmU0I4R", "object": "product", "active": True, "name": "Gold Plan"}


def _profile(customer=CUSTOMER, subscriptions=(SUBSCRIPTION,), products=None):
    return {
        "customer": copy.deepcopy(customer),
        "subscriptions": [copy.deepcopy(sub) for sub in subscriptions],
        "products": {PRODUCT["id"]: PRODUCT} if products is None else products,
    }


def test_contact_properties_of_a_profile():
    assert contact_properties(_profile()) == {
        "email": "jennyrosen@example.com",
        "firstname": "Jenny",
        "lastname": "Rosen",
        "phone": "+15555550123",
        "stripe_customer_id": "cus_NffrFeUfNV2Hib",
        "stripe_customer_created": "1680893993000",
        "stripe_subscription_id": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
        "stripe_subscription_status": "active",
        "stripe_product": "Gold Plan",
        "stripe_livemode": "false",
    }


def test_contact_properties_leave_out_what_the_record_does_not_know():
    # A re-run of an older interval must not erase a subscription a later run wrote.
    customer = dict(CUSTOMER, name=None, phone=None, livemode=True)
    assert contact_properties(customer) == {
        "email": "jennyrosen@example.com",
        "stripe_customer_id": "cus_NffrFeUfNV2Hib",
        "stripe_customer_created": "1680893993000",
        "stripe_livemode": "true",
    }


def test_contact_properties_of_a_customer_with_expanded_subscriptions():
    customer = dict(CUSTOMER, subscriptions={"object": "list", "data": [SUBSCRIPTION]})
    properties = contact_properties(customer)
    assert properties["stripe_subscription_id"] == "sub_1MowQVLkdIwHu7ixeRlqHVzs"
    # Price's product is only an id and there is no products map: the product id is the name.
    assert properties["stripe_product"] == "prod_Na6dGcTsmU0I4R"


def test_cancelled_subscription_overwrites_old_status():
    cancelled = dict(SUBSCRIPTION, status="canceled", canceled_at=1690000000)
    assert contact_properties(_profile(subscriptions=[cancelled]))["stripe_subscription_status"] == "canceled"


def test_newer_live_subscription_wins_over_cancelled_one():
    old = dict(SUBSCRIPTION, id="sub_old", status="canceled", created=1600000000)
    new = dict(SUBSCRIPTION, id="sub_new", status="trialing", created=1700000000)
    properties = contact_properties(_profile(subscriptions=[new, old]))
    assert (properties["stripe_subscription_id"], properties["stripe_subscription_status"]) == (
        "sub_new",
        "trialing",
    )


def test_property_definitions():
    by_name = {definition["name"]: definition for definition in CONTACT_PROPERTY_DEFINITIONS}
    assert sorted(by_name) == [
        "stripe_customer_created",
        "stripe_customer_id",
        "stripe_livemode",
        "stripe_product",
        "stripe_subscription_id",
        "stripe_subscription_status",
    ]
    assert by_name["stripe_customer_id"]["hasUniqueValue"] is True
    assert {d["groupName"] for d in CONTACT_PROPERTY_DEFINITIONS} == {"contactinformation"}
    assert by_name["stripe_customer_created"]["type"] == "datetime"
    assert set(contact_properties(_profile())) == set(CONTACT_PROPERTY_NAMES)


def _customer(customer_id, email, created, **extra):
    return {
        "id": customer_id,
        "object": "customer",
        "email": email,
        "created": created,
        "livemode": False,
        **extra,
    }


def test_plan_merges_emails_differing_in_case_and_space():
    contacts, rejections = plan_contacts(
        [_customer("cus_1", "Ann@Example.com", 100), _customer("cus_2", "  ann@example.COM ", 200)]
    )
    assert [(c.customer_id, c.email) for c in contacts] == [("cus_2", "ann@example.com")]
    assert rejections == [Rejection("cus_1", "email_shared_with_newer_customer", {"winner": "cus_2"})]


def test_plan_shared_email_winner_is_newest_then_greatest_id_whatever_the_order():
    records = [
        _customer("cus_b", "x@example.com", 300),
        _customer("cus_a", "x@example.com", 300),
        _customer("cus_c", "x@example.com", 100),
    ]
    for ordering in (records, list(reversed(records))):
        contacts, rejections = plan_contacts(ordering)
        assert [c.customer_id for c in contacts] == ["cus_b"]
        assert rejections == [
            Rejection("cus_a", "email_shared_with_newer_customer", {"winner": "cus_b"}),
            Rejection("cus_c", "email_shared_with_newer_customer", {"winner": "cus_b"}),
        ]


def test_plan_rejects_no_email_and_deleted_and_sorts_by_email():
    contacts, rejections = plan_contacts(
        [
            _customer("cus_3", "zed@example.com", 1),
            _customer("cus_1", None, 1),
            _customer("cus_2", "   ", 1),
            {"id": "cus_4", "object": "customer", "deleted": True},
            _customer("cus_5", "amy@example.com", 1),
            _customer("cus_6", " Not-An-Email ", 1),
            {"object": "charge"},
        ]
    )
    assert [c.email for c in contacts] == ["amy@example.com", "zed@example.com"]
    assert rejections == [
        Rejection(None, "not_a_customer"),
        Rejection("cus_1", "no_email"),
        Rejection("cus_2", "no_email"),
        Rejection("cus_4", "customer_deleted"),
        Rejection("cus_6", "invalid_email"),
    ]


def test_plan_same_customer_twice_counts_once_and_later_line_wins():
    contacts, rejections = plan_contacts(
        [_customer("cus_1", "old@example.com", 1), _customer("cus_1", "new@example.com", 1)]
    )
    assert contacts == [
        PlannedContact(
            "cus_1",
            "new@example.com",
            {
                "email": "new@example.com",
                "stripe_customer_id": "cus_1",
                "stripe_customer_created": "1000",
                "stripe_livemode": "false",
            },
        )
    ]
    assert rejections == []


def test_properties_match_reads_hubspot_shapes():
    wanted = {
        "email": "ann@example.com",
        "stripe_customer_created": "1680893993000",
        "stripe_livemode": "false",
        "stripe_product": "",
    }
    existing = {
        "email": "Ann@example.com",
        "stripe_customer_created": "2023-04-07T18:59:53.000Z",
        "stripe_livemode": "false",
        "stripe_product": None,
        "hs_object_id": "501",
    }
    assert properties_match(wanted, existing)
    assert not properties_match(dict(wanted, stripe_product="Gold"), existing)
    assert not properties_match(dict(wanted, stripe_customer_created="1680893994000"), existing)
    assert not properties_match(dict(wanted, firstname="Ann"), existing)


def _planned(customer_id, created):
    return PlannedContact(
        customer_id,
        "x@example.com",
        {"email": "x@example.com", "stripe_customer_created": str(created * 1000)},
    )


def test_held_by_newer_customer_keeps_the_cross_run_winner():
    newer = {"stripe_customer_id": "cus_new", "stripe_customer_created": "2026-10-30T21:10:35.000Z"}
    # 2026-10-30T21:10:35Z is 1793394635.
    assert held_by_newer_customer(_planned("cus_old", 1793394634), newer) == "cus_new"
    assert held_by_newer_customer(_planned("cus_zzz", 1793394636), newer) is None
    # Same second: the greater id wins, as within one run.
    assert held_by_newer_customer(_planned("cus_aaa", 1793394635), newer) == "cus_new"
    assert held_by_newer_customer(_planned("cus_zzz", 1793394635), newer) is None
    assert held_by_newer_customer(_planned("cus_new", 1), newer) is None
    assert held_by_newer_customer(_planned("cus_old", 1), {"email": "x@example.com"}) is None
