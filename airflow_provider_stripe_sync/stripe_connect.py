"""
Connect a Stripe Standard account to your platform and store it as an Airflow connection.

Run ``stripe-sync-connect --conn-id stripe_shop`` (or
``python -m airflow_provider_stripe_sync.stripe_connect``) where Airflow's metadata database is
reachable, with the platform's ``stripe_oauth`` connection (``--platform-conn-id``, default
``stripe_oauth_default``: login = client id ``ca_…``, password = platform secret key) defined. It prints the authorize URL; the account owner opens it and approves; Stripe
redirects to the loopback redirect URI this command listens on; the command checks the ``state``,
exchanges the code for the connected account id and stores (or, with ``--print-only``, prints) the
account's connection: ``stripe_user_id`` and the platform connection's id, no secret (the hook reads
the platform's key from the platform connection). Airflow tasks cannot write connections, so this
runs outside them.

The redirect URI (default ``http://localhost:8766/stripe/callback``) must be listed under Dashboard →
Settings → Connect → Onboarding options → OAuth → Redirects.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

DEFAULT_REDIRECT_URI = "http://localhost:8766/stripe/callback"


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def connect_account(
    platform_conn_id: str,
    *,
    redirect_uri: str,
    scope: str,
    show: Callable[[str], None] = _say,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run the browser step and the code exchange; return ``{"stripe_user_id", "livemode", "scope"}``."""
    from airflow_provider_stripe_sync.hooks.stripe import StripeOAuthHook
    from airflow_provider_stripe_sync.oauth_redirect import wait_for_code

    platform = StripeOAuthHook(platform_conn_id)
    url, state = platform.authorize_url(redirect_uri=redirect_uri, scope=scope)
    show(f"Open this URL and approve the connection:\n{url}")
    code = wait_for_code(redirect_uri, state, service="Stripe", timeout=timeout)
    return platform.exchange_code(code)


def account_connection(platform_conn_id: str, account: dict[str, Any]) -> dict[str, Any]:
    """
    Return the fields of the connected account's ``stripe_oauth`` connection.

    It holds no secret: the platform's key and client id are read from ``platform_conn_id``.
    """
    extra = {
        "stripe_user_id": account["stripe_user_id"],
        "platform_conn_id": platform_conn_id,
        "scope": account.get("scope"),
        "livemode": bool(account.get("livemode")),
    }
    return {
        "conn_type": "stripe_oauth",
        "login": None,
        "password": None,
        "host": None,
        "port": None,
        "extra": json.dumps({k: v for k, v in extra.items() if v is not None}),
    }


def store_connection(conn_id: str, fields: dict[str, Any]) -> None:
    """Create or update connection ``conn_id`` in Airflow's metadata database."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        connection = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        if connection is None:
            connection = Connection(conn_id=conn_id)
            session.add(connection)
        connection.conn_type = fields["conn_type"]
        connection.login = fields["login"]
        connection.password = fields["password"]
        connection.host = fields["host"]
        connection.port = fields["port"]
        connection.set_extra(fields["extra"])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stripe-sync-connect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--conn-id", required=True, help="the connection to store the account as")
    parser.add_argument(
        "--platform-conn-id", default="stripe_oauth_default", help="the platform's connection"
    )
    parser.add_argument(
        "--redirect-uri", default=DEFAULT_REDIRECT_URI, help="a loopback URL Stripe redirects to"
    )
    parser.add_argument("--scope", default="read_write", choices=["read_write", "read_only"])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the approval")
    parser.add_argument(
        "--print-only",
        action="store_true",
        help="print the connection (without secrets) instead of storing it",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    account = connect_account(
        args.platform_conn_id, redirect_uri=args.redirect_uri, scope=args.scope, timeout=args.timeout
    )
    _say(
        f"Connected account {account['stripe_user_id']} "
        f"(livemode={account['livemode']}, scope={account['scope']})."
    )
    fields = account_connection(args.platform_conn_id, account)
    if args.print_only:
        _say(f"Connection {args.conn_id}:\n{json.dumps(fields, indent=2)}")
        return 0
    store_connection(args.conn_id, fields)
    _say(f"Stored connection {args.conn_id!r}; use stripe_conn_id={args.conn_id!r} in Stripe operators.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
