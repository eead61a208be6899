"""Shared in-memory state of the sandbox: clock, ids, faults, request log and per-API stores."""

from __future__ import annotations

import base64
import random
import string
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any

from airflow_provider_stripe_sync.sandbox.faults import DEFAULT_SLOW_DELAY, SLOW, check_kind

_BASE62 = string.digits + string.ascii_letters

#: How many requests the log keeps (oldest are dropped first).
REQUEST_LOG_SIZE = 5000


class Clock:
    """The sandbox clock: real time until set, then frozen at the set value until changed."""

    def __init__(self) -> None:
        self._frozen: float | None = None

    def now(self) -> int:
        """Return the current sandbox time as integer epoch seconds."""
        return int(self.now_float())

    def now_float(self) -> float:
        """Return the current sandbox time as float epoch seconds."""
        return self._frozen if self._frozen is not None else time.time()

    def now_datetime(self) -> datetime:
        """Return the current sandbox time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now_float(), tz=timezone.utc)

    def set(self, epoch: float) -> None:
        """Freeze the clock at ``epoch``."""
        self._frozen = float(epoch)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (freezing it at real time plus ``seconds`` when not yet set)."""
        self._frozen = self.now_float() + float(seconds)

    def reset(self) -> None:
        """Go back to real time."""
        self._frozen = None

    @property
    def frozen(self) -> bool:
        """Whether the clock was set."""
        return self._frozen is not None


class IdFactory:
    """Makes Stripe-style ids (``cus_`` + 14 base62 characters) from a replaceable random source."""

    def __init__(self) -> None:
        self.rng: random.Random = random.Random()

    def make(self, prefix: str, length: int = 14) -> str:
        """Return a new id with ``prefix``."""
        return "{}_{}".format(prefix, "".join(self.rng.choice(_BASE62) for _ in range(length)))

    def token(self, length: int = 24) -> str:
        """Return a random base62 token."""
        return "".join(self.rng.choice(_BASE62) for _ in range(length))


class Fault:
    """One queued fault: matches requests by API, method and path prefix, ``times`` times."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.api: str = spec.get("api", "stripe")
        self.method: str | None = (spec.get("method") or "").upper() or None
        self.path: str = spec.get("path") or ""
        self.status: int = int(spec.get("status", 500))
        self.code: str | None = spec.get("code")
        self.message: str | None = spec.get("message")
        self.times: int = int(spec.get("times", 1))
        self.headers: dict[str, str] = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        self.body: Any = spec.get("body")
        self.policy: str | None = spec.get("policyName") or spec.get("policy")
        self.delay: float = float(spec.get("delay", 0) or 0)
        self.account: str | None = spec.get("account")
        # "status" answers with the status above; the network kinds of sandbox/faults.py apply the
        # request and then spoil its answer (slow, truncated, reset, lost_response).
        self.kind: str = check_kind(spec.get("kind"))
        if self.kind == SLOW and not self.delay:
            self.delay = DEFAULT_SLOW_DELAY
        # Matching requests let through before the fault starts: a fault on the third page, say.
        self.after: int = int(spec.get("after", 0) or 0)

    def matches(self, api: str, method: str, path: str, account: str | None = None) -> bool:
        """Whether this fault applies to a request (``account`` limits it to one Stripe-Account)."""
        if self.times <= 0 or api != self.api:
            return False
        if self.account and self.account != account:
            return False
        if self.method and self.method != method.upper():
            return False
        return path == self.path or path.startswith(self.path)

    def as_dict(self) -> dict[str, Any]:
        """Describe the fault (for the admin API)."""
        return {
            "api": self.api,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "code": self.code,
            "times": self.times,
            "headers": self.headers,
            "body": self.body,
            "account": self.account,
            "delay": self.delay,
            "kind": self.kind,
            "after": self.after,
        }


class SandboxState:
    """Everything the sandbox remembers, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.ids = IdFactory()
        self.faults: list[Fault] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self._request_seq = 0
        self.apis: dict[str, Any] = {}

    def register(self, name: str, api_state: Any) -> None:
        """Attach one API's state object (it must have ``reset()``)."""
        self.apis[name] = api_state

    def reset(self) -> None:
        """Forget everything: objects, clock, faults and the request log."""
        with self.lock:
            self.clock.reset()
            self.ids.rng = random.Random()
            self.faults.clear()
            self.requests.clear()
            for api_state in self.apis.values():
                api_state.reset()

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        """Queue a fault."""
        with self.lock:
            fault = Fault(spec)
            self.faults.append(fault)
            return fault

    def take_fault(self, api: str, method: str, path: str, account: str | None = None) -> Fault | None:
        """Consume the first queued fault matching a request, if any."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(api, method, path, account):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def log_request(self, entry: dict[str, Any]) -> None:
        """Append one request to the bounded log."""
        with self.lock:
            self._request_seq += 1
            entry["seq"] = self._request_seq
            self.requests.append(entry)


def redact_authorization(value: str | None) -> str | None:
    """Reduce an Authorization header to its scheme and key prefix (``Bearer sk_test_…``)."""
    if not value:
        return value
    scheme, _, credential = value.partition(" ")
    if scheme.lower() == "basic":
        try:
            credential = base64.b64decode(credential.strip()).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return "Basic …"
    prefix = credential
    for candidate in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"):
        if credential.startswith(candidate):
            prefix = candidate
            break
    else:
        prefix = credential[:4]
    return f"{scheme} {prefix}…"
