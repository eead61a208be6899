"""
Secrets never leave the connections: a real ``airflow dags test`` run of every kind of operator, then a scan.

Every connection type (``stripe``, ``stripe_oauth`` as a platform and as a Stripe Apps install,
``hubspot``, ``xero``, ``mailchimp``) holds a known secret in each credential field it has: the
password (secret key, client secret, access token, API key) and the extras ``client_secret`` and
``refresh_token``. The DAG runs the Stripe list, list-updated, create and method operators, both
sensors (one deferrable, its trigger in the triggerer), the profiles operator, the HubSpot, Mailchimp
and Xero operators and the cleanup, plus two tasks that fail on credentials Stripe and Xero refuse.
Then none of the secrets may appear in the command's output, the task logs, the metadata database
(XCom, rendered template fields, task instance notes), the record files or the reports.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scripts.local_airflow import LocalAirflow

pytestmark = pytest.mark.dags

DAG_ID = "stripe_sync_secrets_scan"
DAG_FILES = Path(__file__).resolve().parent / "secrets_dag_files"
DEMO_END = datetime(2026, 11, 1, tzinfo=timezone.utc)

STRIPE_KEY = "sk_test_ScanStripeKey7Qx2"
# Stripe refuses a key with a space; its answer names only the key's first and last characters.
REFUSED_STRIPE_KEY = "sk_test_ScanRefused Key9z4"
PLATFORM_KEY = "sk_test_ScanPlatformKey3Hd"
APP_SECRET = "sk_test_ScanAppSecret5Wn"
HUBSPOT_TOKEN = "pat-na1-ScanHubspotToken8Kv"
HUBSPOT_CLIENT_SECRET = "ScanHubspotClientSecret2Lp"
HUBSPOT_REFRESH_TOKEN = "ScanHubspotRefreshToken6Rt"
XERO_CLIENT_SECRET = "ScanXeroClientSecret4Mb"
XERO_REFRESH_TOKEN = "xero-sandbox-seed-refresh-token"
REFUSED_XERO_CLIENT_SECRET = "ScanXeroClientSecret9Qa"
REFUSED_XERO_REFRESH_TOKEN = "ScanXeroStaleRefreshToken1Zy"
MAILCHIMP_KEY = "5ca9ec7e5ca9ec7e5ca9ec7e5ca9ec7e-us21"


def install_app(url: str, account: str) -> dict:
    """Install a Stripe App on ``account`` in the sandbox: approve, then trade the code for tokens."""
    query = urllib.parse.urlencode(
        {"client_id": "ca_ScanApp", "response_type": "code", "stripe_user_id": account}
    )
    code = json.loads(urllib.request.urlopen(f"{url}/oauth/authorize?{query}").read())["code"]
    request = urllib.request.Request(
        f"{url}/v1/oauth/token",
        data=urllib.parse.urlencode({"grant_type": "authorization_code", "code": code}).encode(),
        headers={"Authorization": f"Bearer {APP_SECRET}"},
    )
    return json.loads(urllib.request.urlopen(request).read())


def connections(url: str, app_refresh_token: str) -> dict[str, dict]:
    test = {"environment": "test"}
    return {
        "stripe_default": {"conn_type": "stripe", "password": STRIPE_KEY, "host": url},
        "stripe_refused": {"conn_type": "stripe", "password": REFUSED_STRIPE_KEY, "host": url},
        "stripe_oauth_default": {
            "conn_type": "stripe_oauth",
            "login": "ca_ScanPlatform",
            "password": PLATFORM_KEY,
            "host": url,
        },
        "stripe_app": {
            "conn_type": "stripe_oauth",
            "login": "ca_ScanApp",
            "password": APP_SECRET,
            "host": url,
            "extra": {"refresh_token": app_refresh_token},
        },
        "hubspot_default": {
            "conn_type": "hubspot",
            "password": HUBSPOT_TOKEN,
            "host": url,
            "extra": {
                "client_id": "scan-client",
                "client_secret": HUBSPOT_CLIENT_SECRET,
                "refresh_token": HUBSPOT_REFRESH_TOKEN,
                **test,
            },
        },
        "xero_default": {
            "conn_type": "xero",
            "login": "scan-client-id",
            "password": XERO_CLIENT_SECRET,
            "host": url,
            "extra": {"refresh_token": XERO_REFRESH_TOKEN, **test},
        },
        "xero_refused": {
            "conn_type": "xero",
            "login": "scan-client-id",
            "password": REFUSED_XERO_CLIENT_SECRET,
            "host": url,
            "extra": {"refresh_token": REFUSED_XERO_REFRESH_TOKEN, **test},
        },
        "mailchimp_default": {
            "conn_type": "mailchimp",
            "password": MAILCHIMP_KEY,
            "host": url,
            "extra": {"list_id": "aud_sandbox", **test},
        },
    }


def credential_fields(conns: dict[str, dict]) -> dict[str, str]:
    """Every credential of every connection, by where it is: ``conn_id.password``, ``conn_id.<extra>``."""
    found = {}
    for conn_id, conn in conns.items():
        if conn.get("password"):
            found[f"{conn_id}.password"] = conn["password"]
        for key, value in (conn.get("extra") or {}).items():
            if "secret" in key or "token" in key:
                found[f"{conn_id}.{key}"] = value
    return found


def holders(folder: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.timeout(900)
def test_no_credential_of_any_connection_type_leaks(sandbox_server, tmp_path):
    from cryptography.fernet import Fernet

    sandbox = sandbox_server
    sandbox.reset()
    sandbox.seed(scenario="demo", seed=11, end=int(DEMO_END.timestamp()), days=2, customers=60)
    sandbox.set_clock(int(DEMO_END.timestamp()) + 300)
    install = install_app(sandbox.url, "acct_1ScanApp")
    conns = connections(sandbox.url, install["refresh_token"])
    secrets = credential_fields(conns)
    # Every connection type, and every kind of credential field, is in the scan.
    assert {conns[name.split(".")[0]]["conn_type"] for name in secrets} == {
        "stripe",
        "stripe_oauth",
        "hubspot",
        "xero",
        "mailchimp",
    }
    assert sorted({name.split(".")[1] for name in secrets}) == ["client_secret", "password", "refresh_token"]

    # As in production, Variables (where rotated tokens live) are encrypted at rest.
    airflow = LocalAirflow(
        tmp_path / "airflow",
        connections=conns,
        dags_folder=DAG_FILES,
        extra_env={"AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode()},
    )
    airflow.migrate()
    result = airflow.run("dags", "test", DAG_ID, DEMO_END.isoformat(), check=False, timeout=800)
    output = result.stdout + result.stderr

    run = airflow.last_run(DAG_ID)
    states = run["task_states"]
    refused = {"refused_stripe_key", "refused_xero_token"}
    assert {task: states[task] for task in refused} == dict.fromkeys(refused, "failed"), output[-6000:]
    assert {task: state for task, state in states.items() if task not in refused} == dict.fromkeys(
        set(states) - refused, "success"
    ), output[-6000:]
    assert run["state"] == "failed"
    # The refusals are the ones expected, said without the credentials.
    assert "Invalid API Key provided: sk_test_**************y9z4" in output
    assert "Xero answered invalid_grant for the refresh token of connection 'xero_refused'" in output
    assert "Re-authorise the app" in output

    # The scan reads what it must: a listed customer's email is in the record files and reports, the
    # created customer's (its rendered parameters, XCom) in the metadata database.
    end = int(DEMO_END.timestamp())
    listed = [
        c for c in sandbox.state()["stripe"]["customers"] if end - 86400 <= c["created"] < end and c["email"]
    ]
    assert any(p.startswith("stripe_sync/records/") for p in holders(airflow.home, listed[0]["email"]))
    assert holders(airflow.home, "scan@example.com") == ["airflow.db"]

    leaks = {name: where for name, secret in secrets.items() if (where := holders(airflow.home, secret))}
    assert leaks == {}
    assert [name for name, secret in secrets.items() if secret in output] == []
