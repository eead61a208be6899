"""
The distributed cluster, started once for this folder's tests, and Airflow's REST API client.

Run by ``make test-distributed`` (which sets ``STRIPE_SYNC_DISTRIBUTED=1`` after installing what it
needs); a plain ``pytest`` skips the folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.distributed.cluster import Cluster

#: Screenshots and service logs: the folder `make test-distributed` prints.
ARTEFACTS = Path(os.environ.get("STRIPE_SYNC_ARTEFACTS") or "ui-artefacts").resolve()

#: Lines for the closing summary, added by the tests.
SUMMARY: list[str] = []


def pytest_collection_modifyitems(config, items):
    if os.environ.get("STRIPE_SYNC_DISTRIBUTED") == "1":
        return
    skip = pytest.mark.skip(reason="distributed check: run it with make test-distributed")
    for item in items:
        if "tests/distributed/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("distributed run")
        for line in SUMMARY:
            terminalreporter.write_line(line)


class AirflowAPI:
    """Airflow's REST API (v2) with a JWT from the API server's auth manager."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        response = requests.post(
            f"{self.url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.url}/api/v2{path}", timeout=60, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.session.get(f"{self.url}/api/v2/dags/{dag_id}", timeout=30)
            if response.status_code == 200:
                return response.json()
            time.sleep(2)
        raise AssertionError(f"DAG {dag_id} was not parsed in {timeout:.0f} s")

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str, run_id: str, *, logical_date: str | None, conf: dict | None = None
    ) -> dict:
        body = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.get(path, deserialize="true", stringify="false")["value"]


@pytest.fixture(scope="session")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="stripe-sync-distributed-"))
    cluster = Cluster(root)
    started = time.monotonic()
    try:
        cluster.start_postgres()
        cluster.start_redis()
        cluster.start_object_store()
        cluster.sandbox = cluster.start_sandbox()
        cluster.start_airflow()
        SUMMARY.append(
            f"services up in {time.monotonic() - started:.0f} s: "
            + ", ".join(f"{s.name} (pid {s.process.pid})" for s in cluster.services)
        )
        yield cluster
    finally:
        cluster.stop()
        pg_data = getattr(cluster, "pg_data", None)
        logs = ARTEFACTS / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        if (root / "logs").exists():
            shutil.copytree(root / "logs", logs)
            SUMMARY.append(f"service logs: {logs}")
        shutil.rmtree(root, ignore_errors=True)
        if pg_data:
            shutil.rmtree(pg_data, ignore_errors=True)
        SUMMARY.append("stopped every process started, by process id")


@pytest.fixture(scope="session")
def api(cluster):
    return AirflowAPI(cluster.api_url, "admin", cluster.password)


# -- the runs the checks read ------------------------------------------------------------------

CRM = "stripe_hubspot_crm_sync"
RECONCILIATION = "stripe_xero_reconciliation"
MARKETING = "stripe_mailchimp_marketing_trigger"
DEMO_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAYS = [DEMO_END - timedelta(days=n) for n in (3, 2, 1)]
HOUR = 3600
FINISHED = ("success", "failed")

#: What the runs left behind, for the later tests of this module.
RESULTS: dict = {}


def wait_until(what, predicate, cluster, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        cluster.check_alive()
        time.sleep(3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{cluster.tail('scheduler')}")


def day_run_id(dag_id, day):
    return f"distributed__{dag_id}__{day.date()}"


@pytest.fixture(scope="session")
def seeded(cluster, api):
    """Three demo days in the sandbox; the example DAGs parsed and unpaused."""
    sandbox = cluster.sandbox
    sandbox.reset()
    sandbox.seed(scenario="demo", seed=7, end=int(DEMO_END.timestamp()), days=3, customers=300)
    # As a scheduler would run them: just after the last day closed.
    sandbox.set_clock(int(DEMO_END.timestamp()) + 300)
    for dag_id in (CRM, RECONCILIATION, MARKETING):
        api.wait_for_dag(dag_id)
        api.unpause(dag_id)


@pytest.fixture(scope="session")
def ran(seeded, cluster, api):
    """Trigger the CRM sync and the reconciliation for each of the three days; wait for all."""

    started = time.monotonic()
    runs = []
    for day in DAYS:
        for dag_id in (CRM, RECONCILIATION):
            # A manual run with logical date D covers the last full day before D.
            created = api.trigger(
                dag_id, day_run_id(dag_id, day), logical_date=(day + timedelta(days=1)).isoformat()
            )
            runs.append((dag_id, created["dag_run_id"], day))

    def all_finished():
        states = [api.run(dag_id, run_id)["state"] for dag_id, run_id, _ in runs]
        return states if all(state in FINISHED for state in states) else None

    wait_until("the CRM and reconciliation runs", all_finished, cluster, timeout=900)
    RESULTS["runs"] = runs
    RESULTS["elapsed"] = time.monotonic() - started
    return runs
