from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.mapping.mailchimp import (
    MemberRules,
    member_matches,
    plan_members,
    subscriber_hash,
)

RULES = MemberRules(consent_metadata_key="marketing_opt_in")


def cust(n, email, *, created=1000, consent=None, name="Ada Lovelace", deleted=False):
    customer = {"id": f"cus_{n}", "object": "customer", "email": email, "name": name, "created": created}
    if consent is not None:
        customer["metadata"] = {"marketing_opt_in": consent}
    if deleted:
        customer["deleted"] = True
    return customer


def sub(n, customer_id, status="active", created=2000, product="prod_1", nickname=None):
    price = {"id": f"price_{n}", "product": product, "nickname": nickname}
    return {
        "id": f"sub_{n}",
        "object": "subscription",
        "customer": customer_id,
        "status": status,
        "created": created,
        "items": {"data": [{"price": price}]},
    }


def test_subscriber_hash_is_md5_of_the_normalised_email():
    assert subscriber_hash(" Urist.McVankab@FreddieMac.com ") == "05b9d43160b5c68a327efe2a45c8b90c"


def test_consent_decides_status_if_new_and_tags():
    profile = {
        "customer": cust(1, "A@Example.com", consent=" Yes "),
        "subscriptions": [sub(1, "cus_1")],
        "products": {"prod_1": {"id": "prod_1", "name": "Gold"}},
    }
    members, rejections = plan_members(
        [profile, {"id": "ch_1", "object": "charge", "customer": "cus_1", "status": "succeeded"}], RULES
    )
    assert rejections == []
    [member] = members
    assert member.body == {
        "email_address": "a@example.com",
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace"},
    }
    assert member.tags == ("customer", "paid", "product:Gold")
    assert member.subscriber_hash == subscriber_hash("a@example.com")


@pytest.mark.parametrize("consent", [None, "no", "false", ""])
def test_without_consent_new_members_are_transactional(consent):
    members, _ = plan_members([cust(1, "a@example.com", consent=consent)], RULES)
    assert members[0].body["status_if_new"] == "transactional"


def test_no_consent_source_means_transactional_even_with_metadata():
    members, _ = plan_members([cust(1, "a@example.com", consent="yes")], MemberRules())
    assert members[0].body["status_if_new"] == "transactional"


def test_pending_and_marketing_permissions_for_opted_in_only():
    rules = MemberRules(
        consent_metadata_key="marketing_opt_in", opt_in_status="pending", marketing_permission_ids=("p1",)
    )
    members, _ = plan_members([cust(1, "a@example.com", consent="true"), cust(2, "b@example.com")], rules)
    assert [(m.body["status_if_new"], m.body.get("marketing_permissions")) for m in members] == [
        ("pending", [{"marketing_permission_id": "p1", "enabled": True}]),
        ("transactional", None),
    ]


def test_opt_in_status_must_be_subscribed_or_pending():
    with pytest.raises(ValueError, match="opt_in_status"):
        MemberRules(opt_in_status="transactional")


def test_price_without_nickname_falls_back_to_product_name_and_current_subscription_rule():
    profile = {
        "customer": cust(1, "a@example.com"),
        "subscriptions": [
            sub(1, "cus_1", status="canceled", created=3000, product="prod_old"),
            sub(2, "cus_1", status="active", created=2000, product="prod_new", nickname=None),
        ],
        "products": {
            "prod_new": {"id": "prod_new", "name": "Team"},
            "prod_old": {"id": "prod_old", "name": "Solo"},
        },
    }
    rules = MemberRules(product_merge_field="PRODUCT")
    [member], _ = plan_members([profile], rules)
    assert member.tags == ("customer", "product:Team")
    assert member.body["merge_fields"]["PRODUCT"] == "Team"


def test_triggers_select_customers_and_rejections_are_reported():
    records = [
        cust(1, "a@example.com"),
        cust(2, None),
        cust(3, "not-an-email"),
        cust(4, "d@example.com", deleted=True),
        cust(5, "shared@example.com", created=10),
        cust(6, "Shared@example.com", created=20),
        cust(7, "idle@example.com"),
        {"id": "ch_1", "object": "charge", "customer": "cus_1", "status": "failed"},
        {"id": "ch_2", "object": "charge", "customer": "cus_2", "status": "succeeded"},
        {"id": "ch_3", "object": "charge", "customer": "cus_3", "status": "succeeded"},
        {"id": "ch_4", "object": "charge", "customer": {"id": "cus_4"}, "status": "succeeded"},
        {"id": "ch_5", "object": "charge", "customer": "cus_5", "status": "succeeded"},
        {"id": "ch_6", "object": "charge", "customer": "cus_6", "status": "succeeded"},
        {"id": "ch_9", "object": "charge", "customer": "cus_9", "status": "succeeded"},
        sub(1, "cus_1"),
    ]
    members, rejections = plan_members(records, RULES)
    assert [(m.customer_id, m.email, m.tags) for m in members] == [
        ("cus_1", "a@example.com", ("customer", "subscriber")),
        ("cus_6", "shared@example.com", ("customer", "paid")),
    ]
    assert [(r.customer_id, r.reason, r.details) for r in rejections] == [
        ("cus_2", "no_email", {}),
        ("cus_3", "invalid_email", {}),
        ("cus_4", "customer_deleted", {}),
        ("cus_5", "email_shared_with_newer_customer", {"winner": "cus_6"}),
        ("cus_9", "no_customer_profile", {}),
    ]


def test_member_matches_needs_every_merge_field_and_tag():
    [member], _ = plan_members([cust(1, "a@example.com")], RULES)
    existing = {
        "status": "subscribed",
        "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace", "PHONE": "1"},
        "tags": [{"id": 1, "name": "customer"}, {"id": 2, "name": "vip"}],
    }
    assert member_matches(member, existing) is True
    assert member_matches(member, {**existing, "merge_fields": {"FNAME": "Ada"}}) is False
    assert member_matches(member, {**existing, "tags": []}) is False
    assert member_matches(member, {**existing, "status": "archived"}) is False


def test_first_payment_tag_when_the_profiles_first_charge_is_in_the_window():
    def profile(n, first_charge_id):
        return {
            "customer": cust(n, f"p{n}@example.com"),
            "subscriptions": [],
            "first_charge_id": first_charge_id,
        }

    records = [
        profile(1, "ch_1"),
        profile(2, "ch_old"),
        profile(3, None),
        {"id": "ch_1", "object": "charge", "customer": "cus_1", "status": "succeeded"},
        {"id": "ch_2", "object": "charge", "customer": "cus_2", "status": "succeeded"},
        {"id": "ch_3", "object": "charge", "customer": "cus_3", "status": "succeeded"},
    ]
    members, _ = plan_members(records, RULES)
    assert [(m.customer_id, m.tags) for m in members] == [
        ("cus_1", ("customer", "first-payment", "paid")),
        ("cus_2", ("customer", "paid")),
        ("cus_3", ("customer", "paid")),
    ]
    members, _ = plan_members(records, MemberRules(first_payment_tag=None))
    assert members[0].tags == ("customer", "paid")
