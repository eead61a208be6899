"""The benchmark code at a tiny size, so that ``make bench`` cannot rot between runs."""

from __future__ import annotations

import datetime

import pytest

from benchmarks import task, throughput
from benchmarks.common import OCTOBER, machine, use_stripe_connection, warm_up
from benchmarks.run import FOUR, FOUR_ACCOUNT, SMOKE, report

pytestmark = pytest.mark.integration


def test_throughput_benchmarks_list_every_object_and_report_ratios(sandbox, tmp_path):
    sandbox.set_limits(latency=0.01, endpoint_rate=25, account_rate=100)
    sandbox.seed_bulk("charges", 600, *OCTOBER)
    for resource in FOUR:
        sandbox.seed_bulk(resource, 150, *OCTOBER, account=FOUR_ACCOUNT)
    use_stripe_connection("bench_stripe", sandbox.url)
    warm_up("bench_stripe", str(tmp_path))

    one = throughput.list_one("charges", OCTOBER, conn_id="bench_stripe", output_uri=str(tmp_path))
    naive = throughput.naive_loop(sandbox.url, OCTOBER)
    threads = throughput.list_many(
        FOUR, OCTOBER, conn_id="bench_stripe", output_uri=str(tmp_path), account=FOUR_ACCOUNT
    )

    assert (one["count"], naive["count"], threads["count"]) == (600, 600, 600)
    assert {name: result["count"] for name, result in threads["each"].items()} == dict.fromkeys(FOUR, 150)
    sandbox_share = {
        "sandbox_429s": {"account": 0, "endpoint": 0},
        "requests": 8,
        "sandbox_cpu_seconds": 0.04,
    }
    figures = {
        "one": {**one, **sandbox_share},
        "naive": {**naive, **sandbox_share},
        "four": {**threads, "each": dict.fromkeys(FOUR, 150), **sandbox_share},
        "four_threads": {**threads, "each": dict.fromkeys(FOUR, 150), **sandbox_share},
        "memory_small": {"count": 100, "seconds": 1.0, "peak_rss_mb": 150.0},
        "memory_full": {"count": 600, "seconds": 2.0, "peak_rss_mb": 165.0},
        "parse": {"stripe_xero_reconciliation.py": {"seconds": 0.05, "sdk_modules": []}},
        "import": {"package_seconds": 0.0001, "operators_seconds": 0.02, "sdk_modules": []},
        "expected": {"charges": 600, "four": 600},
        "size": SMOKE.__dict__,
        "seed_seconds": 1.0,
        "four_seed_seconds": 0.1,
        "machine": machine(),
    }
    text = report(figures, command="pytest", started=datetime.datetime(2026, 12, 4), seconds=60)

    ratio = one["objects_per_second"] / 2500
    assert f"| 1 | 600 charges, concurrent list operator | {one['objects_per_second']:,.0f} objects/s" in text
    assert f"{ratio:.1%} of the 2,500/s endpoint ceiling" in text
    assert "| 3 | peak RSS, list operator, 600 charges | 165 MB | 1.10× the smaller run | ≤ 1.3× |" in text
    assert (
        "| 4 | parse `dags/stripe_xero_reconciliation.py` beyond Airflow | 50 ms | imports no SDK |" in text
    )
    assert "- date: 2026-12-04T00:00:00" in text and "- command: `pytest` (1.0 minutes)" in text
    client_ms = one["client_cpu_seconds"] / 8 * 1000
    assert f"concurrent {client_ms:.1f} / 5.0 over 8 requests" in text


def test_task_processes_start_together_and_report_their_peak_memory(sandbox, tmp_path):
    for resource in ("customers", "charges"):
        sandbox.seed_bulk(resource, 120, *OCTOBER, account=FOUR_ACCOUNT)
    sandbox.seed_bulk("charges", 250, *OCTOBER)

    together = task.run_tasks_together(
        sandbox.url, ["customers", "charges"], OCTOBER, str(tmp_path), FOUR_ACCOUNT
    )
    alone = task.run_task(sandbox.url, "charges", OCTOBER, str(tmp_path))

    assert together["count"] == 240
    assert together["each"] == {"customers": 120, "charges": 120}
    assert together["seconds"] > 0
    assert alone["count"] == 250
    assert alone["peak_rss_mb"] > 50
