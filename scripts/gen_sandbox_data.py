"""Generate the sandbox's compact Stripe data from the vendor specs.

Reads ``stripe-openapi.json`` and ``stripe-fixtures3.json`` (from ``../shared/specs`` relative to the
repository root, or ``$STRIPE_SYNC_SPECS_DIR``) and writes
``airflow_provider_stripe_sync/sandbox/data/stripe_spec.json`` holding, for the operations the sandbox
serves, the parameters Stripe accepts (with their simple types and nested keys), the expandable fields of
each resource and object templates taken from Stripe's fixtures. The package reads only that file at run
time, so it never needs the specs folder.

Usage: ``python scripts/gen_sandbox_data.py``
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "airflow_provider_stripe_sync" / "sandbox" / "data" / "stripe_spec.json"

#: The (method, path template) pairs the sandbox serves.
OPERATIONS = [
    ("GET", "/v1/customers"),
    ("POST", "/v1/customers"),
    ("GET", "/v1/customers/{customer}"),
    ("POST", "/v1/customers/{customer}"),
    ("DELETE", "/v1/customers/{customer}"),
    ("GET", "/v1/products"),
    ("POST", "/v1/products"),
    ("GET", "/v1/products/{id}"),
    ("POST", "/v1/products/{id}"),
    ("DELETE", "/v1/products/{id}"),
    ("GET", "/v1/prices"),
    ("POST", "/v1/prices"),
    ("GET", "/v1/prices/{price}"),
    ("POST", "/v1/prices/{price}"),
    ("GET", "/v1/charges"),
    ("POST", "/v1/charges"),
    ("GET", "/v1/charges/{charge}"),
    ("POST", "/v1/charges/{charge}"),
    ("GET", "/v1/refunds"),
    ("POST", "/v1/refunds"),
    ("GET", "/v1/refunds/{refund}"),
    ("POST", "/v1/refunds/{refund}"),
    ("GET", "/v1/payment_intents"),
    ("POST", "/v1/payment_intents"),
    ("GET", "/v1/payment_intents/{intent}"),
    ("POST", "/v1/payment_intents/{intent}"),
    ("POST", "/v1/payment_intents/{intent}/confirm"),
    ("GET", "/v1/subscriptions"),
    ("POST", "/v1/subscriptions"),
    ("GET", "/v1/subscriptions/{subscription_exposed_id}"),
    ("POST", "/v1/subscriptions/{subscription_exposed_id}"),
    ("DELETE", "/v1/subscriptions/{subscription_exposed_id}"),
    ("GET", "/v1/balance_transactions"),
    ("GET", "/v1/balance_transactions/{id}"),
    ("GET", "/v1/events"),
    ("GET", "/v1/events/{id}"),
    ("GET", "/v1/account"),
    ("GET", "/v1/accounts"),
    ("GET", "/v1/accounts/{account}"),
    ("GET", "/v1/balance"),
    ("POST", "/v1/charges/{charge}/capture"),
    ("POST", "/v1/payment_intents/{intent}/capture"),
    ("GET", "/v1/invoices"),
    ("POST", "/v1/invoices"),
    ("GET", "/v1/invoices/{invoice}"),
    ("POST", "/v1/invoices/{invoice}"),
    ("DELETE", "/v1/invoices/{invoice}"),
    ("POST", "/v1/invoices/{invoice}/finalize"),
    ("POST", "/v1/invoices/{invoice}/pay"),
    ("POST", "/v1/invoices/{invoice}/void"),
    ("GET", "/v1/invoiceitems"),
    ("POST", "/v1/invoiceitems"),
    ("GET", "/v1/invoiceitems/{invoiceitem}"),
    ("POST", "/v1/invoiceitems/{invoiceitem}"),
    ("DELETE", "/v1/invoiceitems/{invoiceitem}"),
    ("GET", "/v1/payouts"),
    ("GET", "/v1/payouts/{payout}"),
    ("GET", "/v1/coupons"),
    ("POST", "/v1/coupons"),
    ("GET", "/v1/coupons/{coupon}"),
    ("POST", "/v1/coupons/{coupon}"),
    ("DELETE", "/v1/coupons/{coupon}"),
    ("GET", "/v1/customers/search"),
    ("GET", "/v1/subscription_items"),
    ("GET", "/v1/subscription_items/{item}"),
    ("POST", "/v1/subscription_items"),
    ("POST", "/v1/subscription_items/{item}"),
    ("DELETE", "/v1/subscription_items/{item}"),
    ("GET", "/v1/tax_rates"),
    ("POST", "/v1/tax_rates"),
    ("GET", "/v1/tax_rates/{tax_rate}"),
    ("POST", "/v1/tax_rates/{tax_rate}"),
]

#: Fixture resources turned into templates.
RESOURCES = [
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
]


def specs_dir() -> Path:
    """Return the folder holding the vendor specs."""
    env = os.environ.get("STRIPE_SYNC_SPECS_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "specs"


def resolve(spec: dict, schema: dict) -> dict:
    """Follow a local ``$ref`` (one level at a time, until a non-reference)."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def describe(spec: dict, schema: dict) -> dict:
    """Describe a parameter schema as simple types plus the nested keys Stripe accepts."""
    schema = resolve(spec, schema)
    members = schema.get("anyOf") or schema.get("oneOf") or [schema]
    types: list[str] = []
    keys: set[str] | None = set()
    item_keys: set[str] | None = None
    emptiable = False
    for member in members:
        member = resolve(spec, member)
        if member.get("enum") == [""]:
            emptiable = True
            continue
        kind = member.get("type", "any")
        if kind not in types:
            types.append(kind)
        if kind == "object":
            if member.get("additionalProperties") not in (None, False) or not member.get("properties"):
                keys = None
            elif keys is not None:
                keys.update(member["properties"])
        if kind == "array":
            items = resolve(spec, member.get("items", {}))
            if items.get("type") == "object" and items.get("properties"):
                item_keys = set(items["properties"])
    out: dict = {"types": types}
    if "object" in types and keys:
        out["keys"] = sorted(keys)
    if item_keys:
        out["item_keys"] = sorted(item_keys)
    if emptiable:
        out["emptiable"] = True
    return out


