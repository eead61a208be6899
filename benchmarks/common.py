"""What the benchmarks share: a sandbox in its own process, a Stripe connection to it, a task context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from airflow_provider_stripe_sync.sandbox.testing import SandboxAdmin

#: The bulk objects' window: October 2026, 31 days.
OCTOBER = (1790812800, 1793491200)

#: A live-mode key, so that the client takes its live-mode defaults (90 requests/s per account).
LIVE_KEY = "sk_live_benchmark"


@contextmanager
def sandbox_process(args: Sequence[str] = ()) -> Iterator[SandboxAdmin]:
    """
    Run ``stripe-sync-sandbox`` in a process of its own (it must not share the client's interpreter
    lock), with ``args`` (``--bulk``, ``--latency``...), and stop it afterwards.
    """
    command = [sys.executable, "-m", "airflow_provider_stripe_sync.sandbox.cli", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = (process.stdout.readline() if process.stdout else "").strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start (exit code {process.wait(timeout=10)})")
        admin = SandboxAdmin(url, timeout=120)
        admin.pid = process.pid
        deadline = time.monotonic() + 30
        while True:
            try:
                admin.health()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield admin
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def use_stripe_connection(conn_id: str, url: str, **extras: Any) -> None:
    """Point the Airflow connection ``conn_id`` (an ``AIRFLOW_CONN_*`` variable) at the sandbox."""
    connection = {"conn_type": "stripe", "password": LIVE_KEY, "host": url, "extra": extras}
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)


def task_context(task_id: str) -> dict[str, Any]:
    """The little of a task context the list operators read (no data interval: windows are explicit)."""
    ti = SimpleNamespace(
        dag_id="benchmark",
        task_id=task_id,
        run_id="manual__benchmark",
        map_index=-1,
        try_number=1,
        xcom_push=lambda key, value: None,
    )
    return {"ti": ti, "run_id": "manual__benchmark"}


def run_list_operator(
    resource: str, window: tuple[int, int], *, conn_id: str, output_uri: str, account: str | None = None
) -> dict[str, Any]:
    """Run the List New operator of ``resource`` over ``window``; return its summary and seconds."""
    from airflow_provider_stripe_sync.operators.stripe import StripeListNewObjectsOperator

    operator = StripeListNewObjectsOperator(
        task_id=f"list_{resource}",
        resource=resource,
        stripe_conn_id=conn_id,
        stripe_account=account,
        window_start=window[0],
        window_end=window[1],
        lookback=0,
        output_uri=output_uri,
    )
    started = time.monotonic()
    summary = operator.execute(task_context(operator.task_id))
    return {**summary, "seconds": time.monotonic() - started}


def warm_up(conn_id: str, output_uri: str, account: str | None = None) -> None:
    """
    List an empty window once, so that the first timed run does not pay for importing the SDK and
    what the operator loads on first use: that is a task's start-up, not listing.
    """
    run_list_operator("charges", (0, 1), conn_id=conn_id, output_uri=output_uri, account=account)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user and system) a process has used so far: this one, or ``pid`` (Linux)."""
    if pid is None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    """One line about this machine: CPUs, memory, Python and the load when the run started."""
    import platform

    cpus = os.cpu_count()
    try:
        with open("/proc/meminfo") as meminfo:
            total_kb = int(meminfo.readline().split()[1])
        memory = f"{total_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = "RAM unknown"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, {memory}, "
        f"Python {platform.python_version()}, load average at start {load}"
    )
