"""
Stripe customers to HubSpot contacts: the properties written, and which customer owns which email.

A record is either a Stripe customer object, or a customer profile::

    {"customer": {...}, "subscriptions": [{...}, ...], "products": {"prod_...": {...}}}

where subscriptions may have any status and their prices may be ids or expanded objects. A bare
customer object may carry its subscriptions expanded (``expand=["data.subscriptions"]``).

What is sent when a value is missing: nothing. A property whose value the record does not have is
left out, never sent empty, because a record may simply not know it: a profile built from one
interval lacks the subscriptions created later, and re-running that interval must not erase them.
The cost is that a value removed in Stripe (a phone number) stays in HubSpot until replaced. A
cancellation is a value (``stripe_subscription_status`` becomes ``canceled``), so it overwrites the
earlier status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_stripe_sync.mapping.common import (
    current_subscription,
    epoch_millis,
    is_plausible_email,
    list_data,
    normalize_email,
    product_name,
    split_name,
)

#: The HubSpot property group the custom properties are created in.
PROPERTY_GROUP = "contactinformation"

#: Rejection reasons written to the report.
REASON_NO_EMAIL = "no_email"
REASON_INVALID_EMAIL = "invalid_email"
REASON_CUSTOMER_DELETED = "customer_deleted"
REASON_EMAIL_SHARED = "email_shared_with_newer_customer"
REASON_NOT_A_CUSTOMER = "not_a_customer"

#: The custom contact properties this provider writes; the hook creates the missing ones.
#: The subscription status is free text rather than an enumeration, so a status Stripe adds later
#: (as it added ``paused``) is written instead of rejected.
CONTACT_PROPERTY_DEFINITIONS: tuple[dict[str, Any], ...] = (
    {
        "name": "stripe_customer_id",
        "label": "Stripe customer ID",
        "type": "string",
        "fieldType": "text",
        "groupName": PROPERTY_GROUP,
        "hasUniqueValue": True,
    },
    {
        "name": "stripe_customer_created",
        "label": "Stripe customer created",
        "type": "datetime",
        "fieldType": "date",
        "groupName": PROPERTY_GROUP,
        "hasUniqueValue": False,
    },
    {
        "name": "stripe_subscription_id",
        "label": "Stripe subscription ID",
        "type": "string",
        "fieldType": "text",
        "groupName": PROPERTY_GROUP,
        "hasUniqueValue": False,
    },
    {
        "name": "stripe_subscription_status",
        "label": "Stripe subscription status",
        "type": "string",
        "fieldType": "text",
        "groupName": PROPERTY_GROUP,
        "hasUniqueValue": False,
    },
    {
        "name": "stripe_product",
        "label": "Stripe product",
        "type": "string",
        "fieldType": "text",
        "groupName": PROPERTY_GROUP,
        "hasUniqueValue": False,
    },
    {
        "name": "stripe_livemode",
        "label": "Stripe live mode",
        "type": "bool",
        "fieldType": "booleancheckbox",
        "groupName": PROPERTY_GROUP,
        "hasUniqueValue": False,
        "options": [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ],
    },
)

#: Every property ``contact_properties`` may return, in a stable order (what batch reads ask for).
CONTACT_PROPERTY_NAMES: tuple[str, ...] = ("email", "firstname", "lastname", "phone") + tuple(
    definition["name"] for definition in CONTACT_PROPERTY_DEFINITIONS
)

_PROPERTY_TYPES = {definition["name"]: definition["type"] for definition in CONTACT_PROPERTY_DEFINITIONS}


@dataclass(frozen=True)
class PlannedContact:
    """
    One contact to write: the customer it comes from and the properties to send.

    :param customer_id: the Stripe customer id.
    :param email: the normalised email, the contact's key in HubSpot.
    :param properties: HubSpot property values as text.
    """

    customer_id: str
    email: str
    properties: dict[str, str]


@dataclass(frozen=True)
class Rejection:
    """
    A record that is not written, and why.

    :param customer_id: the Stripe customer id, when the record has one.
    :param reason: a short code (``no_email``, ``customer_deleted``...).
    :param details: what else the report should say (never the whole record).
    """

    customer_id: str | None
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def customer_profile(
    record: Mapping[str, Any],
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]], Mapping[str, Mapping[str, Any]]]:
    """Return a record's customer, subscriptions and products, whichever of the two shapes it has."""
    if isinstance(record.get("customer"), Mapping):
        subscriptions = list_data(record.get("subscriptions"))
        products = record.get("products")
        return record["customer"], subscriptions, products if isinstance(products, Mapping) else {}
    return record, list_data(record.get("subscriptions")), {}


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def contact_properties(record: Mapping[str, Any]) -> dict[str, str]:
    """
    Return the HubSpot contact properties for one record, as text.

    ``stripe_customer_created`` is epoch milliseconds (HubSpot's datetime format; Stripe gives
    seconds). The subscription is the one ``current_subscription`` picks, so a cancellation
    overwrites the earlier status. See the module docstring for what happens to missing values.
    """
    customer, subscriptions, products = customer_profile(record)
    subscription = current_subscription(subscriptions)
    firstname, lastname = split_name(customer.get("name"))

    properties = {
        "email": normalize_email(customer.get("email")),
        "firstname": firstname,
        "lastname": lastname,
        "phone": _text(customer.get("phone")),
        "stripe_customer_id": _text(customer.get("id")),
        "stripe_customer_created": epoch_millis(customer.get("created")),
        "stripe_subscription_id": _text(subscription.get("id")) if subscription else None,
        "stripe_subscription_status": _text(subscription.get("status")) if subscription else None,
        "stripe_product": product_name(subscription, products),
        "stripe_livemode": _text(customer.get("livemode")),
    }
    properties = {name: value for name, value in properties.items() if value is not None}
    return properties


