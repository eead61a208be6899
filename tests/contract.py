"""Contract checks of Stripe requests and responses against Stripe's published OpenAPI description.

The specs live outside the package, at ``../shared/specs`` relative to the repository root (or wherever
``$STRIPE_SYNC_SPECS_DIR`` points). Every function returns ``None`` when they are absent so callers can
skip; otherwise a list of problems (empty when everything conforms).

Notes (see specs/README.md): Stripe marks nullable expandable fields as ``anyOf`` plus ``nullable``, which a
3.0 validator rejects for ``null`` unless ``null`` is added to the ``anyOf``; and form-encoded bracket
parameters are decoded into nested values and coerced to the declared types before validation.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_PROBLEMS_PER_CHECK = 5

#: Resources whose objects must keep the keys of Stripe's fixtures.
FIXTURE_RESOURCES = (
    "customer",
    "product",
    "price",
    "charge",
    "refund",
    "payment_intent",
    "subscription",
    "subscription_item",
    "balance_transaction",
    "event",
    "account",
    "balance",
    "invoice",
    "invoiceitem",
    "line_item",
    "payout",
    "coupon",
    "tax_rate",
)


def specs_dir() -> Path | None:
    """The folder with the vendor specs, or None when it is not there."""
    env = os.environ.get("STRIPE_SYNC_SPECS_DIR")
    folder = Path(env) if env else REPO_ROOT.parent / "shared" / "specs"
    return folder if (folder / "stripe-openapi.json").is_file() else None


@lru_cache(maxsize=1)
def stripe_spec() -> dict[str, Any] | None:
    """Stripe's OpenAPI document with ``anyOf`` + ``nullable`` fixed so ``null`` validates."""
    folder = specs_dir()
    if folder is None:
        return None
    spec = json.loads((folder / "stripe-openapi.json").read_text())
    _fix_nullable(spec)
    return spec


@lru_cache(maxsize=1)
def stripe_fixtures() -> dict[str, Any] | None:
    """Stripe's fixture objects by resource."""
    folder = specs_dir()
    if folder is None or not (folder / "stripe-fixtures3.json").is_file():
        return None
    return json.loads((folder / "stripe-fixtures3.json").read_text())["resources"]


_NULL_MEMBER = {"type": "string", "nullable": True, "enum": [None]}


def _fix_nullable(node: Any) -> None:
    """Let ``null`` through nullable ``anyOf``/``oneOf`` and nullable enums (in place)."""
    if isinstance(node, dict):
        for key in ("anyOf", "oneOf"):
            if node.get("nullable") and isinstance(node.get(key), list) and _NULL_MEMBER not in node[key]:
                node[key].append(dict(_NULL_MEMBER))
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _fix_nullable(value)
    elif isinstance(node, list):
        for value in node:
            _fix_nullable(value)


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], str]]:
    """Path templates as regexes, most specific (fewest parameters) first."""
    spec = stripe_spec() or {"paths": {}}
    routes = []
    for template in spec["paths"]:
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
        routes.append((re.compile(regex), template))
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
    return routes


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The path template and operation serving ``method path``."""
    spec = stripe_spec()
    if spec is None:
        return None
    for regex, template in _routes():
        if regex.match(path) and method.lower() in spec["paths"][template]:
            return template, spec["paths"][template][method.lower()]
    return None


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` inside Stripe's spec."""
    spec = stripe_spec() or {}
    while isinstance(schema, dict) and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@lru_cache(maxsize=512)
def _params_schema(method: str, template: str) -> dict[str, Any]:
    """One object schema holding an operation's query parameters and form body properties."""
    op = (stripe_spec() or {})["paths"][template][method.lower()]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in op.get("parameters", []):
        if param["in"] == "query":
            properties[param["name"]] = param.get("schema", {})
            if param.get("required"):
                required.append(param["name"])
    body = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
    body_schema = _resolve(body.get("schema", {}))
    properties.update(body_schema.get("properties", {}))
    required.extend(body_schema.get("required", []))
    properties.setdefault("expand", {"type": "array", "items": {"type": "string"}})
    return {"type": "object", "properties": properties, "required": sorted(set(required))}


def _validator(schema: dict[str, Any]):
    """An OpenAPI 3.0 validator for ``schema`` that resolves Stripe's component references."""
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    spec = stripe_spec() or {}
    registry = _registry(Registry, Resource, DRAFT4, id(spec))
    return OAS30Validator(
        {**schema, "$id": "urn:x-sandbox:op"} if "$ref" not in schema else schema, registry=registry
    )


@lru_cache(maxsize=2)
def _registry(registry_cls, resource_cls, spec_draft, _key: int):
    """A referencing registry where ``#/components/...`` resolves inside Stripe's spec."""
    spec = stripe_spec() or {}
    resource = resource_cls.from_contents(
        {"components": spec.get("components", {})}, default_specification=spec_draft
    )
    return registry_cls().with_resource("urn:stripe-spec", resource)


