"""Trigger that waits, without holding a worker slot, for new Stripe objects in a window."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_stripe_sync.stripe.checks import NewObjectsCheck


class StripeNewObjectsTrigger(BaseTrigger):
    """
    Check Stripe every ``poke_interval`` seconds until enough objects were created in the window.

    Each check is one list request. The trigger yields one event: ``{"status": "success", **summary}``
    when enough objects exist, ``{"status": "skipped", "message": ...}`` when the window closed
    without them, ``{"status": "error", "message": ...}`` when Stripe refuses the request (a bad key, a
    missing permission, an unknown parameter). Rate limits and server errors are tried again at the
    next check. The connection is read with ``aget_connection``: the sync lookup can deadlock the
    triggerer.

    :param stripe_conn_id: the ``stripe`` connection.
    :param stripe_account: the connected account to read, or ``None``.
    :param resource: the listable resource (``charges``, ``subscriptions``...).
    :param window_start: first second of the window (epoch).
    :param window_end: end of the window (epoch, exclusive), or ``None`` for an open window.
    :param min_count: how many objects end the wait.
    :param filters: extra list filters.
    :param succeeded_only: count ``charge.succeeded`` events instead of charges.
    :param poke_interval: seconds between checks.
    """

    def __init__(
        self,
        *,
        stripe_conn_id: str,
        stripe_account: str | None,
        resource: str,
        window_start: int,
        window_end: int | None,
        min_count: int = 1,
        filters: dict[str, Any] | None = None,
        succeeded_only: bool = False,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.stripe_conn_id = stripe_conn_id
        self.stripe_account = stripe_account
        self.resource = resource
        self.window_start = window_start
        self.window_end = window_end
        self.min_count = min_count
        self.filters = filters or {}
        self.succeeded_only = succeeded_only
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_stripe_sync.triggers.stripe.StripeNewObjectsTrigger",
            {
                "stripe_conn_id": self.stripe_conn_id,
                "stripe_account": self.stripe_account,
                "resource": self.resource,
                "window_start": self.window_start,
                "window_end": self.window_end,
                "min_count": self.min_count,
                "filters": self.filters,
                "succeeded_only": self.succeeded_only,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Importing the SDK takes long enough to stall every trigger in the loop: do it off the loop.
        await asyncio.to_thread(importlib.import_module, "stripe")
        import stripe

        from airflow_provider_stripe_sync.hooks.stripe import astripe_hook
        from airflow_provider_stripe_sync.stripe.retry import describe_error, is_retryable

        try:
            check = NewObjectsCheck(
                resource=self.resource,
                window_start=self.window_start,
                window_end=self.window_end,
                min_count=self.min_count,
                filters=self.filters,
                succeeded_only=self.succeeded_only,
            )
            hook = await astripe_hook(self.stripe_conn_id, stripe_account=self.stripe_account)
            client = hook.async_client
            options = hook.request_options()
        except Exception as err:
            yield TriggerEvent({"status": "error", "message": f"{type(err).__name__}: {err}"})
            return

        while True:
            now = int(time.time())
            resource, params = check.request(now)
            try:
                page = await getattr(client.v1, resource).list_async(params=params, options=options)
            except stripe.StripeError as err:
                if not is_retryable(err):
                    yield TriggerEvent(
                        {
                            "status": "error",
                            "message": f"Stripe list {resource} failed ({describe_error(err)})",
                        }
                    )
                    return
                self.log.warning(
                    "Stripe list %s failed (%s); checking again later.", resource, describe_error(err)
                )
            else:
                result = check.evaluate(page.to_dict(for_json=True), now)
                if result.done:
                    yield TriggerEvent({"status": "success", **result.summary})
                    return
                if result.skip:
                    yield TriggerEvent({"status": "skipped", "message": result.reason})
                    return
                self.log.info("Waiting for new Stripe %s: %s.", self.resource, result.reason)
            await asyncio.sleep(self.poke_interval)
