"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

_PACKAGE = "airflow_provider_stripe_sync"


def _connection_type(hook_path: str, conn_type: str, hook_name: str, form: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook-class-name": f"{_PACKAGE}.hooks.{hook_path}",
        "connection-type": conn_type,
        "hook-name": hook_name,
        "ui-field-behaviour": form["ui-field-behaviour"],
        "conn-fields": form["conn-fields"],
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata: its hooks, operators and connection types with their forms."""
    # Airflow calls this while loading its own configuration: import nothing that imports Airflow.
    from airflow_provider_stripe_sync import __version__
    from airflow_provider_stripe_sync.connection_forms import (
        HUBSPOT_CONNECTION_FORM,
        MAILCHIMP_CONNECTION_FORM,
        STRIPE_CONNECTION_FORM,
        STRIPE_OAUTH_CONNECTION_FORM,
        XERO_CONNECTION_FORM,
    )

    return {
        "package-name": "airflow-provider-stripe-sync",
        "name": "Stripe Sync",
        "description": "Keep Stripe in sync with HubSpot, Xero and Mailchimp from Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Stripe",
                "external-doc-url": "https://docs.stripe.com/api",
                "tags": ["service"],
            },
            {
                "integration-name": "HubSpot",
                "external-doc-url": "https://developers.hubspot.com/docs/api/crm/contacts",
                "tags": ["service"],
            },
            {
                "integration-name": "Xero",
                "external-doc-url": "https://developer.xero.com/documentation/api/accounting/overview",
                "tags": ["service"],
            },
            {
                "integration-name": "Mailchimp",
                "external-doc-url": "https://mailchimp.com/developer/marketing/api/list-members/",
                "tags": ["service"],
            },
        ],
        "operators": [
            {
                "integration-name": "Stripe",
                "python-modules": [
                    f"{_PACKAGE}.operators.stripe",
                    f"{_PACKAGE}.operators.stripe_method",
                    f"{_PACKAGE}.operators.stripe_methods",
                    f"{_PACKAGE}.operators.stripe_updated",
                    f"{_PACKAGE}.operators.cleanup",
                ],
            },
            {"integration-name": "HubSpot", "python-modules": [f"{_PACKAGE}.operators.hubspot"]},
            {"integration-name": "Xero", "python-modules": [f"{_PACKAGE}.operators.xero"]},
            {"integration-name": "Mailchimp", "python-modules": [f"{_PACKAGE}.operators.mailchimp"]},
        ],
        "sensors": [{"integration-name": "Stripe", "python-modules": [f"{_PACKAGE}.sensors.stripe"]}],
        "triggers": [{"integration-name": "Stripe", "python-modules": [f"{_PACKAGE}.triggers.stripe"]}],
        "hooks": [
            {"integration-name": "Stripe", "python-modules": [f"{_PACKAGE}.hooks.stripe"]},
            {"integration-name": "HubSpot", "python-modules": [f"{_PACKAGE}.hooks.hubspot"]},
            {"integration-name": "Xero", "python-modules": [f"{_PACKAGE}.hooks.xero"]},
            {"integration-name": "Mailchimp", "python-modules": [f"{_PACKAGE}.hooks.mailchimp"]},
        ],
        "extra-links": [f"{_PACKAGE}.links.StripeDashboardLink"],
        "connection-types": [
            _connection_type("stripe.StripeHook", "stripe", "Stripe", STRIPE_CONNECTION_FORM),
            _connection_type(
                "stripe.StripeOAuthHook",
                "stripe_oauth",
                "Stripe Connect (OAuth)",
                STRIPE_OAUTH_CONNECTION_FORM,
            ),
            _connection_type("hubspot.HubSpotHook", "hubspot", "HubSpot", HUBSPOT_CONNECTION_FORM),
            _connection_type("xero.XeroHook", "xero", "Xero", XERO_CONNECTION_FORM),
            _connection_type("mailchimp.MailchimpHook", "mailchimp", "Mailchimp", MAILCHIMP_CONNECTION_FORM),
        ],
    }
