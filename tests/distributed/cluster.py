"""
A distributed Airflow on one machine, as separate processes: what ``make test-distributed`` runs.

PostgreSQL (Debian's, as the ``postgres`` user when started by root) holds the metadata; Redis is
the Celery broker; moto in server mode is the S3-compatible store for record files; the sandbox is a
process of its own. Airflow's API server, scheduler, DAG processor, triggerer and two Celery workers
each run in a folder of their own (their own ``AIRFLOW_HOME`` and working directory); the workers
report different hostnames through ``[core] hostname_callable``. Everything is started in its own
process group and stopped by that process id, on success and on failure.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from airflow_provider_stripe_sync.sandbox.testing import SandboxAdmin, free_port
from scripts.local_airflow import BIN, REPO, LocalAirflow, sandbox_connections

BUCKET = "stripe-sync-records"
OUTPUT_URI = f"s3://aws_default@{BUCKET}/sync"
WORKERS = ("worker-1", "worker-2")
#: The Celery queue each worker consumes: Stripe list tasks on worker-1, everything else on worker-2.
LIST_QUEUE = "stripe_lists"
QUEUES = {"worker-1": LIST_QUEUE, "worker-2": "default"}
ADMIN_USER = "admin"
#: Stopped after the Airflow processes that use them.
INFRASTRUCTURE = ("postgres", "redis", "object-store", "sandbox")

#: Each worker's hostname, from its own folder: the task instances record where they ran.
HOSTNAME_MODULE = '''"""This Celery worker's hostname, as Airflow records it on the task instances it runs."""

import socket


def hostname():
    return socket.gethostname() + "-{name}"
'''


#: A cluster policy for the DAG processor: every task that writes Stripe records goes to worker-1's
#: queue, so each task that reads them runs on the other worker and can only find them in the store.
POLICY_MODULE = f'''"""Route the Stripe list tasks to their own Celery queue."""


def task_policy(task):
    if task.task_id.startswith("list_"):
        task.queue = "{LIST_QUEUE}"
