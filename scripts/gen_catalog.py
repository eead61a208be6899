"""Generate the Stripe method catalog, its named operators and its docs page.

Walks the installed stripe SDK's ``StripeClient.v1`` services for the resources listed in
``airflow_provider_stripe_sync/stripe/catalog.py`` and reads Stripe's OpenAPI description
(``stripe-openapi.json`` in ``../shared/specs`` or ``$STRIPE_SYNC_SPECS_DIR``) for each method's HTTP
verb, path, parameters and returned object, then writes:

- ``airflow_provider_stripe_sync/stripe/catalog_data.json``: the entries (needs the spec);
- ``airflow_provider_stripe_sync/operators/stripe_methods.py``: one named operator per entry;
- ``docs/operators.md``: every operator with its method, parameters and an example.

The last two are rendered from ``catalog_data.json`` alone. Usage::

    python scripts/gen_catalog.py            # regenerate all three (the spec is needed)
    python scripts/gen_catalog.py --render   # regenerate the module and the docs from catalog_data.json
    python scripts/gen_catalog.py --check    # exit 1 when a generated file is out of date
"""

from __future__ import annotations

import html
import importlib
import inspect
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_stripe_sync.stripe import catalog as cat  # noqa: E402

DATA = ROOT / "airflow_provider_stripe_sync" / "stripe" / "catalog_data.json"
MODULE = ROOT / "airflow_provider_stripe_sync" / "operators" / "stripe_methods.py"
DOCS = ROOT / "docs" / "operators.md"

_REQUEST = re.compile(r'self\._request\(\s*"(\w+)",\s*"([^"]+)"')


