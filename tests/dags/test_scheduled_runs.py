"""
Windows read by runs a real scheduler makes: a scheduled run and a manual run with no logical date.

`airflow dags test` always has a logical date; these two kinds of run only happen under a scheduler,
so this test starts Airflow's API server, scheduler and DAG processor as separate processes.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from airflow_provider_stripe_sync.sandbox.testing import free_port
from scripts.local_airflow import AirflowServices, LocalAirflow, sandbox_connections, services_env

pytestmark = pytest.mark.dags

DAG_ID = "stripe_hubspot_crm_sync"
DAY = 86400


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
import json
from sqlalchemy import select
from airflow.models import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
with create_session() as session:
    out = []
    for run in session.scalars(select(DagRun).where(DagRun.dag_id == "stripe_hubspot_crm_sync")):
        row = session.scalars(select(XComModel).where(
            XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id,
            XComModel.task_id == "list_new_customers", XComModel.key == "return_value")).first()
        out.append({
            "run_type": str(getattr(run.run_type, "value", run.run_type)),
            "state": str(getattr(run.state, "value", run.state)),
            "logical_date": run.logical_date.isoformat() if run.logical_date else None,
            "data_interval_start": run.data_interval_start.isoformat() if run.data_interval_start else None,
            "run_after": run.run_after.isoformat(),
            "customers": None if row is None else (json.loads(row.value) if isinstance(row.value, str) else row.value),
        })
print("RESULT" + json.dumps(out))
"""


@pytest.mark.timeout(900)
def test_scheduled_and_no_logical_date_runs_read_the_last_full_day(sandbox_server, tmp_path):
    sandbox_server.reset()
    now = datetime.now(timezone.utc)
    today = midnight_before(now)
    sandbox_server.seed(
        stripe={
            "customers": [
                {"id": "cus_yesterday", "email": "yesterday@example.com", "created": today - DAY + 43200},
                {"id": "cus_two_days_ago", "email": "older@example.com", "created": today - 2 * DAY + 10},
            ]
        }
    )
    port = free_port()
    airflow = LocalAirflow(
        tmp_path / "airflow",
        connections=sandbox_connections(sandbox_server.url),
        extra_env=services_env(port),
    )
    airflow.migrate()

    from scripts.local_airflow import _result

    def runs():
        return _result(airflow.python(RUNS))

    with AirflowServices(airflow, port=port) as services:
        # The DAG is unpaused at creation; with catchup off the scheduler runs its latest full interval.
        wait_for(
            lambda: [r for r in runs() if r["run_type"] == "scheduled"],
            timeout=300,
            what="a scheduled run",
            services=services,
        )
        airflow.run("dags", "trigger", DAG_ID)
        finished = wait_for(
            lambda: (
                lambda rs: (
                    rs if len(rs) == 2 and all(r["state"] in ("success", "failed") for r in rs) else None
                )
            )(runs()),
            timeout=600,
            what="both runs to finish",
            services=services,
        )

    by_type = {r["run_type"]: r for r in finished}
    assert {r["state"] for r in finished} == {"success"}, finished
    scheduled, manual = by_type["scheduled"], by_type["manual"]

    assert scheduled["customers"]["window"] == [today - DAY, today]
    assert scheduled["customers"]["count"] == 1

    assert manual["logical_date"] is None and manual["data_interval_start"] is None
    run_after = datetime.fromisoformat(manual["run_after"])
    expected_end = midnight_before(run_after)
    assert manual["customers"]["window"] == [expected_end - DAY, expected_end]
