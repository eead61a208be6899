"""
DAG parse time beyond Airflow's own imports, and the provider's import time, each in a fresh process.

A DAG file is parsed the way the DAG processor parses it (``DagBag``), after Airflow itself is imported
and a one-task DAG file has been parsed once, so that only what the example file adds is timed: its
own imports (the provider's operators) and building its DAG. The same run lists which SDKs the parse
imported: none may be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "dags"

#: SDK packages a DAG file must not import at parse time.
SDK_MODULES = ("stripe", "hubspot", "xero_python", "mailchimp_marketing")

BASELINE_DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="baseline", schedule=None):
    EmptyOperator(task_id="only")
"""

PARSE = r"""
import json, sys, time
started = time.perf_counter()
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
airflow_seconds = time.perf_counter() - started

started = time.perf_counter()
baseline = DagBag(dag_folder=sys.argv[2])
baseline_seconds = time.perf_counter() - started
assert baseline.dag_ids == ["baseline"], (baseline.dag_ids, baseline.import_errors)

started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
seconds = time.perf_counter() - started
sdk = sorted(m for m in __SDK__ if m in sys.modules or any(k.startswith(m + ".") for k in sys.modules))
print("RESULT" + json.dumps({
    "seconds": seconds,
    "baseline_seconds": baseline_seconds,
    "airflow_import_seconds": airflow_seconds,
    "dags": sorted(bag.dag_ids),
    "errors": {k: str(v)[-2000:] for k, v in bag.import_errors.items()},
    "sdk_modules": sdk,
}))
""".replace("__SDK__", repr(SDK_MODULES))

IMPORT = r"""
import json, sys, time
import airflow.sdk
started = time.perf_counter()
import airflow_provider_stripe_sync
package_seconds = time.perf_counter() - started
started = time.perf_counter()
import airflow_provider_stripe_sync.operators.stripe
import airflow_provider_stripe_sync.operators.hubspot
import airflow_provider_stripe_sync.operators.xero
import airflow_provider_stripe_sync.operators.mailchimp
import airflow_provider_stripe_sync.sensors.stripe
operators_seconds = time.perf_counter() - started
sdk = sorted(m for m in __SDK__ if m in sys.modules or any(k.startswith(m + ".") for k in sys.modules))
print("RESULT" + json.dumps({"package_seconds": package_seconds, "operators_seconds": operators_seconds,
                             "sdk_modules": sdk}))
""".replace("__SDK__", repr(SDK_MODULES))


def _environment(home: str) -> dict[str, str]:
    return {
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "PYTHONPATH": str(REPO),
    }


def _run(code: str, *args: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=_environment(home),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def parse_dag_file(path: Path) -> dict[str, Any]:
    """Parse one DAG file in a fresh process; seconds beyond Airflow, its DAGs, errors, SDKs imported."""
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline_dag.py"
        baseline.write_text(BASELINE_DAG)
        return _run(PARSE, str(path), str(baseline))


def provider_import() -> dict[str, Any]:
    """Seconds to import the provider package, then its operators and sensors, after Airflow."""
    return _run(IMPORT)


def example_dag_files() -> list[Path]:
    return sorted(DAGS.glob("*.py"))
