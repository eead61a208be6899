"""
The connection forms Airflow's UI shows for this provider's connection types.

Pure data with no imports from Airflow: ``get_provider_info()`` returns it while Airflow is still
loading its configuration, when importing a hook would be circular.
"""

from __future__ import annotations

from typing import Any

#: The field every connection type has: a plain-http host off loopback needs this opt-in.
ALLOW_INSECURE_HOST_FIELD: dict[str, Any] = {
    "label": "Allow plain-http host",
    "description": ("Allow an http:// API base URL that is not on loopback (a sandbox in docker compose)."),
    "schema": {"type": ["boolean", "null"]},
}

#: The field every destination type has: whether the account is a test or a live one.
ENVIRONMENT_FIELD: dict[str, Any] = {
    "label": "Environment",
    "description": (
        "test (an account used for testing, the sandbox) or live (the real account). Records read with "
        "a Stripe test key are only written to test, live ones only to live. Empty: test on a loopback "
        "host, live anywhere else."
    ),
    "schema": {"type": ["string", "null"], "enum": ["test", "live", None]},
}

STRIPE_CONNECTION_FORM: dict[str, Any] = {
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "login", "port", "extra"],
        "relabeling": {"password": "Secret or restricted key", "host": "API base URL (optional)"},
        "placeholders": {
            "password": "sk_live_… or rk_live_… (never a publishable pk_ key)",
            "host": "leave empty for https://api.stripe.com",
        },
    },
    "conn-fields": {
        "stripe_account": {
            "label": "Connected account",
            "description": "Act for this connected account (Stripe-Account header), e.g. acct_1A2b3C.",
            "schema": {"type": ["string", "null"]},
        },
        "stripe_version": {
            "label": "Pinned API version",
            "description": "Stripe API version every request uses; empty means the SDK's pinned version.",
            "schema": {"type": ["string", "null"]},
        },
        "max_network_retries": {
            "label": "Retries per request",
            "description": "Retries of a request that hit a rate limit, a conflict or a server error.",
            "schema": {"type": ["integer", "null"], "default": 5},
        },
        "requests_per_second": {
            "label": "Requests per second",
            "description": "Client-side ceiling per account (default 20/s test mode, 90/s live; "
            "Stripe allows 25 and 100); at most 23/s on one endpoint.",
            "schema": {"type": ["number", "null"]},
        },
        "max_concurrency": {
            "label": "Concurrent requests",
            "description": "Parallel requests when a large window is split into sub-windows "
            "(1 to 32; default 6 test mode, 12 live; 1 for a plain page loop).",
            "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 32},
        },
        "allow_insecure_host": ALLOW_INSECURE_HOST_FIELD,
    },
}


def _text(label: str, description: str, *, secret: bool = False, kind: str = "string") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": [kind, "null"]}
    if secret:
        schema["format"] = "password"
    return {"label": label, "description": description, "schema": schema}


STRIPE_OAUTH_CONNECTION_FORM: dict[str, Any] = {
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "extra"],
        "relabeling": {
            "login": "Connect client id",
            "password": "Platform secret key",
            "host": "API base URL (optional)",
        },
        "placeholders": {
            "login": "ca_… (Dashboard → Settings → Connect → Onboarding options → OAuth)",
            "password": "sk_live_… or rk_live_… of the platform",
            "host": "leave empty for https://api.stripe.com and https://connect.stripe.com",
        },
    },
    "conn-fields": {
        "stripe_user_id": _text(
            "Connected account",
            "The connected account this connection acts for (acct_…); empty: the platform.",
        ),
        "platform_conn_id": _text(
            "Platform connection",
            "When Password is empty: the stripe_oauth connection holding the platform's client id and key.",
        ),
        "refresh_token": _text(
            "Refresh token", "For Stripe Apps installs: the current refresh token.", secret=True
        ),
        "scope": _text("Scope", "read_write or read_only, asked for in the authorize URL."),
        "livemode": _text("Live mode", "Whether the account was connected in live mode.", kind="boolean"),
        "redirect_uri": _text(
            "Redirect URI", "Where Stripe sends the account owner back, as set in Connect settings."
        ),
        "stripe_version": _text("Pinned API version", "Stripe API version every request uses."),
        "max_network_retries": _text(
            "Retries per request", "Retries of a rate-limited, conflicting or failed request.", kind="integer"
        ),
        "requests_per_second": _text(
            "Requests per second", "Client-side ceiling per account.", kind="number"
        ),
        "max_concurrency": _text(
            "Concurrent requests", "Parallel requests when a large window is split.", kind="integer"
        ),
        "allow_insecure_host": _text(
            "Allow plain-http host",
            "Allow an http:// base URL off loopback (a sandbox in docker compose).",
            kind="boolean",
        ),
    },
}