'''


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM


@dataclass
class Cluster:
    """Start and stop the processes; hold what the tests need to reach them."""

    root: Path
    services: list[Service] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    api_url: str = ""
    sandbox_url: str = ""
    s3_url: str = ""
    pg_dsn: str = ""
    password: str = ""
    homes: dict[str, LocalAirflow] = field(default_factory=dict)

    # -- processes -------------------------------------------------------------------------------

    def start(
        self,
        name: str,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> Service:
        """Start ``args`` in its own process group, logging to ``logs/<name>.log``."""
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                args,
                env=env or self.plain_env(),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                group=pwd.getpwnam(user).pw_gid if user else None,
                extra_groups=[] if user else None,
            )
        service = Service(name, process, log, stop_signal)
        self.services.append(service)
        return service

    def stop(self) -> None:
        """Stop every started process group by its process id: Airflow first, then what it uses."""
        airflow = [s for s in self.services if s.name not in INFRASTRUCTURE]
        rest = [s for s in self.services if s.name in INFRASTRUCTURE]
        for group in (airflow, list(reversed(rest))):
            for service in group:
                if service.process.poll() is None:
                    _signal_group(service.process.pid, service.stop_signal)
            deadline = time.monotonic() + 45
            for service in group:
                try:
                    service.process.wait(timeout=max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal_group(service.process.pid, signal.SIGKILL)
                    service.process.wait(timeout=10)
                # Children left behind in the group (task runners, Celery pool processes).
                _signal_group(service.process.pid, signal.SIGKILL)
        self.services.clear()

    def check_alive(self) -> None:
        for service in self.services:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited {service.process.returncode}:\n{self.tail(service.name)}"
                )

    def tail(self, name: str, chars: int = 4000) -> str:
        return (self.root / "logs" / f"{name}.log").read_text(errors="replace")[-chars:]

    def plain_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
        env["NO_PROXY"] = "*"
        return env

    # -- the parts -------------------------------------------------------------------------------

    def start_postgres(self) -> None:
        """initdb a fresh cluster owned by a non-root user and serve it on a free loopback port."""
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not binaries:
            raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql")
        bindir = Path(binaries[-1])
        user = "postgres" if os.geteuid() == 0 else None
        # Outside the pytest folder: the postgres user must be able to reach it.
        data = Path(tempfile.mkdtemp(prefix="stripe-sync-pg-"))
        self.pg_data = data
        pwfile = data / "pwfile"
        self.pg_password = secrets.token_urlsafe(16)
        if user:
            pw = pwd.getpwnam(user)
            os.chown(data, pw.pw_uid, pw.pw_gid)
        (data / "db").mkdir()
        pwfile.write_text(self.pg_password)
        if user:
            os.chown(data / "db", pw.pw_uid, pw.pw_gid)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data / "db"), "-U", "airflow", "--pwfile", str(pwfile),
             "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, user=user, cwd=data,
            group=pw.pw_gid if user else None, extra_groups=[] if user else None,
        )  # fmt: skip
        port = free_port()
        self.start(
            "postgres",
            [str(bindir / "postgres"), "-D", str(data / "db"), "-p", str(port), "-k", str(data),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
            cwd=data, user=user, stop_signal=signal.SIGINT,
        )  # fmt: skip
        self.pg_user = user or pwd.getpwuid(os.geteuid()).pw_name
        base = f"airflow:{self.pg_password}@127.0.0.1:{port}"
        _wait(lambda: _pg_ready(f"postgresql://{base}/postgres"), 60, "PostgreSQL", self, "postgres")
        import psycopg2

        conn = psycopg2.connect(f"postgresql://{base}/postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE airflow")
        conn.close()
        self.pg_dsn = f"postgresql://{base}/airflow"

    def start_redis(self) -> None:
        port = free_port()
        folder = self.root / "redis"
        folder.mkdir()
        self.start(
            "redis",
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)],
            cwd=folder,
        )  # fmt: skip
        _wait(lambda: _tcp_open(port), 30, "Redis", self, "redis")
        self.redis_url = f"redis://127.0.0.1:{port}/0"

    def start_object_store(self) -> None:
        import boto3

        port = free_port()
        folder = self.root / "object-store"
        folder.mkdir()
        self.start("object-store", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], cwd=folder)
        self.s3_url = f"http://127.0.0.1:{port}"
        _wait(lambda: _http_ok(self.s3_url + "/moto-api/"), 60, "the object store", self, "object-store")
        self.s3 = boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            aws_access_key_id="local-trial",
            aws_secret_access_key="local-trial-secret",
            region_name="us-east-1",
        )
        self.s3.create_bucket(Bucket=BUCKET)

    def start_sandbox(self) -> SandboxAdmin:
        folder = self.root / "sandbox"
        folder.mkdir()
        port = free_port()
        self.start(
            "sandbox",
            [str(BIN / "stripe-sync-sandbox"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
        )
        self.sandbox_url = f"http://127.0.0.1:{port}"
        _wait(lambda: _http_ok(self.sandbox_url + "/_sandbox/health"), 60, "the sandbox", self, "sandbox")
        return SandboxAdmin(self.sandbox_url)

    def airflow_env(self, api_port: int) -> dict[str, str]:
        """The settings every Airflow process shares (one deployment's configuration)."""
        from cryptography.fernet import Fernet

        store = {
            "conn_type": "aws",
            "login": "local-trial",
            "password": "local-trial-secret",
            "extra": {"endpoint_url": self.s3_url, "region_name": "us-east-1"},
        }
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.pg_dsn.replace(
                "postgresql://", "postgresql+psycopg2://"
            ),
            "AIRFLOW__CELERY__BROKER_URL": self.redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + self.pg_dsn.replace("postgresql://", "postgresql+psycopg2://"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.root / "passwords.json"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # Only the runs the test triggers: no scheduled run appears when a DAG is unpaused.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            # Record files go where every worker reads them.
            "AIRFLOW__STRIPE_SYNC__OUTPUT_URI": OUTPUT_URI,
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(store),
        }

    def start_airflow(self) -> None:
        api_port = free_port()
        self.env = self.airflow_env(api_port)
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.password = secrets.token_urlsafe(12)
        (self.root / "passwords.json").write_text(json.dumps({ADMIN_USER: self.password}))
        connections = sandbox_connections(self.sandbox_url)

        def home(name: str, extra: dict[str, str] | None = None) -> LocalAirflow:
            airflow = LocalAirflow(
                self.root / name, connections=connections, extra_env={**self.env, **(extra or {})}
            )
            airflow.home.mkdir(parents=True, exist_ok=True)
            self.homes[name] = airflow
            return airflow

        home("init").migrate()
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer"],
        }
        for name, args in commands.items():
            airflow = home(name)
            if name == "dag-processor":
                # $AIRFLOW_HOME/config is on Airflow's sys.path: airflow_local_settings is found there.
                (airflow.home / "config").mkdir()
                (airflow.home / "config" / "airflow_local_settings.py").write_text(POLICY_MODULE)
            self.start(name, [str(BIN / "airflow"), *args], env=airflow.env, cwd=airflow.home)
        for name in WORKERS:
            folder = self.root / name
            folder.mkdir()
            (folder / "stripe_sync_worker_identity.py").write_text(HOSTNAME_MODULE.format(name=name))
            airflow = home(
                name,
                {
                    "PYTHONPATH": str(folder),
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "stripe_sync_worker_identity.hostname",
                },
            )
            self.start(
                name,
                [str(BIN / "airflow"), "celery", "worker", "--celery-hostname", f"{name}@%h",
                 "--concurrency", "2", "--skip-serve-logs", "--queues", QUEUES[name]],
                env=airflow.env, cwd=airflow.home,
            )  # fmt: skip
        _wait(
            lambda: _http_ok(self.api_url + "/api/v2/monitor/health"),
            180,
            "the API server",
            self,
            "api-server",
        )


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(predicate: Any, timeout: float, what: str, cluster: Cluster, log: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        cluster.check_alive()
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not start in {timeout:.0f} s:\n{cluster.tail(log)}")


def _tcp_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code < 500
    except requests.RequestException:
        return False


def _pg_ready(dsn: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(dsn, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["BUCKET", "LIST_QUEUE", "OUTPUT_URI", "QUEUES", "REPO", "WORKERS", "Cluster", "remove"]