def _created(customer: Mapping[str, Any]) -> int:
    created = customer.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


def plan_contacts(records: Iterable[Mapping[str, Any]]) -> tuple[list[PlannedContact], list[Rejection]]:
    """
    Turn records into one contact per email, and say which records are left out and why.

    - A record seen twice for the same customer (overlapping windows) counts once: the later line
      wins, as it was read later.
    - A deleted customer is rejected (``customer_deleted``), and so is one without an email
      (``no_email``) or with one no destination accepts, such as text without an ``@``
      (``invalid_email``); subtler problems are left for HubSpot to judge.
    - Emails are compared normalised (trimmed, lower-cased). When customers share one, the most
      recently created customer wins (ties: the greater id); each other one is rejected with
      ``email_shared_with_newer_customer`` naming the winner.

    Both lists come out in a deterministic order: contacts by email, rejections by customer id.
    Everything planned is held in memory, about one small dict per customer.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    rejections: list[Rejection] = []
    for record in records:
        customer, _, _ = customer_profile(record)
        customer_id = customer.get("id")
        if not isinstance(customer_id, str) or not customer_id:
            rejections.append(Rejection(None, REASON_NOT_A_CUSTOMER))
            continue
        if customer.get("object", "customer") != "customer":
            # A charge or a balance transaction fed in by mistake: say so rather than "no email".
            rejections.append(Rejection(customer_id, REASON_NOT_A_CUSTOMER, {"object": customer["object"]}))
            continue
        latest.pop(customer_id, None)
        latest[customer_id] = record

    candidates: dict[str, list[tuple[tuple[int, str], PlannedContact]]] = {}
    for customer_id, record in latest.items():
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
        contact = PlannedContact(customer_id, email, contact_properties(record))
        candidates.setdefault(email, []).append(((_created(customer), customer_id), contact))

    contacts: list[PlannedContact] = []
    for email in sorted(candidates):
        ranked = sorted(candidates[email], key=lambda candidate: candidate[0], reverse=True)
        winner = ranked[0][1]
        contacts.append(winner)
        for _, loser in ranked[1:]:
            rejections.append(
                Rejection(loser.customer_id, REASON_EMAIL_SHARED, {"winner": winner.customer_id})
            )

    rejections.sort(key=lambda rejection: (rejection.customer_id or "", rejection.reason))
    return contacts, rejections


def _millis(value: str) -> int | None:
    """Read a HubSpot datetime, as epoch milliseconds or ISO 8601 text, as epoch milliseconds."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def _same_value(name: str, wanted: str, existing: str | None) -> bool:
    existing = existing or ""
    if wanted == existing:
        return True
    if not wanted or not existing:
        return False
    kind = _PROPERTY_TYPES.get(name)
    if kind == "datetime":
        return _millis(wanted) is not None and _millis(wanted) == _millis(existing)
    if kind == "bool" or name == "email":
        return wanted.strip().lower() == existing.strip().lower()
    return False


def _rank(customer_id: str | None, created_millis: str | None) -> tuple[int, str]:
    millis = _millis(created_millis) if created_millis else None
    return ((millis or 0) // 1000, customer_id or "")


def held_by_newer_customer(contact: PlannedContact, existing: Mapping[str, str | None]) -> str | None:
    """
    Return the Stripe customer id an existing contact belongs to, when that customer outranks ours.

    The rule of ``plan_contacts`` (the most recently created customer owns a shared email, ties to
    the greater id) must hold across runs too: one interval may see only the older customer and
    would otherwise take the contact back from the newer one written by another interval.
    """
    held_id = existing.get("stripe_customer_id")
    if not held_id or held_id == contact.customer_id:
        return None
    ours = _rank(contact.customer_id, contact.properties.get("stripe_customer_created"))
    theirs = _rank(held_id, existing.get("stripe_customer_created"))
    return held_id if theirs > ours else None


def properties_match(wanted: Mapping[str, str], existing: Mapping[str, str | None]) -> bool:
    """
    Tell whether a contact already holds every value we would write.

    HubSpot reads back datetimes as ISO 8601 text although they are written as epoch milliseconds,
    and an empty property as null; both count as equal here. Properties we do not write are ignored.
    """
    return all(_same_value(name, value, existing.get(name)) for name, value in wanted.items())
