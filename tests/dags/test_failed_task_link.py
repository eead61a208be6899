"""A Stripe task that fails under `airflow dags test` logs its own error, not "XCom not found" from its link."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_FILES = Path(__file__).resolve().parent / "failing_dag_files"


@pytest.mark.timeout(600)
def test_a_failed_stripe_task_logs_no_xcom_not_found_error(sandbox_server, tmp_path):
    airflow = LocalAirflow(
        tmp_path / "airflow", connections=sandbox_connections(sandbox_server.url), dags_folder=DAG_FILES
    )
    airflow.migrate()
    result = airflow.run(
        *airflow.dags_test_args("stripe_failing_task", "2026-10-29T00:00:00+00:00")[1:], check=False
    )
    output = result.stdout + result.stderr
    assert "invoices.finalize needs object_id: the invoice in /v1/invoices/{invoice}/finalize." in output
    assert "XCom not found" not in output
    assert airflow.last_run("stripe_failing_task")["state"] == "failed"
