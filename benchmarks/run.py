"""
``make bench``: every benchmark in one run, as ratios, written to ``benchmarks/RESULTS.md``.

1. 200,000 charges listed by ``StripeListNewChargesOperator`` from a sandbox answering each request
   after 300 ms and refusing (429) more than 25 requests/s per endpoint and 100/s per account; as a
   ratio to that ceiling (25 x 100 objects/s) and to a naive single-threaded ``auto_paging_iter``
   loop over the same window.
2. Four resources (customers, charges, subscriptions, balance transactions; 50,000 each, in one
   connected account) listed at once under the same limits, by four task processes as Airflow runs
   four tasks of a pool (and, for comparison, by four threads of one process): the account's 100
   requests/s bind, so the ceiling is 10,000 objects/s.
3. Peak resident memory of the list operator writing 20,000 and 200,000 charges, each in a fresh process.
4. Parse time of each example DAG file beyond Airflow's own import, and the provider's import time.

``python -m benchmarks.run --smoke`` runs the same code at a tiny size in seconds (the tests do);
``--results PATH`` writes the report elsewhere.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import parse, task, throughput
from benchmarks.common import (
    OCTOBER,
    cpu_seconds,
    machine,
    sandbox_process,
    use_stripe_connection,
    warm_up,
)

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

#: Stripe's limits, as the sandbox emulates them.
ENDPOINT_LIMIT = 25
ACCOUNT_LIMIT = 100
PAGE = 100

#: The four resources of benchmark 2, in their own connected account.
FOUR = ["customers", "charges", "subscriptions", "balance_transactions"]
FOUR_ACCOUNT = "acct_1BenchFourRes"


@dataclass(frozen=True)
class Size:
    charges: int
    each_of_four: int
    small_window_days: float
    latency: float


FULL = Size(charges=200_000, each_of_four=50_000, small_window_days=3.1, latency=0.3)
SMOKE = Size(charges=1_200, each_of_four=300, small_window_days=3.1, latency=0.02)


def run(size: Size, output_dir: str, log=print) -> dict[str, Any]:
    """Run the four benchmarks; return every figure."""
    figures: dict[str, Any] = {}
    args = ["--bulk", f"charges={size.charges}", "--bulk-window", f"{OCTOBER[0]}:{OCTOBER[1]}"]
    args += ["--latency", str(size.latency), "--endpoint-rate", str(ENDPOINT_LIMIT)]
    args += ["--account-rate", str(ACCOUNT_LIMIT)]
    started = time.monotonic()
    with sandbox_process(args) as sandbox:
        figures["seed_seconds"] = time.monotonic() - started
        log(f"sandbox up with {size.charges} charges in {figures['seed_seconds']:.1f} s")
        use_stripe_connection("bench_stripe", sandbox.url)
        warm_up("bench_stripe", output_dir)

        log("1. one resource, concurrent ...")
        before = _sandbox_snapshot(sandbox)
        one = throughput.list_one("charges", OCTOBER, conn_id="bench_stripe", output_uri=output_dir)
        one.update(_sandbox_share(_sandbox_snapshot(sandbox), before))
        figures["one"] = one
        log(f"   {one['count']} charges in {one['seconds']:.1f} s: {one['objects_per_second']:.0f}/s")

        log("1. one resource, naive auto_paging_iter loop ...")
        before = _sandbox_snapshot(sandbox)
        naive = throughput.naive_loop(sandbox.url, OCTOBER)
        naive.update(_sandbox_share(_sandbox_snapshot(sandbox), before))
        figures["naive"] = naive
        log(f"   {naive['count']} charges in {naive['seconds']:.1f} s: {naive['objects_per_second']:.0f}/s")

        log("2. four resources at once, one task process each ...")
        seeded = time.monotonic()
        for resource in FOUR:
            sandbox.seed_bulk(resource, size.each_of_four, *OCTOBER, account=FOUR_ACCOUNT)
        figures["four_seed_seconds"] = time.monotonic() - seeded
        before = _sandbox_snapshot(sandbox)
        four = task.run_tasks_together(sandbox.url, FOUR, OCTOBER, output_dir, FOUR_ACCOUNT)
        four.update(_sandbox_share(_sandbox_snapshot(sandbox), before))
        figures["four"] = four
        log(f"   {four['count']} objects in {four['seconds']:.1f} s: {four['objects_per_second']:.0f}/s")

        log("2. four resources at once, threads of one process ...")
        before = _sandbox_snapshot(sandbox)
        threads = throughput.list_many(
            FOUR, OCTOBER, conn_id="bench_stripe", output_uri=output_dir, account=FOUR_ACCOUNT
        )
        threads.update(_sandbox_share(_sandbox_snapshot(sandbox), before))
        threads["each"] = {name: result["count"] for name, result in threads["each"].items()}
        figures["four_threads"] = threads
        log(
            f"   {threads['count']} objects in {threads['seconds']:.1f} s: {threads['objects_per_second']:.0f}/s"
        )

        log("3. peak memory of the list operator ...")
        sandbox.set_limits(latency=0)
        small = (OCTOBER[0], OCTOBER[0] + int(size.small_window_days * 86400))
        figures["memory_small"] = task.run_task(sandbox.url, "charges", small, output_dir)
        figures["memory_full"] = task.run_task(sandbox.url, "charges", OCTOBER, output_dir)
        log(f"   {figures['memory_small']} / {figures['memory_full']}")

    log("4. parse and import times ...")
    figures["parse"] = {path.name: parse.parse_dag_file(path) for path in parse.example_dag_files()}
    figures["import"] = parse.provider_import()
    figures["expected"] = {"charges": size.charges, "four": size.each_of_four * len(FOUR)}
    figures["size"] = size.__dict__
    return figures


def _difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after}


def _sandbox_snapshot(sandbox: Any) -> dict[str, Any]:
    limits = sandbox.limits()
    return {"throttled": limits["throttled"], "requests": limits["requests"], "cpu": cpu_seconds(sandbox.pid)}


def _sandbox_share(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What the sandbox did during one phase: 429s sent, requests answered, CPU seconds used."""
    return {
        "sandbox_429s": _difference(after["throttled"], before["throttled"]),
        "requests": after["requests"] - before["requests"],
        "sandbox_cpu_seconds": after["cpu"] - before["cpu"],
    }


