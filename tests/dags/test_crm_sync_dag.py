"""
The CRM sync DAG end to end: real ``airflow dags test`` runs against the sandbox over HTTP.

The sandbox runs in this process; Airflow runs in subprocesses with its own home and SQLite database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scripts.demo import expected_contacts
from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_ID = "stripe_hubspot_crm_sync"
DEMO_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAYS = [DEMO_END - timedelta(days=n) for n in (3, 2, 1)]
HOUR = 3600


@pytest.fixture(scope="module")
def airflow(sandbox_server, tmp_path_factory):
    local = LocalAirflow(
        tmp_path_factory.mktemp("airflow"), connections=sandbox_connections(sandbox_server.url)
    )
    local.migrate()
    return local


OUTPUTS = []


def run_day(airflow, sandbox, day):
    day_end = day + timedelta(days=1)
    sandbox.set_clock(int(day_end.timestamp()) + 300)
    OUTPUTS.append(airflow.dags_test(DAG_ID, day_end.isoformat()))
    return airflow.last_run(DAG_ID, xcom_tasks=("list_new_customers", "summarize"))


def files_containing(folder, secret):
    needle = secret.encode()
    return [str(path) for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()]


def writes(requests):
    """The accepted requests that change something in Stripe or HubSpot."""
    return [
        (r["method"], r["path"], r["status"], r.get("json") or r.get("form"))
        for r in requests
        if r["method"] in ("POST", "PATCH", "DELETE", "PUT")
        and not r["path"].endswith(("/batch/read", "/search"))
        and r["status"] < 400
    ]


@pytest.mark.timeout(1500)
def test_three_days_then_reruns_change_nothing(airflow, sandbox_server):
    sandbox = sandbox_server
    sandbox.reset()
    sandbox.seed(scenario="demo", seed=7, end=int(DEMO_END.timestamp()), days=30, customers=2000)

    summaries = []
    for day in DAYS:
        run = run_day(airflow, sandbox, day)
        summary = run["xcom"]["summarize"]
        start, end = int(day.timestamp()), int(day.timestamp()) + 24 * HOUR
        # `dags test` with logical date D reads the last full day before D.
        assert run["xcom"]["list_new_customers"]["window"] == [start, end]
        assert summary["window"] == [start, end]
        summaries.append(summary)

    state = sandbox.state()
    start, end = int(DAYS[0].timestamp()), int(DAYS[-1].timestamp()) + 24 * HOUR
    in_window = [c for c in state["stripe"]["customers"] if start <= c["created"] < end]
    assert sum(s["stripe_customers_read"] for s in summaries) == len(in_window)
    contacts = state["hubspot"]["contacts"]
    emails = [c["properties"]["email"] for c in contacts]
    assert len(emails) == len(set(emails))
    assert set(emails) == expected_contacts(state, start, end)
    customers = {c["id"]: c for c in state["stripe"]["customers"]}
    for contact in contacts:
        customer = customers[contact["properties"]["stripe_customer_id"]]
        assert customer["email"].strip().lower() == contact["properties"]["email"]

    # The same interval again, now and 25 sandbox-hours later (past Stripe's idempotency memory).
    for advance in (0, 25 * HOUR):
        sandbox.clear_requests()
        day_end = DAYS[1] + timedelta(days=1)
        sandbox.set_clock(int(day_end.timestamp()) + 300 + advance)
        airflow.dags_test(DAG_ID, day_end.isoformat())
        assert writes(sandbox.requests()) == []
        summary = airflow.last_run(DAG_ID, xcom_tasks=("summarize",))["xcom"]["summarize"]
        assert summary["hubspot_contacts_upserted"] == 0
        first = summaries[1]
        assert summary["hubspot_contacts_unchanged"] == (
            first["hubspot_contacts_upserted"] + first["hubspot_contacts_unchanged"]
        )
        after = sandbox.state()
        assert after["stripe"]["customers"] == state["stripe"]["customers"]
        assert after["stripe"]["subscriptions"] == state["stripe"]["subscriptions"]
        assert after["hubspot"]["contacts"] == state["hubspot"]["contacts"]


def test_no_secret_reaches_output_logs_xcom_records_or_reports(airflow):
    # Runs after the test above in this module: its `dags test` output and the whole Airflow home
    # (task logs, the SQLite database with XCom and rendered fields, record files, reports).
    assert OUTPUTS, "the three-day test must run first"
    for conn in sandbox_connections("http://unused").values():
        secret = conn["password"]
        assert not [out for out in OUTPUTS if secret in out]
        assert files_containing(airflow.home, secret) == []
