"""
Authorise a Xero app once and print what the ``xero`` Airflow connection needs.

Run ``python -m airflow_provider_stripe_sync.xero_authorize --client-id ID`` (the client secret comes
from ``$XERO_CLIENT_SECRET`` or a prompt). It prints Xero's consent URL, waits for the browser to come
back to the redirect URI (a loopback address registered with the app), exchanges the code for tokens,
lists the organisations the app may use and prints the ``airflow connections add`` command that
stores the first refresh token. Airflow tasks cannot write connections, so this runs outside them;
after this, ``XeroHook`` rotates the token in an Airflow Variable by itself. To re-authorise, run it
again and update the connection: the hook notices the new token.

``--code`` skips the browser (a code obtained elsewhere, or from the local sandbox's
``POST /_sandbox/xero/codes``); ``--identity-url`` and ``--api-url`` point at the sandbox.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from airflow_provider_stripe_sync.oauth_redirect import wait_for_code

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
IDENTITY_URL = "https://identity.xero.com"
API_URL = "https://api.xero.com"
DEFAULT_SCOPE = "openid offline_access accounting.transactions accounting.settings accounting.contacts"
DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"


def authorize_url(
    client_id: str, redirect_uri: str, scope: str, state: str, base: str = AUTHORIZE_URL
) -> str:
    """Xero's consent page for this app, carrying ``state`` to check on the way back."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    return f"{base}?{urlencode(query)}"


def exchange_code(
    code: str, *, client_id: str, client_secret: str, redirect_uri: str, identity_url: str = IDENTITY_URL
) -> dict[str, Any]:
    """Exchange an authorisation code for the first access and refresh tokens."""
    import requests

    response = requests.post(
        identity_url.rstrip("/") + "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        auth=(client_id, client_secret),
        headers={"Accept": "application/json"},
        timeout=30,
    )
    if response.status_code != 200:
        raise SystemExit(f"Xero refused the code: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def list_tenants(access_token: str, api_url: str = API_URL) -> list[dict[str, Any]]:
    """The organisations the new token may use."""
    import requests

    response = requests.get(
        api_url.rstrip("/") + "/connections",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=30,
    )
    response.raise_for_status()
    return list(response.json())


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_stripe_sync.xero_authorize", description=__doc__
    )
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--conn-id", default="xero_default", help="the Airflow connection to print")
    parser.add_argument("--redirect-uri", default=DEFAULT_REDIRECT_URI)
    parser.add_argument("--scope", default=DEFAULT_SCOPE)
    parser.add_argument("--code", help="an authorisation code obtained already (skips the browser)")
    parser.add_argument("--authorize-url", default=AUTHORIZE_URL)
    parser.add_argument("--identity-url", default=IDENTITY_URL)
    parser.add_argument("--api-url", default=API_URL)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    client_secret = os.environ.get("XERO_CLIENT_SECRET") or getpass.getpass("Xero client secret: ")
    code = args.code
    if not code:
        state = secrets.token_urlsafe(24)
        _say(
            "Open this URL, sign in to Xero and allow access:\n\n  "
            + authorize_url(args.client_id, args.redirect_uri, args.scope, state, args.authorize_url)
            + "\n"
        )
        code = wait_for_code(args.redirect_uri, state, service="Xero")
    tokens = exchange_code(
        code,
        client_id=args.client_id,
        client_secret=client_secret,
        redirect_uri=args.redirect_uri,
        identity_url=args.identity_url,
    )
    tenants = list_tenants(tokens["access_token"], args.api_url)
    for tenant in tenants:
        _say(f"Organisation: {tenant.get('tenantName')} (tenant id {tenant.get('tenantId')})")
    extra: dict[str, Any] = {"refresh_token": tokens["refresh_token"]}
    if len(tenants) == 1:
        extra["tenant_id"] = tenants[0]["tenantId"]
    host = [] if args.api_url == API_URL else ["--conn-host", args.api_url]
    command = [
        "airflow connections add",
        args.conn_id,
        "--conn-type xero",
        f"--conn-login {args.client_id}",
        '--conn-password "$XERO_CLIENT_SECRET"',
        *host,
        f"--conn-extra '{json.dumps(extra)}'",
    ]
    _say("\nStore it (the refresh token is valid for 60 days until first used):\n\n  " + " ".join(command))
    _say("\nWhen the connection exists already, delete it first or edit its refresh_token field.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
