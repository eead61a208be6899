"""A deferrable sensor under `airflow dags test`: it defers, a charge arrives, it succeeds with its window."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import stripe

from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_FILES = Path(__file__).resolve().parent / "dag_files"


def charge_checks(sandbox):
    return [r for r in sandbox.requests() if r["method"] == "GET" and r["path"] == "/v1/charges"]


@pytest.mark.timeout(600)
def test_deferrable_sensor_under_dags_test(sandbox_server, tmp_path):
    sandbox = sandbox_server
    sandbox.reset()
    airflow = LocalAirflow(
        tmp_path / "airflow", connections=sandbox_connections(sandbox.url), dags_folder=DAG_FILES
    )
    airflow.migrate()
    window_start = int(time.time()) - 5

    process = subprocess.Popen(
        airflow.dags_test_args("stripe_sensor_wait", conf={"window_start": window_start}),
        env=airflow.env,
        cwd=airflow.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The sensor's own first check, then at least one check by the trigger: it has deferred.
        deadline = time.monotonic() + 240
        while len(charge_checks(sandbox)) < 2:
            assert process.poll() is None, process.stdout.read()[-5000:]
            assert time.monotonic() < deadline, "the sensor never checked twice"
            time.sleep(0.5)
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url})
        charge = client.v1.charges.create(params={"amount": 1200, "currency": "usd", "source": "tok_visa"})
        output, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()

    airflow.check_dags_test("stripe_sensor_wait", None, process.returncode, output)
    assert "Pausing task as DEFERRED" in output
    run = airflow.last_run("stripe_sensor_wait", xcom_tasks=("wait_for_charge",))
    summary = run["xcom"]["wait_for_charge"]
    assert summary["newest_id"] == charge.id
    assert summary["count"] == 1
    assert summary["window"][0] == window_start
    assert charge.created < summary["window"][1]