def _rebase(node: Any) -> Any:
    """Point local ``#/components`` references at the registered spec document."""
    if isinstance(node, dict):
        return {
            k: (
                "urn:stripe-spec" + v
                if k == "$ref" and isinstance(v, str) and v.startswith("#/")
                else _rebase(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


@lru_cache(maxsize=512)
def _compiled(kind: str, method: str, template: str, status: str):
    """Cached validator of an operation's params (``kind="request"``) or one response schema."""
    if kind == "request":
        return _validator(_rebase(_params_schema(method, template)))
    op = (stripe_spec() or {})["paths"][template][method.lower()]
    responses = op.get("responses", {})
    response = responses.get(status) or responses.get("default")
    if response is None:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return None if schema is None else _validator(_rebase(schema))


def _coerce(schema: dict[str, Any], value: Any) -> Any:
    """Coerce form strings to the types a schema declares (integers, booleans, numbers)."""
    schema = _resolve(schema)
    members = schema.get("anyOf") or schema.get("oneOf")
    if members:
        for member in members:
            coerced = _coerce(member, value)
            if coerced is not value:
                return coerced
        return value
    kind = schema.get("type")
    if isinstance(value, str):
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
        return value
    if isinstance(value, dict) and kind == "object":
        props = schema.get("properties", {})
        return {k: _coerce(props[k], v) if k in props else v for k, v in value.items()}
    if isinstance(value, list) and kind == "array":
        return [_coerce(schema.get("items", {}), v) for v in value]
    return value


def _errors(validator, instance: Any, label: str) -> list[str]:
    """Validation errors as readable lines."""
    problems = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{label}: {where}: {error.message[:300]}")
        if len(problems) >= MAX_PROBLEMS_PER_CHECK:
            break
    return problems


def check_stripe_request(method: str, path: str, params: dict[str, Any]) -> list[str] | None:
    """Problems with a Stripe request's decoded params (unknown, missing required, wrong type)."""
    if stripe_spec() is None:
        return None
    found = find_operation(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in Stripe's spec"]
    template, _op = found
    schema = _params_schema(method.upper(), template)
    problems = [
        f"{method} {path}: unknown parameter {name}" for name in params if name not in schema["properties"]
    ]
    problems += [
        f"{method} {path}: missing required parameter {name}"
        for name in schema["required"]
        if name not in params
    ]
    coerced = _coerce(schema, params)
    validator = _compiled("request", method.upper(), template, "")
    problems += _errors(validator, coerced, f"{method} {template} params")
    return problems


def check_stripe_response(method: str, path: str, status: int, body: Any) -> list[str] | None:
    """Problems with a Stripe response body against the operation's response schema."""
    if stripe_spec() is None:
        return None
    found = find_operation(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in Stripe's spec"]
    validator = _compiled("response", method.upper(), found[0], str(status))
    if validator is None:
        return [f"{method} {found[0]}: no response schema for status {status}"]
    return _errors(validator, body, f"{method} {found[0]} -> {status}")


def check_fixture_keys(resource: str, obj: dict[str, Any]) -> list[str] | None:
    """Keys of Stripe's fixture object for ``resource`` that ``obj`` lacks."""
    fixtures = stripe_fixtures()
    if fixtures is None:
        return None
    if obj.get("deleted"):
        return []
    expected = fixtures.get(resource)
    if expected is None:
        return [f"no fixture for resource {resource}"]
    return [f"{resource} {obj.get('id')}: missing key {key}" for key in expected if key not in obj]


def objects_in(body: Any) -> list[dict[str, Any]]:
    """Every Stripe object (with a fixture) inside a response body, including nested ones."""
    found: list[dict[str, Any]] = []
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("object") in FIXTURE_RESOURCES and not node.get("deleted"):
                found.append(node)
            stack.extend(v for k, v in node.items() if k != "previous_attributes")
        elif isinstance(node, list):
            stack.extend(node)
    return found


def check_logged_requests(log: list[dict[str, Any]]) -> list[str] | None:
    """Run the request, response and fixture-key checks over a sandbox request log."""
    if stripe_spec() is None:
        return None
    problems: list[str] = []
    for entry in log:
        if entry.get("api", "stripe") != "stripe" or not str(entry.get("path", "")).startswith("/v1/"):
            continue
        method, path, status = entry["method"], entry["path"], entry["status"]
        if status < 400:
            params = {**copy.deepcopy(entry.get("query") or {}), **copy.deepcopy(entry.get("form") or {})}
            problems += check_stripe_request(method, path, params) or []
        problems += check_stripe_response(method, path, status, entry.get("body")) or []
        if status < 400:
            for obj in objects_in(entry.get("body")):
                problems += check_fixture_keys(obj["object"], obj) or []
    return problems
