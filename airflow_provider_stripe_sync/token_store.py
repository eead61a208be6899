"""
Where rotating OAuth tokens live so that every worker reads the newest one.

Airflow 3 tasks cannot write connections, so a token that rotates (Xero's refresh tokens, Stripe
Apps' access and refresh tokens) is kept in an Airflow Variable whose key contains ``token``: the log
masker hides it and the metadata database encrypts it at rest. A process-wide lock per key
serialises refreshes within a process; across processes, a hook that loses the race re-reads the
Variable once.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


def lock_for(key: str) -> threading.Lock:
    """Return the process-wide lock of one token key."""
    with _registry_lock:
        return _locks.setdefault(key, threading.Lock())


def fingerprint(token: str) -> str:
    """A short, one-way mark of a token, to tell whether it changed without storing it twice."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class TokenStore(Protocol):
    """Where the current token lives, readable and writable by every worker."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class VariableTokenStore:
    """
    Keep tokens in Airflow Variables (encrypted at rest with the Fernet key).

    :param description: the Variable's description, shown in the UI.
    """

    def __init__(self, description: str = "OAuth token, rotated by the provider. Do not edit.") -> None:
        self.description = description

    def get(self, key: str) -> str | None:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)

    def set(self, key: str, value: str) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value, description=self.description)


class MemoryTokenStore:
    """Keep tokens in this process only (tests, scripts); shared by the hooks given it."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value
