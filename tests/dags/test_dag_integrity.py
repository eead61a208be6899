"""The example DAG folder parses cleanly, cheaply, and without touching connections or SDKs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.parse import SDK_MODULES, example_dag_files, parse_dag_file, provider_import

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"

PARSE = r"""
import json, sys
from airflow.sdk import BaseHook

def refuse(*args, **kwargs):
    raise AssertionError(f"connection lookup at parse time: {args} {kwargs}")

BaseHook.get_connection = classmethod(refuse)
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
sdk = [m for m in __SDK__ if m in sys.modules or any(k.startswith(m + ".") for k in sys.modules)]
print("RESULT" + json.dumps({
    "errors": {k: str(v)[-2000:] for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dag_ids),
    "sdk_modules": sdk,
    "timetables": {d: type(bag.dags[d].timetable).__name__ for d in bag.dag_ids},
    "pools": {d: sorted({t.pool for t in bag.dags[d].tasks}) for d in bag.dag_ids},
}))
""".replace("__SDK__", repr(SDK_MODULES))


def parse_dag_folder(tmp_path) -> dict:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db",
    }
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(x for x in reversed(result.stdout.splitlines()) if x.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_dag_folder_imports_without_errors_connections_or_sdks(tmp_path):
    parsed = parse_dag_folder(tmp_path)
    assert parsed["errors"] == {}
    assert "stripe_hubspot_crm_sync" in parsed["dags"]
    assert parsed["sdk_modules"] == []
    assert parsed["timetables"]["stripe_hubspot_crm_sync"] == "CronDataIntervalTimetable"
    # Only the summary task, which calls no API, runs in the default pool.
    assert parsed["pools"]["stripe_hubspot_crm_sync"] == ["default_pool", "hubspot_api", "stripe_api"]
    assert parsed["timetables"]["stripe_mailchimp_marketing_trigger"] == "CronDataIntervalTimetable"
    # Only gathering the records and the summary, which call no API, run in the default pool.
    assert parsed["pools"]["stripe_mailchimp_marketing_trigger"] == [
        "default_pool",
        "mailchimp_api",
        "stripe_api",
    ]
    assert parsed["timetables"]["stripe_xero_reconciliation"] == "CronDataIntervalTimetable"
    assert parsed["pools"]["stripe_xero_reconciliation"] == ["default_pool", "stripe_api", "xero_api"]


@pytest.mark.parametrize("dag_file", example_dag_files(), ids=lambda path: path.name)
def test_each_dag_file_alone_parses_without_importing_an_sdk(dag_file):
    # Each file in a fresh interpreter, as the benchmark times it: one file's imports cannot hide
    # behind another's.
    parsed = parse_dag_file(dag_file)
    assert parsed["errors"] == {}
    assert parsed["dags"] == [dag_file.stem]
    assert parsed["sdk_modules"] == []


def test_importing_the_provider_imports_no_sdk():
    assert provider_import()["sdk_modules"] == []
