"""Shared fixtures: the sandbox over real HTTP, connections as AIRFLOW_CONN_* variables, task contexts."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from airflow_provider_stripe_sync.sandbox.testing import SandboxServer

# Tests never read a user's Airflow: connections come from the environment only.
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server, monkeypatch):
    """A reset sandbox with ``stripe_default`` and ``hubspot_default`` pointing at it."""
    sandbox_server.reset()
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_DEFAULT",
        json.dumps({"conn_type": "stripe", "password": "sk_test_sandbox", "host": sandbox_server.url}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "hubspot",
                "password": "pat-sandbox",
                "host": sandbox_server.url,
                # The sandbox takes test keys only: its destinations are test environments.
                "extra": {"environment": "test"},
            }
        ),
    )
    yield sandbox_server
    problems = _contract_problems(sandbox_server)
    assert problems == [], "requests or responses outside the vendors' specs:\n" + "\n".join(problems[:20])


def _contract_problems(server) -> list[str]:
    try:
        from tests import contract
    except ImportError:
        return []
    if contract.specs_dir() is None:
        return []
    return contract.check_logged_requests(server.requests())


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def make_context(
    *,
    interval: tuple[int, int] | None = None,
    dag_id: str = "test_dag",
    task_id: str = "test_task",
    run_id: str = "scheduled__2026-10-29T00:00:00+00:00",
    map_index: int = -1,
    try_number: int = 1,
) -> dict:
    """A task context with what our operators read: the task instance and the data interval."""
    xcom: dict = {}
    ti = SimpleNamespace(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        map_index=map_index,
        try_number=try_number,
        # What the operator pushed besides its return value (the Dashboard link), as XCom would keep it.
        xcom=xcom,
        xcom_push=lambda key, value: xcom.__setitem__(key, value),
    )
    context = {"ti": ti, "run_id": run_id}
    if interval is not None:
        context["data_interval_start"], context["data_interval_end"] = utc(interval[0]), utc(interval[1])
    return context
