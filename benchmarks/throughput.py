"""Listing throughput: one resource at its endpoint's limit, four at the account's, a naive loop."""

from __future__ import annotations

import threading
import time
from typing import Any

from benchmarks.common import LIVE_KEY, cpu_seconds, run_list_operator


def list_one(resource: str, window: tuple[int, int], *, conn_id: str, output_uri: str) -> dict[str, Any]:
    """The List New operator over one window; ``objects_per_second`` is what the figures compare."""
    cpu = cpu_seconds()
    result = run_list_operator(resource, window, conn_id=conn_id, output_uri=output_uri)
    cpu = cpu_seconds() - cpu
    return {**result, "objects_per_second": result["count"] / result["seconds"], "client_cpu_seconds": cpu}


def list_many(
    resources: list[str], window: tuple[int, int], *, conn_id: str, output_uri: str, account: str
) -> dict[str, Any]:
    """
    The List New operators of several resources at once, one thread each, in one process: they share
    the process's limiter for the account, as tasks sharing a worker would.
    """
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run(resource: str) -> None:
        try:
            results[resource] = run_list_operator(
                resource, window, conn_id=conn_id, output_uri=output_uri, account=account
            )
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(resource,)) for resource in resources]
    started, cpu = time.monotonic(), cpu_seconds()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
    if errors:
        raise errors[0]
    count = sum(result["count"] for result in results.values())
    return {
        "count": count,
        "seconds": seconds,
        "objects_per_second": count / seconds,
        "each": results,
        "client_cpu_seconds": cpu,
    }


def naive_loop(url: str, window: tuple[int, int]) -> dict[str, Any]:
    """What most scripts do: one thread, ``auto_paging_iter``, a ``StripeObject`` per object."""
    import stripe

    client = stripe.StripeClient(LIVE_KEY, base_addresses={"api": url})
    params = {"created": {"gte": window[0], "lt": window[1]}, "limit": 100}
    started, cpu = time.monotonic(), cpu_seconds()
    count = 0
    for _charge in client.v1.charges.list(params=params).auto_paging_iter():
        count += 1
    seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
    return {
        "count": count,
        "seconds": seconds,
        "objects_per_second": count / seconds,
        "client_cpu_seconds": cpu,
    }
