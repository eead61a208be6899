"""Operators that list the Stripe objects changed in a window, from Stripe's events."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_stripe_sync.context import (
    default_output_uri,
    safe_part,
    task_file_path,
    window_from_context,
)
from airflow_provider_stripe_sync.operators.stripe import _StripeOperator, skip_unavailable_account
from airflow_provider_stripe_sync.records import RecordWriter
from airflow_provider_stripe_sync.stripe.events import ChangedObjects, object_expand, tombstone, updatable
from airflow_provider_stripe_sync.stripe.listing import validate_page_size

if TYPE_CHECKING:
    from airflow.sdk import Context

#: A progress line is logged after this many objects fetched again.
OBJECTS_PER_LOG_LINE = 500


class StripeListUpdatedObjectsOperator(_StripeOperator):
    """
    Write every object of a Stripe resource created, changed or deleted in the run's window.

    Reads ``/v1/events`` of the resource's event types created in the window (half-open,
    ``[start, end)``, sent as ``created[gte]``/``created[lt]``; from ``window_start``/``window_end``,
    else the run's data interval, else the last full interval of the DAG's timetable), takes each
    object they name once, fetches it again at the pinned API version with ``expand``, and writes
    one record per object to a JSON Lines file, newest change first. An object changed three times
    in the window is one record holding its state now.

    An object that no longer exists (Stripe answers 404, or the window holds its deletion event:
    ``customer.deleted``, ``invoice.deleted``) is written as a tombstone,
    ``{"id": "cus_123", "object": "customer", "deleted": true}``. A canceled subscription still exists:
    it is written with ``status: "canceled"``.

    Stripe keeps events for 30 days: a window starting earlier fails with a message saying so
    (against Stripe's clock, from the first events page), never an empty file.

    XCom gets a summary: ``{"uri", "count", "deleted", "events", "window", "resource"}``, where
    ``count`` is the records written, tombstones included, ``deleted`` the tombstones and ``events``
    the events read.

    :param resource: ``customers``, ``subscriptions``, ``charges``, ``invoices`` or ``payment_intents``.
    :param stripe_conn_id: the ``stripe`` connection.
    :param stripe_account: read this connected account's objects.
    :param window_start: start of the window (aware datetime, ISO-8601 text or epoch seconds).
    :param window_end: end of the window, exclusive.
    :param lookback: seconds to widen the start by; default 0.
    :param expand: expansions written as for one object, e.g. ``["customer"]``; at most four levels.
    :param output_uri: folder for record files, local or any fsspec URI; default under AIRFLOW_HOME.
    :param limit: events page size, 1 to 100.
    """

    template_fields: Sequence[str] = (
        "stripe_conn_id",
        "stripe_account",
        "window_start",
        "window_end",
        "lookback",
        "expand",
        "output_uri",
    )
    ui_color = "#dcd6fb"

    def __init__(
        self,
        *,
        resource: str,
        window_start: Any = None,
        window_end: Any = None,
        lookback: int | None = None,
        expand: list[str] | None = None,
        output_uri: str | None = None,
        limit: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.window_start = window_start
        self.window_end = window_end
        self.lookback = lookback
        self.expand = expand
        self.output_uri = output_uri
        self.limit = validate_page_size(limit)

    def _rendered_arguments(self) -> tuple[list[str], int]:
        """Check what templates rendered to; a string where a list belongs names the field."""
        expand, lookback = self.expand, self.lookback
        if isinstance(expand, str) or (expand is not None and not isinstance(expand, (list, tuple))):
            raise TypeError(
                "expand must be a list of paths such as ['customer'], "
                f"got {type(expand).__name__} {expand!r}. "
                "A Jinja template renders to text unless the DAG sets render_template_as_native_obj=True."
            )
        if lookback in (None, ""):
            return object_expand(expand), 0
        try:
            lookback = int(lookback)
        except (TypeError, ValueError):
            raise TypeError(f"lookback must be whole seconds, got {lookback!r}.") from None
        return object_expand(expand), lookback

    def execute(self, context: Context) -> dict[str, Any]:
        spec = updatable(self.resource)
        expand, lookback = self._rendered_arguments()
        window = window_from_context(context, window_start=self.window_start, window_end=self.window_end)
        read_window = window.widened(lookback)
        hook = self.hook
        account = hook.stripe_account
        uri = task_file_path(
            context,
            self.output_uri or default_output_uri(),
            "records",
            f"{safe_part(account or 'platform')}__{self.resource}_updated__"
            f"{read_window.start}_{read_window.end}.jsonl",
        )
        header = {
            "resource": self.resource,
            "mode": "updated",
            "window": read_window.as_list(),
            "account": account,
            "api_version": hook.api_version,
            "livemode": hook.livemode,
            "expand": expand,
        }
        self.log.info(
            "Reading %s events of %s for %s.",
            self.resource,
            read_window.describe(),
            account or "the platform account",
        )
        started = time.monotonic()
        changed = ChangedObjects(spec)
        deleted = 0
        with skip_unavailable_account(account):
            for page in hook.iter_events(read_window, types=spec.event_types, limit=self.limit):
                changed.add(page)
            self.log.info(
                "%d events name %d %s; fetching each again.", changed.events, len(changed), self.resource
            )
            with RecordWriter(uri, header=header) as writer:
                for number, (object_id, was_deleted) in enumerate(changed.items(), start=1):
                    record = None if was_deleted else hook.retrieve(self.resource, object_id, expand=expand)
                    if record is None or record.get("deleted"):
                        record = tombstone(spec, object_id)
                        deleted += 1
                    writer.write(record)
                    if number % OBJECTS_PER_LOG_LINE == 0:
                        self.log.info("Fetched %d of %d %s.", number, len(changed), self.resource)
        elapsed = time.monotonic() - started
        self.log.info(
            "Wrote %d %s (%d deleted) from %d events in %.2f s to %s.",
            writer.count,
            self.resource,
            deleted,
            changed.events,
            elapsed,
            writer.uri,
        )
        self.push_link(context, spec.object)
        return {
            "uri": writer.uri,
            "count": writer.count,
            "deleted": deleted,
            "events": changed.events,
            "window": read_window.as_list(),
            "resource": self.resource,
        }


class _StripeListUpdatedOperator(StripeListUpdatedObjectsOperator):
    resource_name: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(resource=self.resource_name, **kwargs)


class StripeListUpdatedCustomersOperator(_StripeListUpdatedOperator):
    """
    List the customers created, updated or deleted in the window, each once, as they are now.

    Deleted customers are tombstones. See :class:`StripeListUpdatedObjectsOperator`.
    """

    resource_name = "customers"


class StripeListUpdatedSubscriptionsOperator(_StripeListUpdatedOperator):
    """
    List the subscriptions created or changed in the window (``customer.subscription.*``), each once.

    A cancellation (``customer.subscription.deleted``) gives the subscription with ``status:
    "canceled"``. See :class:`StripeListUpdatedObjectsOperator`.
    """

    resource_name = "subscriptions"


class StripeListUpdatedChargesOperator(_StripeListUpdatedOperator):
    """
    List the charges created or changed in the window (``charge.*``), each once, as they are now.

    A charge refunded in the window is listed with ``refunded``/``amount_refunded`` as they are now,
    whenever it was created. See :class:`StripeListUpdatedObjectsOperator`.
    """

    resource_name = "charges"


class StripeListUpdatedInvoicesOperator(_StripeListUpdatedOperator):
    """
    List the invoices created or changed in the window (``invoice.*``), each once, as they are now.

    Deleted draft invoices are tombstones. See :class:`StripeListUpdatedObjectsOperator`.
    """

    resource_name = "invoices"


class StripeListUpdatedPaymentIntentsOperator(_StripeListUpdatedOperator):
    """
    List the payment intents created or changed in the window (``payment_intent.*``), each once.

    See :class:`StripeListUpdatedObjectsOperator`.
    """

    resource_name = "payment_intents"
