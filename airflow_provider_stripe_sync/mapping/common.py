"""
Helpers every destination mapping shares: emails, the subscription that describes a customer now,
product names and Stripe timestamps.

Pure functions over Stripe objects as plain dicts (what the record files hold); no Airflow, no SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Subscription statuses that no longer describe a live relationship with the customer.
ENDED_SUBSCRIPTION_STATUSES = frozenset({"canceled", "incomplete_expired"})


def normalize_email(value: object) -> str | None:
    """Return ``value`` trimmed and lower-cased, or ``None`` when there is no address."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email or None


_PLAUSIBLE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def is_plausible_email(email: str) -> bool:
    """
    Tell whether a normalised email could be valid at all: one ``@``, text either side, no spaces.

    Deliberately loose: destinations judge the rest (domains, syntax details) themselves. This only
    stops addresses every destination refuses from costing a request on every run.
    """
    return _PLAUSIBLE_EMAIL.fullmatch(email) is not None


def split_name(name: object) -> tuple[str | None, str | None]:
    """Split a full name into its first word and the rest; either may be ``None``."""
    if not isinstance(name, str):
        return None, None
    words = name.split()
    if not words:
        return None, None
    return words[0], (" ".join(words[1:]) or None)


def epoch_millis(seconds: object) -> str | None:
    """Return Stripe's epoch seconds as epoch milliseconds in text (HubSpot's datetime format)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    return str(seconds * 1000)


def list_data(value: object) -> list[Any]:
    """Return the items of a Stripe list object (``{"object": "list", "data": [...]}``) or a plain list."""
    if isinstance(value, Mapping):
        value = value.get("data")
    return list(value) if isinstance(value, list) else []


def _newest_first_key(subscription: Mapping[str, Any]) -> tuple[int, str]:
    created = subscription.get("created")
    return (created if isinstance(created, int) else 0, str(subscription.get("id") or ""))


def current_subscription(subscriptions: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """
    Return the subscription that describes the customer now.

    The rule: among subscriptions whose status is not ended (``canceled`` or ``incomplete_expired``),
    the newest one, that is the greatest ``created``, ties broken by the greater id. When every
    subscription has ended, the newest of all of them, so that a cancellation still shows (and
    overwrites an earlier "active"). ``None`` when there are no subscriptions.
    """
    candidates = [sub for sub in subscriptions if isinstance(sub, Mapping)]
    if not candidates:
        return None
    live = [sub for sub in candidates if sub.get("status") not in ENDED_SUBSCRIPTION_STATUSES]
    return max(live or candidates, key=_newest_first_key)


def product_name(
    subscription: Mapping[str, Any] | None, products: Mapping[str, Mapping[str, Any]] | None = None
) -> str | None:
    """
    Return the name of what a subscription sells, from its first item.

    The item's price gives the product, either expanded (a dict) or as an id looked up in
    ``products``. Without a product name, the price's nickname is used, then the product id.
    ``None`` when the price is only an id (nothing to name it by) or there is no item.
    """
    if not subscription:
        return None
    items = list_data(subscription.get("items"))
    if not items or not isinstance(items[0], Mapping):
        return None
    price = items[0].get("price") or items[0].get("plan")
    if not isinstance(price, Mapping):
        return None

    product = price.get("product")
    product_id: str | None = None
    if isinstance(product, Mapping):
        product_id = product.get("id")
    elif isinstance(product, str):
        product_id = product
        product = (products or {}).get(product)
    name = product.get("name") if isinstance(product, Mapping) and not product.get("deleted") else None
    return name or price.get("nickname") or product_id
