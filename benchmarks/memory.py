"""
Peak memory of the List New operator: ``python -m benchmarks.memory URL START END OUTPUT``.

Runs the charges operator over ``[START, END)`` against the sandbox at ``URL`` in this process and
prints one JSON line: the objects written and the process's peak resident set size. Each size runs
in a fresh process, so that one run's peak cannot hide another's.
"""

from __future__ import annotations

import json
import resource
import sys

from benchmarks.common import run_list_operator, use_stripe_connection


def main(argv: list[str]) -> int:
    url, start, end, output_uri = argv[0], int(argv[1]), int(argv[2]), argv[3]
    use_stripe_connection("bench_memory", url)
    result = run_list_operator("charges", (start, end), conn_id="bench_memory", output_uri=output_uri)
    # ru_maxrss is in kilobytes on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"count": result["count"], "seconds": result["seconds"], "peak_rss_mb": peak_mb}))
    return 0


def measure(url: str, window: tuple[int, int], output_uri: str) -> dict[str, float]:
    """Run :func:`main` in a fresh interpreter and return what it printed."""
    import subprocess

    command = [sys.executable, "-m", "benchmarks.memory", url, str(window[0]), str(window[1]), output_uri]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory run failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
