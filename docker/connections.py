"""
The Airflow connections of a docker compose deployment, built from the environment (docker/.env).

``python connections.py`` prints them as JSON for ``airflow connections import``; only connections
whose secrets are set are printed. With ``STRIPE_SYNC_SANDBOX_URL`` set (a local trial), every API
connection points at the sandbox service instead, with the plain-http opt-in ``allow_insecure_host``
that a host other than loopback needs. ``--create-bucket`` creates the record files' bucket in the
object store named by ``S3_ENDPOINT_URL`` when it does not exist yet.

Standalone on purpose (no import from the repository's scripts): the image holds only the package.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: The sandbox's credentials: any well-formed key works there.
SANDBOX_SECRETS = {
    "stripe_key": "sk_test_sandbox_demo",
    "connect_client_id": "ca_sandbox_demo_platform",
    "platform_key": "sk_test_sandbox_platform",
    "hubspot_token": "pat-sandbox-demo",
    "mailchimp_key": "0123456789abcdef0123456789abcdef-us21",
    "mailchimp_list_id": "aud_sandbox",
    "xero_client_id": "sandbox-client-id",
    "xero_client_secret": "sandbox-client-secret",
    "xero_refresh_token": "xero-sandbox-seed-refresh-token",
}


def _sandbox_connections(url: str) -> dict[str, dict[str, Any]]:
    s = SANDBOX_SECRETS
    insecure = {"allow_insecure_host": True}
    # The sandbox takes test keys only: its destinations are test environments.
    test_destination = {**insecure, "environment": "test"}
    return {
        "stripe_default": {
            "conn_type": "stripe",
            "password": s["stripe_key"],
            "host": url,
            "extra": insecure,
        },
        "stripe_oauth_default": {
            "conn_type": "stripe_oauth",
            "login": s["connect_client_id"],
            "password": s["platform_key"],
            "host": url,
            "extra": insecure,
        },
        "hubspot_default": {
            "conn_type": "hubspot",
            "password": s["hubspot_token"],
            "host": url,
            "extra": test_destination,
        },
        "mailchimp_default": {
            "conn_type": "mailchimp",
            "password": s["mailchimp_key"],
            "host": url,
            "extra": {"list_id": s["mailchimp_list_id"], **test_destination},
        },
        "xero_default": {
            "conn_type": "xero",
            "login": s["xero_client_id"],
            "password": s["xero_client_secret"],
            "host": url,
            "extra": {"refresh_token": s["xero_refresh_token"], **test_destination},
        },
    }


def _extras(env: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    return {extra: env[var] for var, extra in names.items() if env.get(var)}


def _live_connections(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    conns: dict[str, dict[str, Any]] = {}
    # test for HubSpot, Mailchimp and Xero accounts used for testing; empty means live.
    environment = _extras(env, {"STRIPE_SYNC_DESTINATION_ENVIRONMENT": "environment"})
    if env.get("STRIPE_API_KEY"):
        conns["stripe_default"] = {"conn_type": "stripe", "password": env["STRIPE_API_KEY"]}
    if env.get("STRIPE_CONNECT_CLIENT_ID") and env.get("STRIPE_PLATFORM_KEY"):
        conns["stripe_oauth_default"] = {
            "conn_type": "stripe_oauth",
            "login": env["STRIPE_CONNECT_CLIENT_ID"],
            "password": env["STRIPE_PLATFORM_KEY"],
        }
    if env.get("HUBSPOT_ACCESS_TOKEN"):
        conns["hubspot_default"] = {"conn_type": "hubspot", "password": env["HUBSPOT_ACCESS_TOKEN"]}
        if environment:
            conns["hubspot_default"]["extra"] = environment
    if env.get("MAILCHIMP_API_KEY"):
        conns["mailchimp_default"] = {
            "conn_type": "mailchimp",
            "password": env["MAILCHIMP_API_KEY"],
            "extra": {**_extras(env, {"MAILCHIMP_LIST_ID": "list_id"}), **environment},
        }
    if env.get("XERO_CLIENT_ID") and env.get("XERO_CLIENT_SECRET"):
        conns["xero_default"] = {
            "conn_type": "xero",
            "login": env["XERO_CLIENT_ID"],
            "password": env["XERO_CLIENT_SECRET"],
            "extra": {
                **_extras(env, {"XERO_REFRESH_TOKEN": "refresh_token", "XERO_TENANT_ID": "tenant_id"}),
                **environment,
            },
        }
    return conns


def object_store_connection(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Return ``aws_default`` for the object store, or ``None`` when no endpoint or keys are set."""
    if not (env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")):
        return None
    extra = {"region_name": env.get("AWS_DEFAULT_REGION") or "us-east-1"}
    if env.get("S3_ENDPOINT_URL"):
        extra["endpoint_url"] = env["S3_ENDPOINT_URL"]
    return {
        "conn_type": "aws",
        "login": env["AWS_ACCESS_KEY_ID"],
        "password": env["AWS_SECRET_ACCESS_KEY"],
        "extra": extra,
    }


def connections(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Return connection id → fields for ``airflow connections import``, from ``env``."""
    sandbox = env.get("STRIPE_SYNC_SANDBOX_URL")
    conns = _sandbox_connections(sandbox.rstrip("/")) if sandbox else _live_connections(env)
    store = object_store_connection(env)
    if store:
        conns["aws_default"] = store
    return conns


def bucket_of(output_uri: str) -> str | None:
    """Return the bucket of an ``s3://[conn_id@]bucket/...`` URI, or ``None`` for another store."""
    parts = urlsplit(output_uri)
    return parts.hostname if parts.scheme == "s3" else None


def create_bucket(env: Mapping[str, str]) -> str | None:
    bucket = bucket_of(env.get("AIRFLOW__STRIPE_SYNC__OUTPUT_URI", ""))
    store = object_store_connection(env)
    if not bucket or not store:
        return None
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=store["extra"].get("endpoint_url"),
        aws_access_key_id=store["login"],
        aws_secret_access_key=store["password"],
        region_name=store["extra"]["region_name"],
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    return bucket


def main(argv: list[str]) -> int:
    if argv[1:] == ["--create-bucket"]:
        bucket = create_bucket(os.environ)
        print(
            f"bucket {bucket} ready"
            if bucket
            else "no s3:// AIRFLOW__STRIPE_SYNC__OUTPUT_URI: no bucket to create"
        )
        return 0
    if argv[1:]:
        print("usage: connections.py [--create-bucket]", file=sys.stderr)
        return 2
    print(json.dumps(connections(os.environ), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