def report(figures: dict[str, Any], *, command: str, started: datetime.datetime, seconds: float) -> str:
    """The results as Markdown: ratios first, then the raw figures they come from."""
    one, naive, four = figures["one"], figures["naive"], figures["four"]
    threads = figures["four_threads"]
    small, full = figures["memory_small"], figures["memory_full"]
    expected = figures["expected"]
    endpoint_ceiling = ENDPOINT_LIMIT * PAGE
    account_ceiling = ACCOUNT_LIMIT * PAGE
    latency_ms = figures["size"]["latency"] * 1000
    lines = [
        "# Benchmark results",
        "",
        f"- date: {started.isoformat(timespec='seconds')}",
        f"- machine: {machine_line}" if (machine_line := figures.get("machine")) else "- machine: unknown",
        f"- command: `{command}` ({seconds / 60:.1f} minutes)",
        f"- sandbox: {latency_ms:.0f} ms per request, {ENDPOINT_LIMIT} requests/s per endpoint and "
        f"{ACCOUNT_LIMIT}/s per account, 429 above them; client defaults for a live key",
        "",
        "| # | figure | measured | ratio | target |",
        "|---|---|---|---|---|",
        f"| 1 | {one['count']:,} charges, concurrent list operator | {one['objects_per_second']:,.0f} objects/s "
        f"| {one['objects_per_second'] / endpoint_ceiling:.1%} of the {endpoint_ceiling:,}/s endpoint ceiling "
        "| ≥ 85% |",
        f"| 1 | same window, naive `auto_paging_iter` loop | {naive['objects_per_second']:,.0f} objects/s "
        f"| concurrent is {one['objects_per_second'] / naive['objects_per_second']:.1f}× the naive loop | ≥ 5× |",
        f"| 2 | {four['count']:,} objects, four resources at once, one task process each | {four['objects_per_second']:,.0f} objects/s "
        f"| {four['objects_per_second'] / account_ceiling:.1%} of the {account_ceiling:,}/s account ceiling "
        "| ≥ 80% |",
        f"| 2 | same, as threads of one process (one interpreter lock) "
        f"| {threads['objects_per_second']:,.0f} objects/s "
        f"| {threads['objects_per_second'] / account_ceiling:.1%} of the account ceiling | |",
        f"| 3 | peak RSS, list operator, {small['count']:,} charges | {small['peak_rss_mb']:.0f} MB | | |",
        f"| 3 | peak RSS, list operator, {full['count']:,} charges | {full['peak_rss_mb']:.0f} MB "
        f"| {full['peak_rss_mb'] / small['peak_rss_mb']:.2f}× the smaller run | ≤ 1.3× |",
    ]
    for name, parsed in figures["parse"].items():
        sdk = ", ".join(parsed["sdk_modules"]) or "no SDK"
        lines.append(
            f"| 4 | parse `dags/{name}` beyond Airflow | {parsed['seconds'] * 1000:.0f} ms | "
            f"imports {sdk} | < 200 ms, no SDK |"
        )
    imported = figures["import"]
    lines.append(
        f"| 4 | import the provider package / its operators and sensors | "
        f"{imported['package_seconds'] * 1000:.1f} ms / {imported['operators_seconds'] * 1000:.0f} ms | "
        f"imports {', '.join(imported['sdk_modules']) or 'no SDK'} | |"
    )
    checks = [
        f"- benchmark 1 listed {one['count']:,} of {expected['charges']:,} charges, the naive loop "
        f"{naive['count']:,}; benchmark 2 listed {four['count']:,} of {expected['four']:,} objects "
        f"({json.dumps(four['each'])}), and {threads['count']:,} as threads of one process.",
        "- 429s the sandbox sent (the client absorbed them by waiting and retrying; none reached the "
        f"caller, or the run would have failed): concurrent {json.dumps(one['sandbox_429s'])}, naive "
        f"{json.dumps(naive['sandbox_429s'])}, four resources {json.dumps(four['sandbox_429s'])} as processes and "
        f"{json.dumps(threads['sandbox_429s'])} as threads.",
        f"- seconds: seeding {figures['seed_seconds']:.1f} (charges, with the sandbox's start) and "
        f"{figures['four_seed_seconds']:.1f} (four resources); listing {one['seconds']:.1f} concurrent, "
        f"{naive['seconds']:.1f} naive, {four['seconds']:.1f} four resources ({threads['seconds']:.1f} as "
        f"threads); memory runs {small['seconds']:.1f} and {full['seconds']:.1f} (no latency; the client's "
        "23 requests/s per endpoint).",
    ]
    checks.append(
        "- CPU per request (client / sandbox, milliseconds; a request carries up to 100 objects): "
        + "; ".join(
            f"{label} {_per_request(run['client_cpu_seconds'], run)} / "
            f"{_per_request(run['sandbox_cpu_seconds'], run)} over {run['requests']:,} requests"
            for label, run in (
                ("concurrent", one),
                ("naive", naive),
                ("four processes", four),
                ("four threads", threads),
            )
        )
        + ". Client and sandbox share this machine's CPUs with each other and with whatever else runs."
    )
    return "\n".join([*lines, "", *checks, ""])


def _per_request(seconds: float, run: dict[str, Any]) -> str:
    return f"{seconds / run['requests'] * 1000:.1f}" if run.get("requests") else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[1])
    parser.add_argument("--smoke", action="store_true", help="a tiny run of the same code, in seconds")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    about_machine = machine()
    with tempfile.TemporaryDirectory() as output_dir:
        figures = run(SMOKE if args.smoke else FULL, output_dir)
    figures["machine"] = about_machine
    command = "make bench" if not args.smoke else "python -m benchmarks.run --smoke"
    text = report(figures, command=command, started=started, seconds=time.monotonic() - clock)
    args.results.write_text(text)
    print(text)
    print(f"(written to {args.results}; raw figures below)")
    print(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
