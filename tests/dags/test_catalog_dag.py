"""Catalog operators under `airflow dags test`: templated ids between tasks, XCom results, Dashboard links."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.local_airflow import LocalAirflow, _result, sandbox_connections

pytestmark = pytest.mark.dags

DAG_FILES = Path(__file__).resolve().parent / "catalog_dag_files"
DAG_ID = "stripe_catalog_invoice"
TASKS = ("create_customer", "create_invoice", "add_item", "finalize", "pay", "list_invoices")
LOGICAL_DATE = "2026-10-29T00:00:00+00:00"


def xcoms(airflow: LocalAirflow) -> dict:
    """Every XCom of the newest run, by task and key."""
    code = f"""
import json
from sqlalchemy import select
from airflow.models import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

with create_session() as session:
    run = session.scalars(select(DagRun).where(DagRun.dag_id == {DAG_ID!r}).order_by(DagRun.id.desc())).first()
    out = {{"run_id": run.run_id, "xcom": {{}}}}
    for row in session.scalars(select(XComModel).where(XComModel.dag_id == {DAG_ID!r}, XComModel.run_id == run.run_id)):
        value = row.value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out["xcom"].setdefault(row.task_id, {{}})[row.key] = value
print("RESULT" + json.dumps(out))
"""
    return _result(airflow.python(code))


@pytest.mark.timeout(900)
def test_invoice_dag_pushes_results_and_dashboard_links(sandbox_server, tmp_path):
    sandbox = sandbox_server
    sandbox.reset()
    airflow = LocalAirflow(
        tmp_path / "airflow", connections=sandbox_connections(sandbox.url), dags_folder=DAG_FILES
    )
    airflow.migrate()

    airflow.dags_test(DAG_ID, LOGICAL_DATE)
    first = xcoms(airflow)
    values = {task: first["xcom"][task]["return_value"] for task in TASKS}
    links = {task: first["xcom"][task]["stripe_dashboard_url"] for task in TASKS}
    customer, invoice = values["create_customer"]["id"], values["create_invoice"]["id"]
    assert values["pay"]["status"] == "paid" and values["pay"]["amount_paid"] == 900
    assert values["finalize"]["status"] == "open"
    assert values["list_invoices"]["count"] == 1
    assert links["create_customer"] == f"https://dashboard.stripe.com/test/customers/{customer}"
    for task in ("create_invoice", "finalize", "pay"):
        assert links[task] == f"https://dashboard.stripe.com/test/invoices/{invoice}"
    assert links["add_item"] == f"https://dashboard.stripe.com/test/invoiceitems/{values['add_item']['id']}"
    assert links["list_invoices"] == f"https://dashboard.stripe.com/test/invoices?customer={customer}"

    state = sandbox.state(resources=["customers", "invoices", "invoiceitems", "charges"])["stripe"]
    # One of each: the objects the tasks passed along by id.
    assert [len(state[name]) for name in ("customers", "invoices", "invoiceitems", "charges")] == [1, 1, 1, 1]
