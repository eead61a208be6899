"""The browser step without code: stripe-sync-connect stores a connected account as an Airflow connection."""

from __future__ import annotations

import http.client
import subprocess
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from airflow_provider_stripe_sync.sandbox.testing import free_port
from scripts.local_airflow import BIN, LocalAirflow, _result, sandbox_connections

pytestmark = pytest.mark.dags

READ_CONNECTION = """
import json
from airflow.models import Connection
from airflow.utils.session import create_session
from sqlalchemy import select
with create_session() as session:
    c = session.scalar(select(Connection).where(Connection.conn_id == "stripe_shop"))
    print("RESULT" + json.dumps({"conn_type": c.conn_type, "login": c.login, "host": c.host,
        "password": c.password, "extra": c.extra_dejson}))
"""


def browse(url: str) -> None:
    """Play the account owner: approve on the sandbox, follow its redirect to the waiting command."""
    parts = urlsplit(url + "&stripe_user_id=acct_1CliShop")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    assert response.status == 302
    location = response.getheader("Location")
    for _ in range(50):
        try:
            urllib.request.urlopen(location, timeout=5).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listened at {location}")


@pytest.mark.timeout(300)
def test_connect_stores_the_account_connection(sandbox_server, tmp_path):
    sandbox_server.reset()
    connections = sandbox_connections(sandbox_server.url)
    platform_key = connections["stripe_oauth_default"]["password"]
    airflow = LocalAirflow(tmp_path / "airflow", connections=connections)
    airflow.migrate()
    redirect = f"http://127.0.0.1:{free_port()}/stripe/callback"

    process = subprocess.Popen(
        [
            str(BIN / "stripe-sync-connect"),
            "--conn-id",
            "stripe_shop",
            "--redirect-uri",
            redirect,
            "--timeout",
            "120",
        ],
        env=airflow.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(sandbox_server.url + "/oauth/authorize?"):
            browse(line.strip())
            break
    output = "".join(lines) + process.stdout.read()
    assert process.wait(timeout=120) == 0, output

    assert "Connected account acct_1CliShop (livemode=False, scope=read_write)." in output
    assert "Stored connection 'stripe_shop'" in output
    assert platform_key not in output
    # No secret is copied: the account's connection names the platform connection instead.
    stored = _result(airflow.python(READ_CONNECTION))
    assert stored == {
        "conn_type": "stripe_oauth",
        "login": None,
        "host": None,
        "password": None,
        "extra": {
            "stripe_user_id": "acct_1CliShop",
            "platform_conn_id": "stripe_oauth_default",
            "scope": "read_write",
            "livemode": False,
        },
    }
