"""
What only a real scheduler and triggerer show.

`airflow dags test` always has a logical date and runs triggers in its own process. Scheduled runs,
manual runs with no logical date, and a trigger running in a separate triggerer (where a sync
connection lookup would deadlock) need Airflow's API server, scheduler, DAG processor and triggerer as
separate processes: one set serves every test of this module.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import stripe

from airflow_provider_stripe_sync.sandbox.testing import free_port
from scripts.local_airflow import (
    REPO,
    AirflowServices,
    LocalAirflow,
    _result,
    sandbox_connections,
    services_env,
)

pytestmark = pytest.mark.dags

DAG_ID = "stripe_hubspot_crm_sync"
SENSOR_DAG_ID = "stripe_sensor_wait"
DAY = 86400
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def midnight_before(moment: datetime) -> int:
    return int(moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def wait_for(predicate, *, timeout, what, services):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(3)
    raise AssertionError(f"timed out waiting for {what}\n{services.log_tail('scheduler')}")


RUNS = """
import json, sys
from sqlalchemy import select
from airflow.models import DagRun, TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
dag_id, task_id = sys.argv[1], sys.argv[2]
with create_session() as session:
    out = []
    for run in session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)):
        row = session.scalars(select(XComModel).where(
            XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id,
            XComModel.task_id == task_id, XComModel.key == "return_value")).first()
        ti = session.scalars(select(TaskInstance).where(
            TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id,
            TaskInstance.task_id == task_id)).first()
        out.append({
            "task_state": None if ti is None else str(getattr(ti.state, "value", ti.state)),
            "hostname": None if ti is None else ti.hostname,
            "run_type": str(getattr(run.run_type, "value", run.run_type)),
            "state": str(getattr(run.state, "value", run.state)),
            "logical_date": run.logical_date.isoformat() if run.logical_date else None,
            "data_interval_start": run.data_interval_start.isoformat() if run.data_interval_start else None,
            "run_after": run.run_after.isoformat(),
            "xcom": None if row is None
                else (json.loads(row.value) if isinstance(row.value, str) else row.value),
        })
print("RESULT" + json.dumps(out))
"""


def dag_folder(tmp_path: Path) -> Path:
    """The CRM DAG (with its sample data) and the sensor test DAG side by side."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "stripe_hubspot_crm_sync.py").symlink_to(REPO / "dags" / "stripe_hubspot_crm_sync.py")
    (folder / "data").symlink_to(REPO / "dags" / "data")
    (folder / "stripe_sensor_wait.py").symlink_to(
        Path(__file__).resolve().parent / "dag_files" / "stripe_sensor_wait.py"
    )
    return folder


@pytest.fixture(scope="module")
def airflow_services(sandbox_server, tmp_path_factory):
    sandbox_server.reset()
    now = datetime.now(timezone.utc)
    today = midnight_before(now)
    # Seeded before the scheduler starts: the CRM DAG is unpaused at creation and runs at once.
    sandbox_server.seed(
        stripe={
            "customers": [
                {"id": "cus_yesterday", "email": "yesterday@example.com", "created": today - DAY + 43200},
                {"id": "cus_two_days_ago", "email": "older@example.com", "created": today - 2 * DAY + 10},
            ]
        }
    )
    home = tmp_path_factory.mktemp("airflow-services")
    port = free_port()
    airflow = LocalAirflow(
        home / "airflow",
        connections=sandbox_connections(sandbox_server.url),
        dags_folder=dag_folder(home),
        extra_env=services_env(port),
    )
    airflow.migrate()
    with AirflowServices(airflow, port=port, components=COMPONENTS) as services:
        yield airflow, services, today


def runs(airflow, dag_id, task_id):
    return _result(airflow.python(RUNS.replace("sys.argv[1], sys.argv[2]", f"{dag_id!r}, {task_id!r}")))


@pytest.mark.timeout(900)
def test_scheduled_and_no_logical_date_runs_read_the_last_full_day(airflow_services):
    airflow, services, today = airflow_services

    # With catchup off, the scheduler runs the DAG's latest full interval once it is parsed.
    wait_for(
        lambda: [r for r in runs(airflow, DAG_ID, "list_new_customers") if r["run_type"] == "scheduled"],
        timeout=300,
        what="a scheduled run",
        services=services,
    )
    airflow.run("dags", "trigger", DAG_ID)

    def both_finished():
        found = runs(airflow, DAG_ID, "list_new_customers")
        done = len(found) == 2 and all(r["state"] in ("success", "failed") for r in found)
        return found if done else None

    finished = wait_for(both_finished, timeout=600, what="both runs to finish", services=services)

    by_type = {r["run_type"]: r for r in finished}
    assert {r["state"] for r in finished} == {"success"}, finished
    scheduled, manual = by_type["scheduled"], by_type["manual"]

    assert scheduled["xcom"]["window"] == [today - DAY, today]
    assert scheduled["xcom"]["count"] == 1

    assert manual["logical_date"] is None and manual["data_interval_start"] is None
    expected_end = midnight_before(datetime.fromisoformat(manual["run_after"]))
    assert manual["xcom"]["window"] == [expected_end - DAY, expected_end]


@pytest.mark.timeout(600)
def test_deferrable_sensor_under_a_real_triggerer(airflow_services, sandbox_server):
    airflow, services, _ = airflow_services
    window_start = int(time.time()) - 5
    airflow.run("dags", "trigger", SENSOR_DAG_ID, "--conf", json.dumps({"window_start": window_start}))

    def deferred():
        found = runs(airflow, SENSOR_DAG_ID, "wait_for_charge")
        return found and found[0]["task_state"] == "deferred"

    wait_for(deferred, timeout=300, what="the sensor to defer", services=services)
    # Give the scheduler time to take the executor's event for the deferring run. If the trigger
    # fires before that, Airflow 3.3 sees a "success" event for a task instance already queued again
    # for resumption and fails it ("task state changed externally"): a race of Airflow's, which a
    # sensor that waits more than a few seconds never meets.
    time.sleep(10)
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox_server.url})
    charge = client.v1.charges.create(params={"amount": 900, "currency": "gbp", "source": "tok_visa"})

    def finished():
        found = runs(airflow, SENSOR_DAG_ID, "wait_for_charge")
        return found if found and found[0]["state"] in ("success", "failed") else None

    [run] = wait_for(finished, timeout=300, what="the sensor run to finish", services=services)
    assert run["state"] == "success", services.log_tail("triggerer")
    assert run["xcom"]["newest_id"] == charge.id
    assert run["xcom"]["window"][0] == window_start
    assert charge.created < run["xcom"]["window"][1]
    # Only the triggerer runs deferred tasks' triggers: the sensor was resumed by it.
