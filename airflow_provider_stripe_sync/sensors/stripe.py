"""Sensors that wait for new Stripe charges, subscriptions or any listable object."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_stripe_sync.context import window_from_context
from airflow_provider_stripe_sync.hooks.stripe import StripeHook, stripe_hook
from airflow_provider_stripe_sync.links import StripeDashboardLink, dashboard_url, push_dashboard_url
from airflow_provider_stripe_sync.stripe.windows import to_epoch

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_stripe_sync.stripe.checks import NewObjectsCheck


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


class StripeNewObjectsSensor(BaseSensorOperator):
    """
    Wait until at least ``min_count`` objects of a Stripe resource were created in a window.

    Window semantics:

    - By default the window is the run's data interval. A scheduled run starts after its interval
      closed, so one check decides: objects exist, and the sensor succeeds; none, and the task is
      skipped at once (never a wait until the timeout).
    - With ``window_start`` set and ``window_end`` left open (``None``), the sensor waits for objects
      created from ``window_start`` up to the moment of each check (for continuous or manually
      triggered DAGs).

    When done it returns (to XCom) the exact window it saw, ``{"window": [start, seen_until],
    "count": n, "newest_id": ..., "has_more": bool}``, so downstream operators can read exactly that
    window. Each check is one list request with ``limit=min_count``. With ``deferrable=True`` (default
    from ``[operators] default_deferrable``) the sensor checks once, then waits in the triggerer
    without holding a worker slot.

    :param resource: the Stripe resource (``charges``, ``subscriptions``...).
    :param stripe_conn_id: the ``stripe`` connection.
    :param stripe_account: the connected account to watch.
    :param window_start: start of the window; with ``window_end`` unset, an open window.
    :param window_end: end of the window, exclusive.
    :param min_count: how many objects end the wait, 1 to 100.
    :param filters: extra list filters.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = (
        "stripe_conn_id",
        "stripe_account",
        "window_start",
        "window_end",
        "min_count",
        "filters",
    )
    ui_color = "#e8e4fd"
    succeeded_only: bool = False
    operator_extra_links = (StripeDashboardLink(),)

    def __init__(
        self,
        *,
        resource: str,
        stripe_conn_id: str = StripeHook.default_conn_name,
        stripe_account: str | None = None,
        window_start: Any = None,
        window_end: Any = None,
        min_count: int = 1,
        filters: dict[str, Any] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.stripe_conn_id = stripe_conn_id
        self.stripe_account = stripe_account
        self.window_start = window_start
        self.window_end = window_end
        self.min_count = min_count
        self.filters = filters
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> StripeHook:
        return stripe_hook(self.stripe_conn_id, stripe_account=self.stripe_account or None)

    def _check(self, context: Context) -> NewObjectsCheck:
        from airflow_provider_stripe_sync.stripe.checks import NewObjectsCheck

        if not _unset(self.window_start) and _unset(self.window_end):
            start, end = to_epoch(self.window_start, field="window_start"), None
        else:
            window = window_from_context(context, window_start=self.window_start, window_end=self.window_end)
            start, end = window.start, window.end
        return NewObjectsCheck(
            resource=self.resource,
            window_start=start,
            window_end=end,
            min_count=int(self.min_count),
            filters=dict(self.filters or {}),
            succeeded_only=self.succeeded_only,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow.sdk.exceptions import AirflowSkipException

        check = self._check(context)
        now = int(time.time())
        resource, params = check.request(now)
        service = self.hook.service(resource)
        page = self.hook.call(
            lambda options: service.list(params=params, options=options), description=f"list {resource}"
        )
        result = check.evaluate(page, now)
        self.log.info("Stripe %s: %s.", self.resource, result.reason)
        if result.skip:
            raise AirflowSkipException(f"Nothing to wait for: {result.reason}.")
        if result.done:
            self._push_link(context, result.summary)
        return PokeReturnValue(is_done=result.done, xcom_value=result.summary)

    def _push_link(self, context: Context, summary: dict[str, Any] | None) -> None:
        """Push the Dashboard list page of the window the sensor saw."""
        from airflow_provider_stripe_sync.stripe.catalog import resource_object_type

        start, end = (summary or {}).get("window") or (None, None)
        query = {"created[gte]": start, "created[lt]": end} if start is not None and end is not None else None
        url = dashboard_url(
            resource_object_type(self.resource) or self.resource.rstrip("s"),
            livemode=self.hook.livemode,
            account=self.hook.stripe_account,
            query=query,
        )
        push_dashboard_url(self, context, url)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        # One check first: a closed window is decided without deferring at all.
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        from airflow_provider_stripe_sync.triggers.stripe import StripeNewObjectsTrigger

        check = self._check(context)
        self.defer(
            trigger=StripeNewObjectsTrigger(
                stripe_conn_id=self.stripe_conn_id,
                stripe_account=self.stripe_account or None,
                resource=self.resource,
                window_start=check.window_start,
                window_end=check.window_end,
                min_count=check.min_count,
                filters=dict(check.filters),
                succeeded_only=check.succeeded_only,
                poke_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Finish after the trigger fired: return the window seen, skip, or fail with Stripe's message."""
        from airflow.sdk.exceptions import AirflowSkipException

        from airflow_provider_stripe_sync.exceptions import StripeRequestError

        status = event.get("status")
        if status == "success":
            summary = {key: value for key, value in event.items() if key != "status"}
            self.log.info(
                "Stripe %s: found %s, newest %s.", self.resource, summary["count"], summary["newest_id"]
            )
            self._push_link(context, summary)
            return summary
        if status == "skipped":
            raise AirflowSkipException(f"Nothing to wait for: {event.get('message')}.")
        raise StripeRequestError(str(event.get("message") or event))


class _NamedSensor(StripeNewObjectsSensor):
    resource_name: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(resource=self.resource_name, **kwargs)


class StripeNewChargesSensor(_NamedSensor):
    """
    Wait for new charges in a window; see :class:`StripeNewObjectsSensor` for the window semantics.

    :param succeeded_only: count ``charge.succeeded`` events created in the window instead of charges:
        the charge list has no status filter, and some payment methods succeed days after the charge
        is created.
    """

    resource_name = "charges"

    def __init__(self, *, succeeded_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.succeeded_only = succeeded_only


class StripeNewSubscriptionsSensor(_NamedSensor):
    """
    Wait for new subscriptions (any status) in a window; see :class:`StripeNewObjectsSensor`.
    """

    resource_name = "subscriptions"
