"""Stripe's bracket encoding of form bodies and query strings, decoded into nested values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

_KEY_RE = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """Split ``items[0][price]`` into ``["items", "0", "price"]`` (``a[]`` gives ``["a", ""]``)."""
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    return [head] + _KEY_RE.findall("[" + rest)


def _insert(root: dict, parts: list[str], value: str) -> None:
    """Insert one decoded pair into the nested dict tree (lists are dicts keyed by index for now)."""
    node = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":
            part = str(len(node))
        if last:
            if part in node and not isinstance(node[part], dict):
                existing = node[part]
                node[part] = (existing if isinstance(existing, list) else [existing]) + [value]
            else:
                node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def _listify(value: Any) -> Any:
    """Turn dicts whose keys are all integers into lists ordered by index."""
    if not isinstance(value, dict):
        return value
    out = {k: _listify(v) for k, v in value.items()}
    if out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode ``(key, value)`` pairs with bracket keys into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, split_key(key), value)
    return {k: _listify(v) for k, v in root.items()}


def decode_qs(text: str) -> dict[str, Any]:
    """Decode a query string or a form-encoded body."""
    return decode_pairs(parse_qsl(text, keep_blank_values=True))


def encode_params(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Encode nested params the way Stripe's SDKs do (used by tests and the admin client)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_encode_value(name, value))
    return pairs


def _encode_value(name: str, value: Any) -> list[tuple[str, str]]:
    """Encode one value under ``name``."""
    if isinstance(value, dict):
        return encode_params(value, name)
    if isinstance(value, (list, tuple)):
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            pairs.extend(_encode_value(f"{name}[{i}]", item))
        return pairs
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    if value is None:
        return [(name, "")]
    return [(name, str(value))]


def canonical(params: Any) -> str:
    """Return a stable text form of decoded params, for comparing idempotent requests."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