def operation_params(spec: dict, method: str, path: str) -> dict:
    """Return the parameters (query and form body) of one operation."""
    op = spec["paths"][path][method.lower()]
    params: dict = {}
    required: list[str] = []
    for param in op.get("parameters", []):
        if param["in"] != "query":
            continue
        params[param["name"]] = describe(spec, param.get("schema", {}))
        if param.get("required"):
            required.append(param["name"])
    body = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
    schema = resolve(spec, body.get("schema", {}))
    for name, prop in schema.get("properties", {}).items():
        params[name] = describe(spec, prop)
    required.extend(schema.get("required", []))
    return {"params": params, "required": sorted(set(required))}


def expandable_fields(spec: dict, name: str) -> list[str]:
    """Return the top-level fields of a resource that Stripe can expand."""
    schema = spec["components"]["schemas"].get(name, {})
    return sorted(k for k, v in schema.get("properties", {}).items() if "x-expansionResources" in v)


def template(spec: dict, name: str, fixture: dict) -> dict:
    """Turn a fixture object into a template: nullable fields start as null, ids are blanked."""
    schema = spec["components"]["schemas"].get(name, {})
    props = schema.get("properties", {})
    out = copy.deepcopy(fixture)
    for key, value in out.items():
        prop = props.get(key, {})
        if prop.get("nullable") and not isinstance(value, list):
            out[key] = None
    if "id" in out:
        out["id"] = ""
    if "livemode" in out:
        out["livemode"] = False
    return out


def build() -> dict:
    """Build the compact data document."""
    folder = specs_dir()
    spec = json.loads((folder / "stripe-openapi.json").read_text())
    fixtures = json.loads((folder / "stripe-fixtures3.json").read_text())["resources"]
    operations = {f"{m} {p}": operation_params(spec, m, p) for m, p in OPERATIONS}
    templates = {name: template(spec, name, fixtures[name]) for name in RESOURCES}
    expandable = {name: expandable_fields(spec, name) for name in RESOURCES}
    return {
        "source": "stripe-openapi.json {}; stripe-fixtures3.json".format(spec["info"].get("version")),
        "operations": operations,
        "expandable": expandable,
        "templates": templates,
    }


def main() -> int:
    """Write the data file."""
    data = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
