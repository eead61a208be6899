"""Run the sandbox in a background thread and drive its admin API (standard library only).

Usage::

    with SandboxServer() as sandbox:
        client = StripeClient("sk_test_x", base_addresses={"api": sandbox.url})
        sandbox.seed(stripe={"customers": [{"email": "a@example.com", "created": 1700000000}]})
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["SandboxAdmin", "SandboxServer", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a free TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SandboxAdmin:
    """A small client for the ``/_sandbox`` admin routes of a running sandbox."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """Send one admin request and return the decoded JSON answer."""
        url = f"{self.url}/_sandbox{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")
            raise RuntimeError(f"sandbox admin {method} {path} failed: {err.code} {detail}") from None

    def health(self) -> dict[str, Any]:
        """``GET /_sandbox/health``."""
        return self._call("GET", "/health")

    def reset(self) -> dict[str, Any]:
        """Forget everything (objects, clock, faults, request log)."""
        return self._call("POST", "/reset", {})

    def seed(
        self,
        stripe: dict[str, list[dict[str, Any]]] | None = None,
        hubspot: dict[str, list[dict[str, Any]]] | None = None,
        account: str | None = None,
        **scenario: Any,
    ) -> dict[str, Any]:
        """Seed objects (``stripe={...}``, ``hubspot={...}``) or a scenario (``scenario="demo", seed=7, ...``)."""
        body: dict[str, Any] = {"account": account}
        if stripe:
            body["stripe"] = stripe
        if hubspot:
            body["hubspot"] = hubspot
        body.update(scenario)
        return self._call("POST", "/seed", body)

    def seed_bulk(
        self, resource: str, count: int, start: int, end: int, *, seed: int = 1, account: str | None = None
    ) -> dict[str, Any]:
        """Make ``count`` copies of one object of ``resource`` created in ``[start, end)``, fast."""
        body = {"resource": resource, "count": count, "start": start, "end": end, "seed": seed}
        return self._call("POST", "/seed/bulk", {**body, "account": account})

    def set_limits(self, **settings: Any) -> dict[str, Any]:
        """Set ``latency`` (seconds), ``account_rate`` and ``endpoint_rate`` (requests/s; None: off)."""
        return self._call("POST", "/limits", settings)

    def limits(self) -> dict[str, Any]:
        """The latency and rate limits, and how many requests each limit refused."""
        return self._call("GET", "/limits")

    def clock(self) -> int:
        """The sandbox time (epoch seconds)."""
        return self._call("GET", "/clock")["now"]

    def set_clock(self, epoch: float) -> int:
        """Freeze the clock at ``epoch``."""
        return self._call("POST", "/clock", {"now": epoch})["now"]

    def advance(self, seconds: float) -> int:
        """Move the clock forward."""
        return self._call("POST", "/clock", {"advance": seconds})["now"]

    def add_fault(
        self,
        path: str,
        status: int = 500,
        *,
        api: str = "stripe",
        method: str | None = None,
        code: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        **extra: Any,
    ) -> list[dict[str, Any]]:
        """Queue a fault for matching requests; returns the queue."""
        spec = {
            "api": api,
            "path": path,
            "status": status,
            "method": method,
            "code": code,
            "times": times,
            "headers": headers or {},
            **extra,
        }
        if body is not None:
            spec["body"] = body
        return self._call("POST", "/faults", spec)["faults"]

    def faults(self) -> list[dict[str, Any]]:
        """The queued faults."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        """Drop all queued faults."""
        self._call("DELETE", "/faults")

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        return self._call("GET", "/requests")["requests"]

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "/requests")

    def state(self, account: str | None = None, resources: list[str] | None = None) -> dict[str, Any]:
        """Every object (one Stripe partition, plus HubSpot); ``resources`` limits the Stripe resources."""
        query = {"account": account, "resources": ",".join(resources) if resources else None}
        return self._call("GET", "/state", query=query)


class SandboxServer(SandboxAdmin):
    """Context manager running the sandbox with uvicorn in a background thread on a free loopback port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port or free_port(host)
        super().__init__(f"http://{host}:{self.port}", timeout)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.sandbox: Any = None

    def start(self) -> SandboxServer:
        """Start serving and wait until the sandbox answers."""
        import uvicorn

        from airflow_provider_stripe_sync.sandbox.app import Sandbox

        self.sandbox = Sandbox()
        config = uvicorn.Config(
            self.sandbox.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            date_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="stripe-sync-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
