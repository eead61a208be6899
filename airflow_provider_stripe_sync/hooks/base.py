"""What every hook of this provider does the same way: read extras from an allow-list, check hosts."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: The extra that lets a connection point at a plain-http host that is not on loopback
#: (a sandbox inside docker compose, say).
ALLOW_INSECURE_HOST = "allow_insecure_host"


def connection_extras(
    extra: str | Mapping[str, Any] | None,
    *,
    allowed: Mapping[str, type | tuple[type, ...]],
    conn_id: str,
) -> dict[str, Any]:
    """
    Return a connection's extras, checked against an allow-list of keys and types.

    Unknown keys, wrong types and invalid JSON are errors that name the key and the connection,
    so a typo never silently falls back to a default.

    :param extra: ``Connection.extra`` (JSON text) or ``extra_dejson``.
    :param allowed: each accepted key with the type(s) its value may have.
    :param conn_id: the connection's id, for error messages.
    """
    if extra is None or extra == "":
        return {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError as err:
            # err.doc is the extra itself, which may hold a secret: only the position is shown.
            raise ValueError(
                f"Connection {conn_id!r}: extra is not valid JSON ({err.msg} at line {err.lineno} column "
                f"{err.colno}). Write it as one JSON object with double-quoted keys, such as "
                '{"key": "value"}, or leave it empty.'
            ) from None
    if not isinstance(extra, Mapping):
        raise ValueError(
            f'Connection {conn_id!r}: extra must be a JSON object such as {{"key": "value"}}, '
            f"got a JSON {type(extra).__name__}."
        )

    unknown = sorted(set(extra) - set(allowed))
    if unknown:
        raise ValueError(
            f"Connection {conn_id!r}: unknown extra field(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(allowed))}. Remove or rename the unknown ones (a typo would "
            "otherwise fall back to a default silently)."
        )
    checked: dict[str, Any] = {}
    for key, value in extra.items():
        if value is None or value == "":
            continue
        expected = allowed[key]
        if isinstance(value, bool) and bool not in _as_tuple(expected):
            raise ValueError(
                f"Connection {conn_id!r}: extra {key!r} must be {_type_names(expected)}, got a bool. "
                f"Fix the value of {key!r} in the connection's extra, or remove it."
            )
        if not isinstance(value, expected):
            value = _coerce(value, expected, key, conn_id)
        checked[key] = value
    return checked


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _type_names(expected: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(expected))


_SENSITIVE = ("secret", "token", "password", "key")


def _shown(key: str, value: Any) -> str:
    # An error message must not carry a secret, even a malformed one.
    if any(word in key.lower() for word in _SENSITIVE):
        name = type(value).__name__
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name} (value hidden)"
    return repr(value)


def _coerce(value: Any, expected: type | tuple[type, ...], key: str, conn_id: str) -> Any:
    # The UI's form stores numbers and booleans typed; AIRFLOW_CONN_ URIs store them as text.
    types = _as_tuple(expected)
    if isinstance(value, str):
        text = value.strip()
        if bool in types and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if int in types:
            try:
                return int(text)
            except ValueError:
                pass
        if float in types:
            try:
                return float(text)
            except ValueError:
                pass
    raise ValueError(
        f"Connection {conn_id!r}: extra {key!r} must be {_type_names(expected)}, got {_shown(key, value)}. "
        f"Fix the value of {key!r} in the connection's extra, or remove it."
    )


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def api_base_url(
    host: str | None,
    *,
    default: str,
    allow_insecure: bool,
    conn_id: str,
    port: int | None = None,
) -> str:
    """
    Return the API base URL: ``default``, or the connection's ``host`` when set.

    A host override must be https, or plain http on loopback (the local sandbox); anything else is
    refused unless the connection opts in with the ``allow_insecure_host`` extra, because it would
    send credentials in clear text. A host without a scheme is https, or http on loopback; ``port``
    (the connection's port field) is added when the host names none.
    """
    if not host:
        return default
    url = host.strip().rstrip("/")
    if "://" not in url:
        hostname = urlsplit("//" + url).hostname or ""
        url = ("http://" if _is_loopback(hostname) else "https://") + url
    parts = urlsplit(url)
    if port and parts.port is None:
        url = url.replace(parts.netloc, f"{parts.netloc}:{port}", 1)
        parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Connection {conn_id!r}: host {host!r} is not an http(s) URL.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure:
        raise ValueError(
            f"Connection {conn_id!r}: host {url} is plain http on a non-loopback address, which would "
            f"send credentials in clear text. Use https, or set the extra {ALLOW_INSECURE_HOST!r} to "
            "true for a trusted local network (a sandbox inside docker compose)."
        )
    return url
