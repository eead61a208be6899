"""Where record files go by default, and why a local default is refused under distributed executors."""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.context import default_output_uri, executor_names, remote_executors
from airflow_provider_stripe_sync.operators.stripe import StripeListNewChargesOperator
from tests.conftest import make_context


@pytest.fixture
def settings(monkeypatch, tmp_path):
    """No [stripe_sync] setting, a known AIRFLOW_HOME; returns a setter for the executor."""
    for name in ("AIRFLOW__STRIPE_SYNC__OUTPUT_URI", "AIRFLOW__STRIPE_SYNC__LOCAL_OUTPUT_IS_SHARED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))

    def use(executor: str) -> None:
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)

    return use


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("CeleryExecutor", ["CeleryExecutor"]),
        ("LocalExecutor, KubernetesExecutor", ["LocalExecutor", "KubernetesExecutor"]),
        ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", ["CeleryExecutor"]),
        (
            "fast:LocalExecutor,edge:airflow.providers.edge3.executors.EdgeExecutor",
            ["LocalExecutor", "EdgeExecutor"],
        ),
        ("team_a=CeleryExecutor;team_b=LocalExecutor", ["CeleryExecutor", "LocalExecutor"]),
        ("", []),
    ],
)
def test_executor_names_read_every_form_airflow_accepts(value, names):
    assert executor_names(value) == names


def test_only_local_executors_keep_tasks_on_one_host():
    assert remote_executors("LocalExecutor") == []
    assert remote_executors("SequentialExecutor") == []
    assert remote_executors("LocalExecutor,CeleryExecutor") == ["CeleryExecutor"]
    assert remote_executors("KubernetesExecutor") == ["KubernetesExecutor"]


def test_local_executor_defaults_to_the_airflow_home(settings, tmp_path):
    settings("LocalExecutor")
    assert default_output_uri() == str(tmp_path / "home" / "stripe_sync")


@pytest.mark.parametrize(
    "executor",
    ["CeleryExecutor", "KubernetesExecutor", "LocalExecutor,CeleryExecutor", "CeleryKubernetesExecutor"],
)
def test_local_default_is_refused_where_tasks_may_run_on_other_hosts(settings, executor):
    settings(executor)
    with pytest.raises(ValueError) as raised:
        default_output_uri()
    message = str(raised.value)
    assert message.startswith(
        "output_uri: the default local folder ($AIRFLOW_HOME/stripe_sync) is refused under "
    )
    assert executor.split(",")[-1] in message
    assert "[stripe_sync] output_uri" in message
    assert "AIRFLOW__STRIPE_SYNC__OUTPUT_URI" in message
    assert "s3://aws_default@my-bucket/stripe_sync" in message


def test_the_setting_names_the_object_store(settings, monkeypatch):
    settings("CeleryExecutor")
    monkeypatch.setenv("AIRFLOW__STRIPE_SYNC__OUTPUT_URI", "s3://aws_default@records/sync")
    assert default_output_uri() == "s3://aws_default@records/sync"


def test_a_shared_airflow_home_can_be_declared(settings, monkeypatch, tmp_path):
    settings("CeleryExecutor")
    monkeypatch.setenv("AIRFLOW__STRIPE_SYNC__LOCAL_OUTPUT_IS_SHARED", "True")
    assert default_output_uri() == str(tmp_path / "home" / "stripe_sync")


def test_list_operator_refuses_before_any_request(settings, monkeypatch):
    settings("CeleryExecutor")
    # Nothing listens on port 9: a request would fail with a connection error, not this ValueError.
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_DEFAULT",
        json.dumps({"conn_type": "stripe", "password": "sk_test_x", "host": "http://127.0.0.1:9"}),
    )
    operator = StripeListNewChargesOperator(task_id="list_new_charges")
    with pytest.raises(ValueError, match=r"Set \[stripe_sync\] output_uri"):
        operator.execute(make_context(interval=(1_700_000_000, 1_700_086_400)))


def test_list_operator_output_uri_argument_wins(settings, sandbox, tmp_path):
    settings("CeleryExecutor")
    operator = StripeListNewChargesOperator(task_id="list_new_charges", output_uri=str(tmp_path / "shared"))
    summary = operator.execute(make_context(interval=(1_700_000_000, 1_700_086_400)))
    assert summary["count"] == 0
    name = "platform__charges__1699999400_1700086400.jsonl"
    assert summary["uri"] == f"file://{tmp_path / 'shared'}/records/test_dag/test_task/{name}"
