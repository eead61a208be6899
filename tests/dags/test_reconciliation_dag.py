"""
The reconciliation DAG end to end: real ``airflow dags test`` runs against the sandbox over HTTP.

Refresh tokens go through a real Airflow Variable here (the tasks write it through the Task SDK).
"""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_ID = "stripe_xero_reconciliation"
DEMO_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAY = DEMO_END - timedelta(days=1)


@pytest.fixture(scope="module")
def airflow(sandbox_server, tmp_path_factory):
    local = LocalAirflow(
        tmp_path_factory.mktemp("airflow"), connections=sandbox_connections(sandbox_server.url)
    )
    local.migrate()
    return local


def xero_state(url):
    with urllib.request.urlopen(url + "/_sandbox/xero/state") as response:
        return json.loads(response.read())


def run_day(airflow, sandbox):
    day_end = DAY + timedelta(days=1)
    sandbox.set_clock(int(day_end.timestamp()) + 300)
    airflow.dags_test(DAG_ID, day_end.isoformat())
    return airflow.last_run(DAG_ID, xcom_tasks=("summarize",))


@pytest.mark.timeout(900)
def test_a_day_posts_once_and_ties_out_then_a_rerun_posts_nothing(airflow, sandbox_server):
    sandbox = sandbox_server
    sandbox.reset()
    sandbox.seed(scenario="demo", seed=7, end=int(DEMO_END.timestamp()), days=3, customers=150)
    # Balance transactions are read with a 600 s look-back; overlap is harmless (found by Reference).
    start, end = int(DAY.timestamp()) - 600, int(DAY.timestamp()) + 86400
    in_window = [
        t
        for t in sandbox.state(resources=["balance_transactions"])["stripe"]["balance_transactions"]
        if start <= t["created"] < end
    ]

    run = run_day(airflow, sandbox)
    summary = run["xcom"]["summarize"]

    assert summary["window"] == [start, end]
    assert summary["stripe_balance_transactions_read"] == len(in_window) > 0
    assert summary["xero_entries_posted"] == len(in_window)
    assert summary["xero_records_rejected"] == 0
    # Each clearing account moved by the sum of the day's nets in its currency.
    nets = defaultdict(int)
    for txn in in_window:
        nets[txn["currency"]] += txn["net"]
    clearing = {"usd": "095", "eur": "096", "gbp": "098"}
    balances = xero_state(sandbox.url)["balances"]
    for currency, net in nets.items():
        assert Decimal(balances[clearing[currency]]) == Decimal(net) / 100, currency
    totals = {
        c: sum(Decimal(v) for v in by_category.values()) for c, by_category in summary["totals"].items()
    }
    assert totals == {c: Decimal(n) / 100 for c, n in nets.items()}

    before = xero_state(sandbox.url)
    again = run_day(airflow, sandbox)["xcom"]["summarize"]
    assert (again["xero_entries_posted"], again["xero_entries_unchanged"]) == (0, len(in_window))
    after = xero_state(sandbox.url)
    assert after["bank_transactions"] == before["bank_transactions"]

    # The rotated refresh token is in the Variable, not the one the connection was seeded with.
    stored = json.loads(airflow.run("variables", "get", "xero_refresh_token__xero_default").stdout.strip())
    assert stored["refresh_token"] != "xero-sandbox-seed-refresh-token"
