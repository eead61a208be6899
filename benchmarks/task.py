"""
One List New operator in a process of its own, as Airflow runs a task:
``python -m benchmarks.task URL RESOURCE START END OUTPUT [ACCOUNT] [--wait]``.

Prints one JSON line: the objects written, when listing started and ended (epoch seconds), and the
process's peak resident set size. With ``--wait`` it lists an empty window first, prints ``ready``
and waits for a line on stdin, so that several tasks start listing together, start-up excluded.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import cpu_seconds, run_list_operator, use_stripe_connection, warm_up


def main(argv: list[str]) -> int:
    wait = "--wait" in argv
    args = [arg for arg in argv if arg != "--wait"]
    url, name, start, end, output_uri = args[0], args[1], int(args[2]), int(args[3]), args[4]
    account = args[5] if len(args) > 5 else None
    use_stripe_connection("bench_task", url)
    if wait:
        # Before the start signal: a task's start-up is not listing.
        warm_up("bench_task", output_uri, account)
        print("ready", flush=True)
        sys.stdin.readline()
    started, cpu = time.time(), cpu_seconds()
    result = run_list_operator(
        name, (start, end), conn_id="bench_task", output_uri=output_uri, account=account
    )
    ended, cpu = time.time(), cpu_seconds() - cpu
    # ru_maxrss is in kilobytes on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"count": result["count"], "started": started, "ended": ended, "cpu_seconds": cpu}
    print(json.dumps({**summary, "peak_rss_mb": peak_mb}))
    return 0


def _command(url: str, name: str, window: tuple[int, int], output_uri: str, account: str | None) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.task", url, name, str(window[0]), str(window[1]), output_uri]
    return command + ([account] if account else [])


def _result(process: subprocess.Popen, name: str) -> dict[str, Any]:
    out, err = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise RuntimeError(f"the {name} task failed: {err[-3000:]}")
    return json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))


def run_task(url: str, name: str, window: tuple[int, int], output_uri: str) -> dict[str, Any]:
    """Run one task process to the end; its figures, with ``seconds`` listing."""
    process = subprocess.Popen(
        _command(url, name, window, output_uri, None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    result = _result(process, name)
    return {**result, "seconds": result["ended"] - result["started"]}


def run_tasks_together(
    url: str, names: list[str], window: tuple[int, int], output_uri: str, account: str
) -> dict[str, Any]:
    """Start one task process per resource, let them all begin at once; the whole run's figures."""
    processes = {
        name: subprocess.Popen(
            [*_command(url, name, window, output_uri, account), "--wait"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    }
    for name, process in processes.items():
        # Operator logs may come first on stdout.
        line = "start"
        while line and line.strip() != "ready":
            line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise RuntimeError(f"the {name} task did not start: {_result(process, name)}")
    for process in processes.values():
        if process.stdin:
            process.stdin.write("go\n")
            process.stdin.flush()
    results = {name: _result(process, name) for name, process in processes.items()}
    started = min(result["started"] for result in results.values())
    ended = max(result["ended"] for result in results.values())
    count = sum(result["count"] for result in results.values())
    return {
        "count": count,
        "seconds": ended - started,
        "objects_per_second": count / (ended - started),
        "each": {name: result["count"] for name, result in results.items()},
        "client_cpu_seconds": sum(result["cpu_seconds"] for result in results.values()),
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
