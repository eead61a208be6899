"""
The fault suite: every list and destination operator under random fault mixes, checked against the
sandbox's ground truth, plus tasks killed with SIGKILL mid-write and retried.

    python -m tests.faults.suite --seeds 8          # what `make test-faults` runs
    python -m tests.faults.suite --seeds 200        # `make faults SEEDS=200`

For each seed and scenario, the sandbox is reset and seeded, a random mix of faults (429s,
``lock_timeout``, 5xx, slow, truncated, reset and lost answers, some starting mid-run, sometimes an
outage longer than the retries) is queued on the routes the operator calls, and the operator runs
as a task would: up to three tries, each a fresh ``execute()``. A try that fails must fail with a
provider error whose message names the cause. Then the sandbox's state is compared with the ground
truth: every record once, none twice, none unasked for. Retry waits are shortened and client
timeouts lowered so that many seeds run in minutes; what is retried, and how often, is unchanged.

The table goes to stdout; the exit status is 1 if anything was lost, doubled, stray or failed
without naming its cause.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.scenarios import KILL_ROUTES, SCENARIOS, Scenario

#: Client timeouts in the suite, and how late a slow answer comes.
CLIENT_TIMEOUT = 2.0
SLOW_DELAY = 3.0
#: How long the answer a SIGKILL interrupts is held back (the task dies while waiting for it).
KILL_HOLD = 8.0
TRIES = 3

STATUS_FAULTS = {
    "stripe": [(429, "rate_limit"), (429, "lock_timeout"), (500, None), (503, None)],
    "hubspot": [(429, None), (500, None), (502, None)],
    "mailchimp": [(429, None), (500, None), (503, None)],
    "xero": [(429, "minute"), (500, None), (503, None)],
}
KINDS = ["status"] * 4 + ["slow"] + ["truncated"] * 2 + ["reset"] * 2 + ["lost_response"] * 2
#: What a failed try's message must contain: a status, or what went wrong on the wire.
CAUSE = re.compile(r"HTTP \d{3}|no answer|timed out|cut short|[Cc]onnection|failed after \d+ attempts")


@dataclass
class Row:
    """One line of the table: a scenario's totals over all seeds."""

    scenarios: int = 0
    faults: int = 0
    records: int = 0
    losses: int = 0
    duplicates: int = 0
    strays: int = 0
    failed_tries: int = 0
    unnamed: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.losses + self.duplicates + self.strays + self.unnamed


# -- making the run fast and the faults random ----------------------------------------------------


@contextlib.contextmanager
def sped_up() -> Iterator[None]:
    """Shorten retry waits and client timeouts meanwhile; the retry decisions stay the real ones."""
    from airflow_provider_stripe_sync.hooks.hubspot import HubSpotHook
    from airflow_provider_stripe_sync.hooks.mailchimp import MailchimpHook
    from airflow_provider_stripe_sync.hooks.stripe import StripeHook
    from airflow_provider_stripe_sync.hooks.xero import XeroHook
    from airflow_provider_stripe_sync.stripe.retry import RetryPolicy

    patches = [
        (RetryPolicy, "delay", lambda self, retry_number, err: 0.01),
        (HubSpotHook, "_wait", lambda self, kind, retry_number, err: 0.01),
        (MailchimpHook, "_wait", lambda self, retry_number, failure: 0.01),
        (XeroHook, "_wait", lambda self, retry_number, err, rate_limited: 0.01),
        (StripeHook, "request_timeout", CLIENT_TIMEOUT),
    ]
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    timeouts = [hook.__init__.__kwdefaults__ for hook in (HubSpotHook, MailchimpHook, XeroHook)]
    saved_timeouts = [defaults["request_timeout"] for defaults in timeouts]
    for owner, name, value in patches:
        setattr(owner, name, value)
    for defaults in timeouts:
        defaults["request_timeout"] = CLIENT_TIMEOUT
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
        for defaults, value in zip(timeouts, saved_timeouts, strict=True):
            defaults["request_timeout"] = value


@contextlib.contextmanager
def logs_to(path: Path) -> Iterator[Any]:
    """Send stdout and stderr (the operators' logs) to ``path`` meanwhile; yield the real stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    table_out = os.fdopen(os.dup(1), "w")
    log_file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_file, 1)
    os.dup2(log_file, 2)
    os.close(log_file)
    try:
        yield table_out
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        table_out.close()


def fault_mix(rng: random.Random, scenario: Scenario) -> list[dict[str, Any]]:
    """A random mix of faults on the scenario's routes."""
    faults = []
    for _ in range(rng.randint(1, 5)):
        api, method, path = rng.choice(scenario.routes)
        fault: dict[str, Any] = {
            "api": api,
            "method": method,
            "path": path,
            "kind": rng.choice(KINDS),
            "times": rng.choice([1, 1, 1, 2]),
            "after": rng.choice([0, 0, 1, 2, 5]),
        }
        if fault["kind"] == "status":
            fault["status"], fault["code"] = rng.choice(STATUS_FAULTS[api])
            if fault["status"] == 429:
                fault["headers"] = {"Retry-After": "0"}
        elif fault["kind"] == "slow":
            fault["delay"] = SLOW_DELAY
        faults.append(fault)
    if rng.random() < 0.25:
        # An outage that outlasts one request's retries: that try fails, a later one gets through.
        api, method, path = rng.choice(scenario.routes)
        faults.append({"api": api, "method": method, "path": path, "status": 503, "times": 7})
    return faults


