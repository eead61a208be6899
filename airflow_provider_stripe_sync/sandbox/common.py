"""Request and response types shared by the sandbox's API modules."""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field
from typing import Any

_ALNUM = string.ascii_letters + string.digits
_request_rng = random.SystemRandom()


def request_id() -> str:
    """A unique Stripe-style request id (independent of the seeded id source)."""
    return "req_" + "".join(_request_rng.choice(_ALNUM) for _ in range(14))


@dataclass
class SandboxRequest:
    """One decoded API request."""

    method: str
    path: str
    query: dict[str, Any]
    form: dict[str, Any]
    json: Any
    headers: dict[str, str]
    request_id: str = field(default_factory=request_id)

    def header(self, name: str) -> str | None:
        """Return a header value (case-insensitive)."""
        return self.headers.get(name.lower())


@dataclass
class ApiResponse:
    """What an API module answers: status, JSON body and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: A network fault (``sandbox/faults.py``) that spoils this answer on its way out.
    fault_kind: str | None = None
    #: The body already encoded, when it had to be taken as it was at answer time.
    raw: bytes | None = None

    def encoded(self) -> bytes:
        """The body as JSON bytes."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":")).encode()
