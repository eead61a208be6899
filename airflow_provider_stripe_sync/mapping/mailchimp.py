"""
Stripe customers who paid or subscribed, to Mailchimp audience members with tags.

Records are what the marketing DAG reads: customer profiles (``{"customer", "subscriptions",
"products"}``, or bare customers), and the charges and subscriptions created in the window. When
charges or subscriptions are given, only their customers become members (a charge only when it
succeeded); profiles alone all become members.

Consent: a new member is ``transactional`` (receipts, no campaigns) unless the consent source
(a Stripe customer metadata key) says the person opted in; then ``subscribed``, or ``pending`` for
double opt-in. Only ``status_if_new`` is ever sent, never ``status``, so an existing member's status
is never raised and an unsubscribed or cleaned member is never subscribed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_stripe_sync.mapping.common import (
    current_subscription,
    is_plausible_email,
    normalize_email,
    product_name,
    split_name,
)
from airflow_provider_stripe_sync.mapping.hubspot import (
    REASON_CUSTOMER_DELETED,
    REASON_EMAIL_SHARED,
    REASON_INVALID_EMAIL,
    REASON_NO_EMAIL,
    Rejection,
    customer_profile,
)

#: A charge or subscription whose customer has no profile among the records.
REASON_NO_PROFILE = "no_customer_profile"

#: Statuses a new member may get.
OPT_IN_STATUSES = ("subscribed", "pending")

#: Metadata values that mean "yes", compared trimmed and lower-cased.
DEFAULT_OPT_IN_VALUES = ("true", "yes", "1", "opted_in", "subscribed")


def subscriber_hash(email: str) -> str:
    """Return Mailchimp's member id: the MD5 hex digest of the trimmed, lower-cased email."""
    normalised = normalize_email(email) or ""
    return hashlib.md5(normalised.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class MemberRules:
    """
    How Stripe customers become members.

    :param consent_metadata_key: the customer metadata key that records marketing consent; ``None``
        means nobody is known to have opted in (every new member is ``transactional``).
    :param opt_in_values: metadata values that mean the person opted in.
    :param opt_in_status: ``subscribed``, or ``pending`` to send Mailchimp's confirmation email.
    :param tags: tags every member gets.
    :param product_tag: tag naming the current subscription's product (``{product}`` is replaced);
        ``None`` for none.
    :param payment_tag: tag for a customer with a succeeded charge in the window; ``None`` for none.
    :param first_payment_tag: tag for a customer whose first succeeded charge ever is in the window
        (the profile's ``first_charge_id``, see ``StripeCustomerProfilesOperator``).
    :param subscription_tag: tag for a customer with a new subscription in the window.
    :param product_merge_field: merge field for the product's name (the audience must have it).
    :param marketing_permission_ids: GDPR marketing permissions enabled for people who opted in.
    """

    consent_metadata_key: str | None = None
    opt_in_values: Sequence[str] = DEFAULT_OPT_IN_VALUES
    opt_in_status: str = "subscribed"
    tags: Sequence[str] = ("customer",)
    product_tag: str | None = "product:{product}"
    payment_tag: str | None = "paid"
    first_payment_tag: str | None = "first-payment"
    subscription_tag: str | None = "subscriber"
    product_merge_field: str | None = None
    marketing_permission_ids: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.opt_in_status not in OPT_IN_STATUSES:
            raise ValueError(f"opt_in_status must be one of {OPT_IN_STATUSES}, got {self.opt_in_status!r}.")


@dataclass(frozen=True)
class PlannedMember:
    """
    One member to write.

    :param customer_id: the Stripe customer id.
    :param email: the normalised email.
    :param subscriber_hash: MD5 of the email, the member's id in Mailchimp.
    :param body: the ``PUT`` body (``email_address``, ``status_if_new``, ``merge_fields``...).
    :param tags: tag names to set active, sorted.
    :param opted_in: whether the consent source says the person opted in.
    """

    customer_id: str
    email: str
    subscriber_hash: str
    body: dict[str, Any]
    tags: tuple[str, ...]
    opted_in: bool = False


def opted_in(customer: Mapping[str, Any], rules: MemberRules) -> bool:
    """Tell whether the customer's consent source says they opted in to marketing."""
    if not rules.consent_metadata_key:
        return False
    metadata = customer.get("metadata")
    value = metadata.get(rules.consent_metadata_key) if isinstance(metadata, Mapping) else None
    if value is None:
        return False
    wanted = {str(v).strip().lower() for v in rules.opt_in_values}
    return str(value).strip().lower() in wanted


def member_for(
    record: Mapping[str, Any],
    rules: MemberRules,
    *,
    paid: bool = False,
    subscribed: bool = False,
    first_payment: bool = False,
) -> PlannedMember:
    """Build the member of one profile record (its customer must have a plausible email)."""
    customer, subscriptions, products = customer_profile(record)
    email = normalize_email(customer.get("email")) or ""
    consent = opted_in(customer, rules)
    product = product_name(current_subscription(subscriptions), products)

    first, last = split_name(customer.get("name"))
    merge_fields = {"FNAME": first, "LNAME": last}
    if rules.product_merge_field:
        merge_fields[rules.product_merge_field] = product
    body: dict[str, Any] = {
        "email_address": email,
        "status_if_new": rules.opt_in_status if consent else "transactional",
        "merge_fields": {name: value for name, value in merge_fields.items() if value},
    }
    if consent and rules.marketing_permission_ids:
        body["marketing_permissions"] = [
            {"marketing_permission_id": pid, "enabled": True} for pid in rules.marketing_permission_ids
        ]

    tags = set(rules.tags)
    if product and rules.product_tag:
        tags.add(rules.product_tag.format(product=product))
    if paid and rules.payment_tag:
        tags.add(rules.payment_tag)
    if first_payment and rules.first_payment_tag:
        tags.add(rules.first_payment_tag)
    if subscribed and rules.subscription_tag:
        tags.add(rules.subscription_tag)
    return PlannedMember(
        customer_id=str(customer["id"]),
        email=email,
        subscriber_hash=subscriber_hash(email),
        body=body,
        tags=tuple(sorted(tags)),
        opted_in=consent,
    )


def _customer_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _created(customer: Mapping[str, Any]) -> int:
    created = customer.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


def plan_members(
    records: Iterable[Mapping[str, Any]], rules: MemberRules
) -> tuple[list[PlannedMember], list[Rejection]]:
    """
    Turn records into one member per email, and say which customers are left out and why.

    Customers sharing an email follow the CRM sync's rule: the most recently created wins (ties:
    the greater id); the others are rejected with ``email_shared_with_newer_customer``. Members
    come out sorted by email, rejections by customer id.
    """
    profiles: dict[str, Mapping[str, Any]] = {}
    paid: set[str] = set()
    paid_charges: set[str] = set()
    subscribed: set[str] = set()
    triggers_seen = False
    for record in records:
        kind = record.get("object")
        if kind == "charge":
            triggers_seen = True
            customer_id = _customer_id(record.get("customer"))
            if customer_id and record.get("status") == "succeeded":
                paid.add(customer_id)
                paid_charges.add(str(record.get("id")))
            continue
        if kind == "subscription":
            triggers_seen = True
            customer_id = _customer_id(record.get("customer"))
            if customer_id:
                subscribed.add(customer_id)
            continue
        customer, _, _ = customer_profile(record)
        customer_id = _customer_id(customer)
        if customer_id and customer.get("object", "customer") == "customer":
            profiles[customer_id] = record

    wanted = sorted(paid | subscribed) if triggers_seen else sorted(profiles)
    rejections: list[Rejection] = []
    candidates: dict[str, list[tuple[tuple[int, str], PlannedMember]]] = {}
    for customer_id in wanted:
        record = profiles.get(customer_id)
        if record is None:
            rejections.append(Rejection(customer_id, REASON_NO_PROFILE))
            continue
        customer, _, _ = customer_profile(record)
        if customer.get("deleted"):
            rejections.append(Rejection(customer_id, REASON_CUSTOMER_DELETED))
            continue
        email = normalize_email(customer.get("email"))
        if email is None:
            rejections.append(Rejection(customer_id, REASON_NO_EMAIL))
            continue
        if not is_plausible_email(email):
            rejections.append(Rejection(customer_id, REASON_INVALID_EMAIL))
            continue
        member = member_for(
            record,
            rules,
            paid=customer_id in paid,
            subscribed=customer_id in subscribed,
            first_payment=record.get("first_charge_id") in paid_charges,
        )
        candidates.setdefault(email, []).append(((_created(customer), customer_id), member))

    members: list[PlannedMember] = []
    for email in sorted(candidates):
        ranked = sorted(candidates[email], key=lambda candidate: candidate[0], reverse=True)
        members.append(ranked[0][1])
        for _, loser in ranked[1:]:
            rejections.append(
                Rejection(loser.customer_id, REASON_EMAIL_SHARED, {"winner": ranked[0][1].customer_id})
            )
    rejections.sort(key=lambda rejection: (rejection.customer_id or "", rejection.reason))
    return members, rejections


def member_matches(member: PlannedMember, existing: Mapping[str, Any]) -> bool:
    """Tell whether an existing member already has our merge fields, permissions and active tags."""
    if existing.get("status") == "archived":
        return False
    merge_fields = existing.get("merge_fields") or {}
    if any(merge_fields.get(name) != value for name, value in member.body["merge_fields"].items()):
        return False
    active = {tag.get("name") for tag in existing.get("tags") or [] if isinstance(tag, Mapping)}
    return set(member.tags) <= active