def queue(sandbox: Any, faults: list[dict[str, Any]]) -> None:
    for fault in faults:
        spec = dict(fault)
        sandbox.add_fault(spec.pop("path"), spec.pop("status", 500), **spec)


def injected(sandbox: Any) -> int:
    return sum(1 for entry in sandbox.requests() if entry.get("fault"))


# -- running scenarios ---------------------------------------------------------------------------


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def fresh_token_store() -> Iterator[None]:
    """A new in-process Xero token store per scenario (the sandbox forgets its tokens on reset)."""
    from airflow_provider_stripe_sync.hooks import xero as xero_hooks
    from airflow_provider_stripe_sync.token_store import MemoryTokenStore

    store = MemoryTokenStore()
    saved = xero_hooks.VariableTokenStore
    xero_hooks.VariableTokenStore = lambda: store
    try:
        yield
    finally:
        xero_hooks.VariableTokenStore = saved


def run_tries(scenario: Scenario, row: Row, first_try: int = 1) -> bool:
    """Run the operator until a try succeeds or the tries run out; check each failure's message."""
    from airflow_provider_stripe_sync.exceptions import DestinationError, StripeRequestError

    for try_number in range(first_try, TRIES + 1):
        try:
            scenario.run(try_number)
            return True
        except Exception as err:
            row.failed_tries += 1
            message = str(err)
            if not isinstance(err, (StripeRequestError, DestinationError)) or not CAUSE.search(message):
                row.unnamed += 1
                detail = "".join(traceback.format_exception_only(type(err), err)).strip()
                row.problems.append(f"try {try_number} failed without naming the cause: {detail[:300]}")
    row.problems.append(f"all {TRIES} tries failed")
    row.unnamed += 1
    return False


def record(scenario: Scenario, row: Row, succeeded: bool, label: str) -> None:
    check = scenario.check()
    row.scenarios += 1
    row.faults += injected(scenario.sandbox)
    row.records += check.records
    # Without a successful try, missing records are the failure's, not losses: the failure counts.
    if succeeded:
        row.losses += len(check.losses)
    row.duplicates += len(check.duplicates)
    row.strays += len(check.strays)
    for name, keys in (("lost", check.losses if succeeded else []), ("doubled", check.duplicates)):
        if keys:
            row.problems.append(f"{label}: {name} {len(keys)}: {', '.join(keys[:5])}")
    if check.strays:
        row.problems.append(f"{label}: stray {', '.join(check.strays[:5])}")


def timed(run: Any) -> Any:
    def wrapper(sandbox: Any, name: str, seed: int, row: Row, workdir: Path) -> None:
        started = time.monotonic()
        try:
            run(sandbox, name, seed, row, workdir)
        finally:
            row.seconds += time.monotonic() - started

    return wrapper


@timed
def run_scenario(sandbox: Any, name: str, seed: int, row: Row, workdir: Path) -> None:
    rng = random.Random(f"{name}:{seed}")
    sandbox.reset()
    scenario = SCENARIOS[name](sandbox, workdir)
    with environment(scenario.environment()), fresh_token_store():
        scenario.prepare()
        sandbox.clear_requests()
        queue(sandbox, fault_mix(rng, scenario))
        succeeded = run_tries(scenario, row)
        sandbox.clear_faults()
        record(scenario, row, succeeded, f"{name} seed {seed}")


