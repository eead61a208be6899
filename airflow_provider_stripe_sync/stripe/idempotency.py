"""
Deterministic idempotency keys.

The same write, repeated by a retry or a re-run, must carry the same key and byte-identical
parameters; a different write must carry a different key. Keys are built from a scope (the task run,
or a business key such as a sign-up id), the method and the canonical JSON of the parameters, and are
hashed so they stay far below Stripe's 255-character limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

#: Stripe's limit on an ``Idempotency-Key``.
MAX_KEY_LENGTH = 255


def canonical_json(params: Mapping[str, Any]) -> str:
    """Return ``params`` as JSON with sorted keys and no spaces: one text per meaning."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def idempotency_key(*, scope: Sequence[Any], method: str, params: Mapping[str, Any]) -> str:
    """
    Return the key for one write.

    :param scope: what makes this write unique besides its parameters: the task run
        (dag id, task id, run id, map index) or a business key (``("signup", "su_123")``).
    :param method: the connector method (``customers.create``); keys differ per method.
    :param params: the request's parameters, canonicalised before hashing.
    """
    material = canonical_json({"scope": [str(part) for part in scope], "method": method, "params": params})
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    key = f"stripe-sync-{method}-{digest}"
    return key[:MAX_KEY_LENGTH]