def specs_dir() -> Path:
    """Return the folder holding the vendor specs."""
    env = os.environ.get("STRIPE_SYNC_SPECS_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "specs"


def load_spec() -> dict[str, Any]:
    return json.loads((specs_dir() / "stripe-openapi.json").read_text())


def service_of(client: Any, path: str) -> Any:
    """The ``StripeClient.v1`` service at a dotted attribute path."""
    service = client.v1
    for part in path.split("."):
        service = getattr(service, part)
    return service


def sdk_request(service: Any, sdk_method: str) -> tuple[str, str]:
    """The HTTP verb and path template an SDK method sends, read from its source."""
    found = _REQUEST.search(inspect.getsource(getattr(service, sdk_method)))
    if found is None:
        raise RuntimeError(f"cannot find the request of {type(service).__name__}.{sdk_method}")
    return found.group(1).upper(), found.group(2)


def sdk_param_names(function: Any) -> set[str]:
    """The keys of an SDK method's params ``TypedDict``, request options (and ``expand``) left out."""
    from stripe._request_options import RequestOptions

    annotation = inspect.signature(function).parameters["params"].annotation
    found = re.search(r"(\w+Params)", str(annotation))
    if found is None:
        raise RuntimeError(f"cannot find the params type of {function.__qualname__}")
    # stripe.checkout._session_service types its params in stripe.params.checkout.
    namespace = function.__module__.split(".")[1:-1]
    typed = getattr(importlib.import_module(".".join(["stripe.params", *namespace])), found.group(1))
    keys = set(typed.__required_keys__) | set(typed.__optional_keys__)
    return keys - set(RequestOptions.__optional_keys__) - {"expand"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    name = None
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return name, schema


def response_shape(spec: dict[str, Any], op: dict[str, Any]) -> tuple[str, str]:
    """``(object_type, returns)`` of an operation's successful response."""
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    members = schema.get("anyOf") or [schema]
    names = []
    for member in members:
        name, resolved = _resolve(spec, member)
        if name is None and "data" in resolved.get("properties", {}):
            kind = resolved["properties"]["object"]["enum"][0]
            item, _ = _resolve(spec, resolved["properties"]["data"]["items"])
            return item or "", "search" if kind == "search_result" else "list"
        names.append(name or "")
    kept = [name for name in names if not name.startswith("deleted_")] or names
    return kept[0].removeprefix("deleted_"), "object"


def operation_params(spec: dict[str, Any], op: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The parameters (query and form body, ``expand`` excluded) of an operation, and the required ones."""
    params: list[str] = []
    required: list[str] = []
    for param in op.get("parameters", []):
        if param["in"] != "query" or param["name"] == "expand":
            continue
        params.append(param["name"])
        if param.get("required"):
            required.append(param["name"])
    body = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
    _, schema = _resolve(spec, body.get("schema", {}))
    params.extend(name for name in schema.get("properties", {}) if name != "expand")
    required.extend(name for name in schema.get("required", []) if name != "expand")
    return sorted(set(params)), sorted(set(required))


def summary(op: dict[str, Any]) -> str:
    """The first sentence of Stripe's description, as plain text."""
    text = html.unescape(re.sub(r"<[^>]+>", "", op.get("summary") or op.get("description") or ""))
    text = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first[:240]


def build_entries() -> list[dict[str, Any]]:
    """Derive every catalog entry from the SDK's services and the spec."""
    import stripe

    spec = load_spec()
    client = stripe.StripeClient("sk_test_catalog")
    entries: list[dict[str, Any]] = []
    for resource in cat.RESOURCES:
        service = service_of(client, resource.service)
        wanted = [*cat.STANDARD_ACTIONS, *resource.actions]
        for sdk_method in wanted:
            if not callable(getattr(service, sdk_method, None)):
                if sdk_method in resource.actions:
                    raise RuntimeError(f"{resource.service} has no method {sdk_method}")
                continue
            verb, path = sdk_request(service, sdk_method)
            if path not in spec["paths"] or verb.lower() not in spec["paths"][path]:
                # The SDK may be newer than the spec: offer only what both know.
                print(f"skipped {resource.service}.{sdk_method}: {verb} {path} is not in the spec")
                continue
            op = spec["paths"][path][verb.lower()]
            params, required = operation_params(spec, op)
            # Offer what both the spec and the SDK's typed parameters know.
            sdk_params = sdk_param_names(getattr(service, sdk_method))
            dropped = sorted(set(params) - sdk_params)
            if dropped:
                print(f"{resource.service}.{sdk_method}: the SDK no longer types {', '.join(dropped)}")
            params = [name for name in params if name in sdk_params]
            required = [name for name in required if name in sdk_params]
            object_type, returns = response_shape(spec, op)
            path_params = re.findall(r"{(\w+)}", path)
            action = cat.action_name(resource, sdk_method)
            method = f"{resource.name}.{action}"
            base = {
                "method": method,
                "resource": resource.name,
                "action": action,
                "service": resource.service,
                "sdk_method": sdk_method,
                "http_method": verb,
                "path": path,
                "path_param": path_params[0] if path_params else None,
                "params": params,
                "required": required,
                "writes": verb in ("POST", "DELETE"),
                "object_type": object_type,
                "returns": returns,
                "operator": cat.operator_name(resource, action),
                "module": cat.EXISTING_OPERATORS.get(method, cat.GENERATED_MODULE),
                "summary": summary(op),
            }
            entries.append(base)
            if sdk_method == "list" and "created" in params:
                list_new = f"{resource.name}.list_new"
                entries.append(
                    dict(
                        base,
                        method=list_new,
                        action="list_new",
                        params=[name for name in params if name not in cat.LIST_NEW_RESERVED],
                        operator=cat.operator_name(resource, "list_new"),
                        module=cat.EXISTING_OPERATORS.get(list_new, cat.GENERATED_MODULE),
                        summary=f"List the {resource.plural.lower()} created in the run's window.",
                    )
                )
    return entries


def render_data(entries: list[dict[str, Any]]) -> str:
    return json.dumps({"entries": entries}, indent=1, sort_keys=True) + "\n"


# -- the operators module -----------------------------------------------------------------------------


#: Paging parameters a list or search operator sets itself (``limit=`` is the operator's argument).
PAGING = frozenset({"limit", "starting_after", "ending_before", "page"})


def user_params(entry: dict[str, Any]) -> list[str]:
    """The parameters a DAG passes in ``stripe_params`` (paging left to the operator)."""
    if entry["returns"] == "object":
        return list(entry["params"])
    return [name for name in entry["params"] if name not in PAGING]


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=110, initial_indent=indent, subsequent_indent=indent)


def _class_doc(entry: dict[str, Any]) -> str:
    display = cat._split_camel(entry["operator"].removeprefix("Stripe").removesuffix("Operator"))
    first = f"{display}: ``{entry['method']}`` ({entry['http_method']} ``{entry['path']}``)."
    lines = ['    """', _wrap(first, "    ")]
    lines.append("")
    if entry["summary"]:
        lines.append(_wrap(entry["summary"], "    "))
        lines.append("")
    if entry["action"] == "list_new":
        lines.append(
            _wrap("See StripeListNewObjectsOperator for the window, lookback and record file.", "    ")
        )
        filters = ", ".join(entry["params"]) or "none"
        lines.append(_wrap(f"Filters Stripe accepts: {filters}.", "    "))
    else:
        if entry["path_param"]:
            lines.append(f"    ``object_id`` is the ``{entry['path_param']}`` in the path.")
        params = ", ".join(user_params(entry)) or "none"
        lines.append(_wrap(f"``stripe_params`` Stripe accepts: {params}.", "    "))
        if entry["required"]:
            lines.append(_wrap(f"Required: {', '.join(entry['required'])}.", "    "))
        lines.append("    See StripeMethodOperator for the other arguments.")
    lines.append('    """')
    return "\n".join(lines)


def render_module(entries: list[dict[str, Any]]) -> str:
    existing = sorted(e["operator"] for e in entries if e["module"] != cat.GENERATED_MODULE)
    out = [
        '"""',
        "One named operator per Stripe method of the catalog (``stripe/catalog.py``).",
        "",
        "Generated by ``scripts/gen_catalog.py`` from ``stripe/catalog_data.json``; do not edit by hand.",
        "Operators that existed before the catalog are re-exported from ``operators/stripe.py`` unchanged.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from airflow_provider_stripe_sync.operators.stripe import (",
        *[f"    {name}," for name in existing],
        "    _StripeListNewOperator,",
        ")",
        "from airflow_provider_stripe_sync.operators.stripe_method import (",
        "    StripeMethodOperator,",
        "    _CatalogOperator,",
        ")",
        "",
        "__all__ = [",
        '    "StripeMethodOperator",',
        *[f'    "{e["operator"]}",' for e in entries],
        "]",
    ]
    for entry in entries:
        if entry["module"] != cat.GENERATED_MODULE:
            continue
        out.extend(["", ""])
        if entry["action"] == "list_new":
            out.append(f"class {entry['operator']}(_StripeListNewOperator):")
            out.append(_class_doc(entry))
            out.append("")
            out.append(f'    resource_name = "{entry["resource"]}"')
            out.append(f'    catalog_method = "{entry["method"]}"')
        else:
            out.append(f"class {entry['operator']}(_CatalogOperator):")
            out.append(_class_doc(entry))
            out.append("")
            out.append(f'    catalog_method = "{entry["method"]}"')
    return "\n".join(out) + "\n"


# -- the docs page ------------------------------------------------------------------------------------


def _example(entry: dict[str, Any]) -> str:
    task_id = entry["method"].replace(".", "_")
    args = [f'task_id="{task_id}"']
    if entry["action"] == "list_new":
        if "customer" in entry["params"]:
            args.append('filters={"customer": "{{ params.customer }}"}')
    else:
        if entry["path_param"]:
            args.append(f'object_id="{{{{ params.{entry["path_param"]} }}}}"')
        if entry["required"]:
            inner = ", ".join(f'"{name}": ...' for name in entry["required"])
            args.append(f"stripe_params={{{inner}}}")
        elif entry["action"] == "create" or entry["action"] == "update":
            args.append('stripe_params={"metadata": {"source": "airflow"}}')
    call = f"{entry['operator']}(" + ", ".join(args) + ")"
    if len(call) > 100:
        call = f"{entry['operator']}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"
    return call


def render_docs(entries: list[dict[str, Any]]) -> str:
    out = [
        "# Stripe operators",
        "",
        "<!-- Generated by scripts/gen_catalog.py from the method catalog; do not edit by hand. -->",
        "",
        "Every Stripe method of the catalog (`airflow_provider_stripe_sync/stripe/catalog.py`) has a named",
        "operator, importable from `airflow_provider_stripe_sync.operators.stripe_methods`, and runs through",
        '`StripeMethodOperator(method="<resource>.<action>", stripe_params={...}, object_id=...)`.',
        "",
        "- One object (create, retrieve, update, delete, capture, finalize, ...) goes to XCom, without",
        "  `client_secret` fields. Lists and searches go to a JSON Lines record file under `output_uri`",
        '  and XCom gets `{"uri", "count", "method", "resource"}`. `expand` is written as for one object;',
        "  lists get the `data.` prefix, which counts in Stripe's four-level limit.",
        "- Writes send a deterministic `Idempotency-Key` built from the task run (dag, task, run id, map",
        "  index), the method, the object id and the canonical parameters, unless the DAG passes",
        "  `idempotency_key`. A key Stripe refuses (reused with other parameters) raises `IdempotencyError`",
        "  naming the key.",
        "- List New operators read the objects created in the run's window; see the README.",
        "- Every operator pushes its Stripe Dashboard page (test or live mode, connected account) to XCom",
        '  for the task\'s "Stripe Dashboard" extra link.',
        "",
        "```python",
        "from airflow_provider_stripe_sync.operators.stripe_methods import (",
        "    StripeCreateInvoiceOperator,",
        "    StripeFinalizeInvoiceOperator,",
        "    StripeMethodOperator,",
        ")",
        "",
        'invoice = StripeCreateInvoiceOperator(task_id="invoice", stripe_params={"customer": "cus_123"})',
        "finalize = StripeFinalizeInvoiceOperator(",
        '    task_id="finalize", object_id="{{ ti.xcom_pull(task_ids=\'invoice\')[\'id\'] }}"',
        ")",
        'void = StripeMethodOperator(task_id="void", method="invoices.void", object_id="in_456")',
        "invoice >> finalize",
        "```",
        "",
        "| Operator | Method | HTTP | Writes |",
        "|---|---|---|---|",
    ]
    for entry in entries:
        anchor = entry["operator"].lower()
        writes = "yes" if entry["writes"] and entry["action"] != "list_new" else "no"
        out.append(
            f"| [`{entry['operator']}`](#{anchor}) | `{entry['method']}` | "
            f"`{entry['http_method']} {entry['path']}` | {writes} |"
        )
    for entry in entries:
        out.extend(["", f"## {entry['operator']}", ""])
        out.append(
            f"`{entry['method']}`: `{entry['http_method']} {entry['path']}`, returns "
            f"{'a record file of ' if entry['returns'] != 'object' else 'one '}`{entry['object_type']}`"
            f"{' objects' if entry['returns'] != 'object' else ''}. Module: `{entry['module']}`."
        )
        out.append("")
        if entry["summary"]:
            out.extend([entry["summary"], ""])
        if entry["path_param"]:
            out.extend([f"`object_id`: the `{entry['path_param']}` in the path.", ""])
        label = "Filters" if entry["action"] == "list_new" else "Parameters"
        params = ", ".join(
            f"`{name}`" + (" (required)" if name in entry["required"] else "") for name in user_params(entry)
        )
        out.extend([f"{label}: {params or 'none'}.", ""])
        out.extend(["```python", _example(entry), "```"])
    return "\n".join(out) + "\n"


def outputs(entries: list[dict[str, Any]]) -> dict[Path, str]:
    return {DATA: render_data(entries), MODULE: render_module(entries), DOCS: render_docs(entries)}


def stored_entries() -> list[dict[str, Any]]:
    return json.loads(DATA.read_text())["entries"]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = [path for path, text in outputs(stored_entries()).items() if path.read_text() != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python scripts/gen_catalog.py --render")
        return 1 if stale else 0
    entries = stored_entries() if "--render" in argv else build_entries()
    for path, text in outputs(entries).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