@timed
def run_killed(sandbox: Any, name: str, seed: int, row: Row, workdir: Path) -> None:
    """
    Run the operator in a real process, SIGKILL it while the answer to a write it sent (and the
    sandbox applied) is on its way, then retry the task in this process under a new fault mix.
    """
    rng = random.Random(f"kill:{name}:{seed}")
    sandbox.reset()
    scenario = SCENARIOS[name](sandbox, workdir)
    api, method, path, most_before = KILL_ROUTES[name]
    with environment(scenario.environment()), fresh_token_store():
        scenario.prepare()
        sandbox.clear_requests()
        writes_before_kill = rng.randint(0, most_before)
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.child", name, str(workdir), sandbox.url],
            env={**os.environ, **scenario.environment()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            killed = _kill_mid_write(sandbox, child, api, method, path, writes_before_kill)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)
        label = f"{name} seed {seed} (SIGKILL)"
        if not killed:
            error = (child.stderr.read() or b"").decode("utf-8", "replace")[-500:] if child.stderr else ""
            row.problems.append(f"{label}: the task ended (rc {child.returncode}) before the kill: {error}")
            row.unnamed += 1
        if child.stderr:
            child.stderr.close()
        sandbox.clear_faults()
        queue(sandbox, fault_mix(rng, scenario))
        succeeded = run_tries(scenario, row, first_try=2)
        sandbox.clear_faults()
        record(scenario, row, succeeded, label)


def _kill_mid_write(
    sandbox: Any, child: subprocess.Popen, api: str, method: str, path: str, after: int
) -> bool:
    """Once ``after`` writes landed, hold the next write's answer back and SIGKILL the task meanwhile."""
    deadline = time.monotonic() + 120
    held = False
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        writes = [
            r
            for r in sandbox.requests()
            if r["api"] == api and r["method"] == method and r["path"].startswith(path)
        ]
        if not held and len(writes) >= after:
            sandbox.add_fault(path, api=api, method=method, kind="slow", delay=KILL_HOLD)
            held = True
        if held and any(r.get("fault") == "slow" for r in writes):
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            return child.returncode == -signal.SIGKILL
        time.sleep(0.005)
    return False


# -- the table -------------------------------------------------------------------------------------


def table(rows: dict[str, Row]) -> str:
    headers = (
        "scenario",
        "scenarios",
        "faults injected",
        "records checked",
        "losses",
        "duplicates",
        "strays",
        "failed tries",
        "unnamed failures",
        "seconds",
    )
    total = Row()
    lines = []
    for name, row in rows.items():
        lines.append(_cells(name, row))
        for attr in (
            "scenarios",
            "faults",
            "records",
            "losses",
            "duplicates",
            "strays",
            "failed_tries",
            "unnamed",
            "seconds",
        ):
            setattr(total, attr, getattr(total, attr) + getattr(row, attr))
    lines.append(_cells("total", total))
    widths = [max(len(str(cells[i])) for cells in [headers, *lines]) for i in range(len(headers))]

    def fmt(cells: tuple[Any, ...]) -> str:
        return "  ".join(
            str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(cells)
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(headers), rule, *(fmt(cells) for cells in lines[:-1]), rule, fmt(lines[-1])])


def _cells(name: str, row: Row) -> tuple[Any, ...]:
    return (
        name,
        row.scenarios,
        row.faults,
        row.records,
        row.losses,
        row.duplicates,
        row.strays,
        row.failed_tries,
        row.unnamed,
        f"{row.seconds:.0f}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds per scenario (default 8)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL scenarios")
    parser.add_argument("--log", default=".tmp/fault-suite.log", help="where the operators' logs go")
    args = parser.parse_args(argv)

    # The operators' logs and the retries' warnings would drown the table; failures are in it.
    with logs_to(Path(args.log)) as out, sped_up():
        rows, elapsed = run_all(args)
        lines = [f"Fault suite: seeds {args.first_seed}..{args.first_seed + args.seeds - 1}, {elapsed:.0f} s"]
        lines.append(table(rows))
        problems = [(name, p) for name, row in rows.items() for p in row.problems]
        bad = sum(row.bad for row in rows.values())
        lines += [f"  {name}: {problem}" for name, problem in problems[:50]]
        if bad:
            lines.append(
                f"FAILED: {bad} losses, duplicates, strays or failures without a cause (logs: {args.log})."
            )
        else:
            lines.append("OK: nothing lost, nothing doubled; every failed try named its cause.")
        out.write("\n".join(lines) + "\n")
        out.flush()
    return 1 if bad else 0


def run_all(args: argparse.Namespace) -> tuple[dict[str, Row], float]:
    from airflow_provider_stripe_sync.sandbox.testing import SandboxServer

    names = args.only or list(SCENARIOS)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows = {name: Row() for name in names}
    kill_names = [] if args.no_kill else [n for n in names if n in KILL_ROUTES]
    rows.update({f"{name} + SIGKILL": Row() for name in kill_names})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stripe-sync-faults-") as tmp, SandboxServer() as sandbox:
        for seed in seeds:
            for name in names:
                run_scenario(sandbox, name, seed, rows[name], Path(tmp) / f"{name}-{seed}")
            if kill_names:
                # One killed task per seed, taking the scenarios in turn.
                name = kill_names[seed % len(kill_names)]
                run_killed(sandbox, name, seed, rows[f"{name} + SIGKILL"], Path(tmp) / f"kill-{name}-{seed}")
    return rows, time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
