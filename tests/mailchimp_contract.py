"""Contract checks of the sandbox's Mailchimp answers against Mailchimp's OpenAPI description.

Reads ``mailchimp-marketing-openapi.json`` from the same specs folder as ``tests/contract.py``;
returns ``None`` when it is absent so callers can skip, else a list of problems.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from tests.contract import specs_dir

SPEC_FILE = "mailchimp-marketing-openapi.json"
MAX_PROBLEMS_PER_CHECK = 5


@lru_cache(maxsize=1)
def mailchimp_spec() -> dict[str, Any] | None:
    folder = specs_dir()
    if folder is None or not (folder / SPEC_FILE).is_file():
        return None
    return json.loads((folder / SPEC_FILE).read_text())


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], str]]:
    spec = mailchimp_spec() or {"paths": {}}
    routes = []
    for template in spec["paths"]:
        regex = "^/3\\.0" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "/?$"
        routes.append((re.compile(regex), template))
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
    return routes


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema of an answer, or ``None`` when the spec has no such operation or body."""
    spec = mailchimp_spec()
    if spec is None:
        return None
    for regex, template in _routes():
        operation = spec["paths"][template].get(method.lower())
        if regex.match(path) and operation:
            responses = operation["responses"]
            answer = responses.get(str(status)) or responses.get("default") or {}
            content = answer.get("content") or {}
            body = content.get("application/json") or content.get("application/problem+json")
            return body["schema"] if body else None
    return None


def check_response(method: str, path: str, status: int, body: Any) -> list[str] | None:
    """Validate one answer's body; a 204 must have none."""
    import jsonschema

    if mailchimp_spec() is None:
        return None
    if status == 204:
        return [] if body is None else [f"{method} {path}: 204 with a body"]
    schema = response_schema(method, path, status)
    if schema is None:
        return [f"{method} {path} {status}: no such operation or response in the spec"]
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{method} {path} {status}: {'/'.join(map(str, err.path))}: {err.message}"
        for err in list(validator.iter_errors(body))[:MAX_PROBLEMS_PER_CHECK]
    ]


def check_mailchimp_log(log: list[dict[str, Any]]) -> list[str] | None:
    """Check every Mailchimp answer of a sandbox request log."""
    if mailchimp_spec() is None:
        return None
    problems: list[str] = []
    for entry in log:
        if entry.get("api") != "mailchimp":
            continue
        problems += check_response(entry["method"], entry["path"], entry["status"], entry.get("body")) or []
    return problems
