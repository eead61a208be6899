"""The Stripe resources that can be read incrementally, with what each needs when listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ListableResource:
    """
    A Stripe resource with a list endpoint that filters on ``created``.

    :param name: the plural name, as in the URL and the ``StripeClient.v1`` service (``charges``).
    :param default_filters: filters sent unless the caller overrides them.
    :param default_lookback: seconds the window's start is widened by default, for objects that
        become visible after their ``created`` second was read.
    """

    name: str
    default_filters: dict[str, Any] = field(default_factory=dict)
    default_lookback: int = 0


#: Subscriptions are listed with ``status=all``: Stripe's default hides canceled ones.
#: Charges and balance transactions look back ten minutes: a balance transaction can appear
#: after its ``created`` second has been read.
LISTABLE_RESOURCES: dict[str, ListableResource] = {
    resource.name: resource
    for resource in (
        ListableResource("customers"),
        ListableResource("subscriptions", default_filters={"status": "all"}),
        ListableResource("charges", default_lookback=600),
        ListableResource("balance_transactions", default_lookback=600),
        ListableResource("payment_intents"),
        ListableResource("refunds"),
        ListableResource("invoices"),
        ListableResource("products"),
        ListableResource("prices"),
        ListableResource("events"),
    )
}


def listable(name: str) -> ListableResource:
    """Return the resource called ``name``, or raise naming the ones that exist."""
    if name in LISTABLE_RESOURCES:
        return LISTABLE_RESOURCES[name]
    # Every catalog resource whose list filters on ``created`` reads windows the same way.
    from airflow_provider_stripe_sync.stripe.catalog import catalog

    known = {method.removesuffix(".list_new") for method in catalog() if method.endswith(".list_new")}
    if name in known:
        return ListableResource(name)
    names = ", ".join(sorted(known | set(LISTABLE_RESOURCES)))
    raise ValueError(f"{name!r} is not a listable Stripe resource here; known: {names}.")