HUBSPOT_CONNECTION_FORM: dict[str, Any] = {
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "login", "port", "extra"],
        "relabeling": {"password": "Private app access token", "host": "API base URL (optional)"},
        "placeholders": {
            "password": "pat-na1-…",
            "host": "leave empty for https://api.hubapi.com",
        },
    },
    "conn-fields": {
        "client_id": {
            "label": "OAuth client id",
            "description": "For a public OAuth app instead of a private app token.",
            "schema": {"type": ["string", "null"]},
        },
        "client_secret": {
            "label": "OAuth client secret",
            "description": "For a public OAuth app instead of a private app token.",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "refresh_token": {
            "label": "OAuth refresh token",
            "description": "For a public OAuth app instead of a private app token.",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "environment": ENVIRONMENT_FIELD,
        "allow_insecure_host": ALLOW_INSECURE_HOST_FIELD,
    },
}

MAILCHIMP_CONNECTION_FORM: dict[str, Any] = {
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "login", "port", "extra"],
        "relabeling": {"password": "API key or OAuth access token", "host": "API base URL (optional)"},
        "placeholders": {
            "password": "0123456789abcdef…-us21",
            "host": "leave empty for https://<dc>.api.mailchimp.com",
        },
    },
    "conn-fields": {
        "server": {
            "label": "Data centre",
            "description": "The server prefix (us21...); taken from an API key's suffix when empty.",
            "schema": {"type": ["string", "null"]},
        },
        "list_id": {
            "label": "Default audience id",
            "description": "The audience (list) operators write to when they name none.",
            "schema": {"type": ["string", "null"]},
        },
        "auth": {
            "label": "Credential kind",
            "description": "api_key (default) or oauth (the password holds an OAuth access token).",
            "schema": {"type": ["string", "null"], "enum": ["api_key", "oauth", None]},
        },
        "environment": ENVIRONMENT_FIELD,
        "allow_insecure_host": ALLOW_INSECURE_HOST_FIELD,
    },
}

XERO_CONNECTION_FORM: dict[str, Any] = {
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "extra"],
        "relabeling": {
            "login": "Client id",
            "password": "Client secret",
            "host": "API base URL (optional)",
        },
        "placeholders": {
            "login": "the Xero app's client id",
            "host": "leave empty for https://api.xero.com and https://identity.xero.com",
        },
    },
    "conn-fields": {
        "tenant_id": {
            "label": "Tenant id",
            "description": "The organisation to write to; may be empty when the app has only one.",
            "schema": {"type": ["string", "null"]},
        },
        "refresh_token": {
            "label": "First refresh token",
            "description": (
                "From authorising the app once. Xero rotates it on every use: the current one is kept "
                "in the Variable xero_refresh_token__<conn id>; change this field to re-authorise."
            ),
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "grant_type": {
            "label": "Grant type",
            "description": (
                "authorization_code (an app a user authorised) or client_credentials (custom connection)."
            ),
            "schema": {
                "type": ["string", "null"],
                "enum": ["authorization_code", "client_credentials", None],
            },
        },
        "scope": {
            "label": "Scopes",
            "description": "Space-separated OAuth scopes; empty means the accounting scopes the hook needs.",
            "schema": {"type": ["string", "null"]},
        },
        "environment": ENVIRONMENT_FIELD,
        "allow_insecure_host": ALLOW_INSECURE_HOST_FIELD,
    },
}
