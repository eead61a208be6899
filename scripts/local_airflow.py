"""
A throwaway local Airflow for the demo and the DAG tests: its own AIRFLOW_HOME, SQLite, this repo's DAGs.

Everything runs through the real ``airflow`` command line of the project's virtual environment, with
connections given as ``AIRFLOW_CONN_*`` variables, so nothing here touches a user's own Airflow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: The pools the example DAGs use, with their slots. A mailchimp_api slot is one connection:
#: Mailchimp allows 10 at once per account.
POOLS = {"stripe_api": 4, "hubspot_api": 2, "xero_api": 1, "mailchimp_api": 10}


def sandbox_connections(url: str) -> dict[str, dict[str, Any]]:
    """Return connections that point every API at the sandbox at ``url``."""
    return {
        "stripe_default": {"conn_type": "stripe", "password": "sk_test_sandbox_demo", "host": url},
        "stripe_oauth_default": {
            "conn_type": "stripe_oauth",
            "login": "ca_sandbox_demo_platform",
            "password": "sk_test_sandbox_platform",
            "host": url,
        },
        # The sandbox takes test keys only: its destinations are test environments.
        "hubspot_default": {
            "conn_type": "hubspot",
            "password": "pat-sandbox-demo",
            "host": url,
            "extra": {"environment": "test"},
        },
        # The sandbox's default audience; any key ending in a data centre works.
        "mailchimp_default": {
            "conn_type": "mailchimp",
            "password": "0123456789abcdef0123456789abcdef-us21",
            "host": url,
            "extra": {"list_id": "aud_sandbox", "environment": "test"},
        },
        # The refresh token a reset sandbox accepts; the hook keeps the rotated ones in a Variable.
        "xero_default": {
            "conn_type": "xero",
            "login": "sandbox-client-id",
            "password": "sandbox-client-secret",
            "host": url,
            "extra": {"refresh_token": "xero-sandbox-seed-refresh-token", "environment": "test"},
        },
    }


class LocalAirflow:
    """
    An Airflow home in ``home`` with a SQLite metadata database and the repository's DAG folder.

    :param home: the folder for ``AIRFLOW_HOME``; created when missing.
    :param connections: connection id → connection fields, passed as ``AIRFLOW_CONN_*`` variables.
    :param dags_folder: the DAG folder; default the repository's ``dags/``.
    """

    def __init__(
        self,
        home: Path,
        *,
        connections: dict[str, dict[str, Any]] | None = None,
        dags_folder: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.home = Path(home).resolve()
        self.connections = connections or {}
        self.dags_folder = Path(dags_folder or REPO / "dags").resolve()
        self.extra_env = extra_env or {}

    @property
    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "NO_PROXY": "*",
            }
        )
        for conn_id, fields in self.connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(fields)
        env.update(self.extra_env)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``airflow ARGS`` in this home and return the finished process."""
        result = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            )
        return result

    def python(self, code: str, timeout: float = 300) -> str:
        """Run Python code in this home's environment (for reading the metadata database)."""
        result = subprocess.run(
            [sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"python exited {result.returncode}:\n{result.stderr[-6000:]}")
        return result.stdout

    def migrate(self) -> None:
        """Create the metadata database and the example DAGs' pools."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.run("db", "migrate")
        pools = self.home / "pools.json"
        pools.write_text(
            json.dumps(
                {
                    name: {"slots": slots, "description": f"Example DAGs' {name} calls"}
                    for name, slots in POOLS.items()
                }
            )
        )
        self.run("pools", "import", str(pools))

    def dags_test_args(
        self, dag_id: str, logical_date: str | None = None, *, conf: dict | None = None
    ) -> list[str]:
        """Return the command line of ``airflow dags test``."""
        args = [str(BIN / "airflow"), "dags", "test", dag_id]
        if logical_date:
            args.append(logical_date)
        if conf:
            args += ["--conf", json.dumps(conf)]
        return args

    def dags_test(self, dag_id: str, logical_date: str | None = None, *, conf: dict | None = None) -> str:
        """Run ``airflow dags test`` and return its output; raises with the output when it fails."""
        result = self.run(*self.dags_test_args(dag_id, logical_date, conf=conf)[1:], check=False)
        return self.check_dags_test(dag_id, logical_date, result.returncode, result.stdout + result.stderr)

    @staticmethod
    def check_dags_test(dag_id: str, logical_date: str | None, returncode: int, output: str) -> str:
        """Raise with the output unless a ``dags test`` run finished in success."""
        finished = [line for line in output.splitlines() if "DagRun Finished" in line]
        if returncode != 0 or not finished or "state=success" not in finished[-1]:
            raise RuntimeError(f"airflow dags test {dag_id} {logical_date or ''} failed:\n{output[-12000:]}")
        return output

    def last_run_state(self, dag_id: str) -> str | None:
        return self.last_run(dag_id).get("state")

    def last_run(self, dag_id: str, *, xcom_tasks: tuple[str, ...] = ()) -> dict[str, Any]:
        """
        Return the newest run of ``dag_id`` with its task states and the return values of ``xcom_tasks``.

        One subprocess answers everything: each start of Python with Airflow costs seconds.
        """
        code = f"""
import json
from sqlalchemy import select
from airflow.models import DagRun, TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

def text(value):
    return None if value is None else str(getattr(value, "value", value))

def iso(value):
    return value.isoformat() if value else None

with create_session() as session:
    run = session.scalars(select(DagRun).where(DagRun.dag_id == {dag_id!r}).order_by(DagRun.id.desc())).first()
    out = {{}}
    if run is not None:
        out = {{
            "run_id": run.run_id, "state": text(run.state), "logical_date": iso(run.logical_date),
            "data_interval_start": iso(run.data_interval_start), "data_interval_end": iso(run.data_interval_end),
            "run_after": iso(run.run_after), "run_type": text(run.run_type),
        }}
        tis = session.scalars(select(TaskInstance).where(
            TaskInstance.dag_id == {dag_id!r}, TaskInstance.run_id == run.run_id)).all()
        out["task_states"] = {{ti.task_id: text(ti.state) for ti in tis}}
        out["xcom"] = {{}}
        for task_id in {list(xcom_tasks)!r}:
            row = session.scalars(select(XComModel).where(
                XComModel.dag_id == {dag_id!r}, XComModel.run_id == run.run_id,
                XComModel.task_id == task_id, XComModel.key == "return_value")).first()
            value = None if row is None else row.value
            out["xcom"][task_id] = json.loads(value) if isinstance(value, str) else value
print("RESULT" + json.dumps(out))
"""
        return _result(self.python(code))


class AirflowServices:
    """
    A real scheduler, DAG processor and API server for a ``LocalAirflow`` home, as separate processes.

    Used where ``airflow dags test`` is not enough: scheduled runs, runs triggered with no logical date.
    Everything it starts it stops by process id.
    """

    def __init__(
        self,
        airflow: LocalAirflow,
        *,
        port: int,
        components: tuple[str, ...] = ("api-server", "scheduler", "dag-processor"),
    ) -> None:
        self.airflow = airflow
        self.port = port
        self.components = components
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> AirflowServices:
        logs = self.airflow.home / "service-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for component in self.components:
            args = [str(BIN / "airflow"), component]
            if component == "api-server":
                args += ["--host", "127.0.0.1", "--port", str(self.port)]
            with open(logs / f"{component}.log", "wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        args, env=self.airflow.env, cwd=self.airflow.home, stdout=log, stderr=log
                    )
                )
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def log_tail(self, component: str, chars: int = 4000) -> str:
        return (self.airflow.home / "service-logs" / f"{component}.log").read_text(errors="replace")[-chars:]


def services_env(port: int) -> dict[str, str]:
    """Settings that let a scheduler's workers reach the API server on ``port``."""
    return {
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "local-test-secret-not-for-production",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    }


def _result(stdout: str) -> Any:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT") :])
    raise RuntimeError(f"no result in output:\n{stdout[-3000:]}")
