"""
Finding the objects that changed in a window, from Stripe's events.

A ``created`` window only sees new objects; a charge refunded weeks later or a subscription canceled
today are found through ``/v1/events``. Each resource names the event types that mean one of its
objects changed; the events of a window are read, their objects de-duplicated by id, and each
object is then fetched again at the pinned API version (event payloads are rendered at the
account's version and carry no expansions).

Stripe keeps events for 30 days, so a window starting earlier than that cannot be read: it is an
error, never an empty result.

An object that no longer exists becomes a tombstone, ``{"id": ..., "object": ..., "deleted": true}``,
the shape Stripe itself answers for a deleted customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_stripe_sync.stripe.windows import Window

#: How long Stripe keeps events: 30 days.
EVENT_RETENTION_SECONDS = 30 * 24 * 3600

#: Stripe's ``types`` filter takes at most this many event types.
MAX_EVENT_TYPES = 20

#: Stripe refuses expansions deeper than this many levels.
MAX_EXPAND_DEPTH = 4


@dataclass(frozen=True)
class UpdatableResource:
    """
    A resource whose changes are read from events.

    :param name: the plural name, as in the URL and the ``StripeClient.v1`` service (``charges``).
    :param object: the ``object`` field of its objects (``charge``).
    :param event_types: the event types whose ``data.object`` is one of its objects.
    :param deletion_types: the event types after which the object no longer exists. A canceled
        subscription (``customer.subscription.deleted``) still exists, so it is fetched again.
    """

    name: str
    object: str
    event_types: tuple[str, ...]
    deletion_types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 0 < len(self.event_types) <= MAX_EVENT_TYPES:
            raise ValueError(f"{self.name}: Stripe filters on 1 to {MAX_EVENT_TYPES} event types at a time.")


#: The event types are Stripe's, as listed in its OpenAPI description (``enabled_events``).
#: ``invoice.upcoming`` is left out: its invoice has no id and is not stored.
UPDATABLE_RESOURCES: dict[str, UpdatableResource] = {
    resource.name: resource
    for resource in (
        UpdatableResource(
            "customers",
            "customer",
            ("customer.created", "customer.updated", "customer.deleted"),
            deletion_types=frozenset({"customer.deleted"}),
        ),
        UpdatableResource(
            "subscriptions",
            "subscription",
            (
                "customer.subscription.created",
                "customer.subscription.updated",
                "customer.subscription.deleted",
                "customer.subscription.paused",
                "customer.subscription.resumed",
                "customer.subscription.pending_update_applied",
                "customer.subscription.pending_update_expired",
                "customer.subscription.trial_will_end",
            ),
        ),
        UpdatableResource(
            "charges",
            "charge",
            (
                "charge.captured",
                "charge.expired",
                "charge.failed",
                "charge.pending",
                "charge.refunded",
                "charge.succeeded",
                "charge.updated",
            ),
        ),
        UpdatableResource(
            "invoices",
            "invoice",
            (
                "invoice.created",
                "invoice.updated",
                "invoice.deleted",
                "invoice.finalized",
                "invoice.finalization_failed",
                "invoice.marked_uncollectible",
                "invoice.paid",
                "invoice.payment_action_required",
                "invoice.payment_failed",
                "invoice.payment_succeeded",
                "invoice.sent",
                "invoice.voided",
            ),
            deletion_types=frozenset({"invoice.deleted"}),
        ),
        UpdatableResource(
            "payment_intents",
            "payment_intent",
            (
                "payment_intent.created",
                "payment_intent.amount_capturable_updated",
                "payment_intent.canceled",
                "payment_intent.partially_funded",
                "payment_intent.payment_failed",
                "payment_intent.processing",
                "payment_intent.requires_action",
                "payment_intent.succeeded",
            ),
        ),
    )
}


def updatable(name: str) -> UpdatableResource:
    """Return the resource called ``name``, or raise naming the ones that exist."""
    try:
        return UPDATABLE_RESOURCES[name]
    except KeyError:
        raise ValueError(
            f"{name!r} has no List Updated support; known: {', '.join(sorted(UPDATABLE_RESOURCES))}."
        ) from None


def tombstone(resource: UpdatableResource, object_id: str) -> dict[str, Any]:
    """Return the record written for an object that no longer exists."""
    return {"id": object_id, "object": resource.object, "deleted": True}


def check_retention(window: Window, now: float) -> None:
    """
    Refuse a window whose start is older than Stripe keeps events.

    :param window: the window to read.
    :param now: Stripe's current time, epoch seconds.
    :raises ValueError: naming the window, the oldest readable second and what to do instead.
    """
    oldest = int(now) - EVENT_RETENTION_SECONDS
    if window.start < oldest:
        raise ValueError(
            f"The window {window.describe()} starts before {_iso(oldest)}: Stripe keeps events for 30 days "
            "only, so the changes made then can no longer be read. Read such a window with the List New "
            "operators (objects as they are now), or sync it within 30 days."
        )


def object_expand(expand: Iterable[str] | None) -> list[str]:
    """
    Return expansions for a retrieve request, as written for one object (``customer``).

    :raises ValueError: for a path deeper than Stripe's four levels, or one written for a list.
    """
    paths = []
    for path in expand or ():
        path = str(path).strip()
        if not path:
            continue
        if path.startswith("data."):
            raise ValueError(
                f"expand path {path!r} is written for a list; objects are fetched one by one here, "
                f"so write it as for one object ({path[len('data.') :]!r})."
            )
        depth = path.count(".") + 1
        if depth > MAX_EXPAND_DEPTH:
            raise ValueError(
                f"expand path {path!r} is {depth} levels deep; Stripe allows {MAX_EXPAND_DEPTH}. "
                "Fetch the deeper objects separately."
            )
        paths.append(path)
    return paths


class ChangedObjects:
    """
    The objects named by a window's events, each once, in the order of their newest change.

    Events come newest first; an object changed three times is one entry. An object with a deletion
    event in the window is marked deleted, whatever came after it.
    """

    def __init__(self, resource: UpdatableResource) -> None:
        self.resource = resource
        self._deleted: dict[str, bool] = {}
        self.events = 0

    def add(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Take one page of events."""
        for event in events:
            obj = (event.get("data") or {}).get("object") or {}
            # ``types`` already selects these; the check keeps a nested object (a refund in
            # ``charge.refund.updated``, say) from passing for the resource's own.
            if obj.get("object") != self.resource.object or not obj.get("id"):
                continue
            self.events += 1
            deleted = event.get("type") in self.resource.deletion_types
            self._deleted[obj["id"]] = self._deleted.get(obj["id"], False) or deleted

    def __len__(self) -> int:
        return len(self._deleted)

    def items(self) -> list[tuple[str, bool]]:
        """Return ``(id, deleted)`` pairs, newest change first."""
        return list(self._deleted.items())


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()
