"""A local, stateful stand-in for the Stripe and HubSpot APIs.

One Starlette app (:func:`airflow_provider_stripe_sync.sandbox.app.create_app`) on one loopback port
serves Stripe under ``/v1``, HubSpot under ``/crm/v3`` and admin routes under ``/_sandbox``. The real SDKs
talk to it over HTTP unchanged. It never imports Airflow.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):
    """Build the sandbox ASGI app (imported lazily so ``testing`` stays light)."""
    from airflow_provider_stripe_sync.sandbox.app import create_app as _create_app

    return _create_app(*args, **kwargs)
