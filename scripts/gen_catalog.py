"""Generate the Stripe method catalog, its named operators and its docs page.

Walks the installed stripe SDK's ``StripeClient.v1`` services for the resources listed in
``airflow_provider_stripe_sync/stripe/catalog.py``: each method's HTTP verb and path (from its
source) and its parameters (its params ``TypedDict``: names, required ones, hash/array shapes). The
pinned SDK is the authority, as requests are made at its API version. Stripe's OpenAPI description
(``stripe-openapi.json`` in ``../shared/specs`` or ``$STRIPE_SYNC_SPECS_DIR``) is older: it adds each
method's summary and returned object, and every parameter difference is recorded on the entry
(``sdk_only``, ``spec_only``; removed ones need a replacement in ``catalog.REMOVED_PARAMS``). Writes:

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


def _params_type(function: Any) -> Any:
    """The SDK's params ``TypedDict`` of a method."""
    annotation = inspect.signature(function).parameters["params"].annotation
    found = re.search(r"(\w+Params)", str(annotation))
    if found is None:
        raise RuntimeError(f"cannot find the params type of {function.__qualname__}")
    # stripe.checkout._session_service types its params in stripe.params.checkout.
    namespace = function.__module__.split(".")[1:-1]
    return getattr(importlib.import_module(".".join(["stripe.params", *namespace])), found.group(1))


def _left_out() -> set[str]:
    from stripe._request_options import RequestOptions

    return set(RequestOptions.__optional_keys__) | {"expand"}


def sdk_param_names(function: Any) -> set[str]:
    """The keys of an SDK method's params ``TypedDict``, request options (and ``expand``) left out."""
    typed = _params_type(function)
    keys = set(typed.__required_keys__) | set(typed.__optional_keys__)
    return keys - _left_out()


def sdk_required_names(function: Any) -> set[str]:
    """The keys the SDK's params ``TypedDict`` requires."""
    return set(_params_type(function).__required_keys__) - _left_out()


def _alternatives(annotation: Any) -> list[str]:
    text = str(annotation)
    text = re.sub(r"^typing\.(Not)?Required\[(.*)\]$", r"\2", text)
    text = re.sub(r"^ForwardRef\([\"'](.*)[\"']\)$", r"\1", text)
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [re.sub(r"^typing\.", "", part) for part in parts if part]


def sdk_shapes(function: Any) -> dict[str, str]:
    """
    The top-level parameters the SDK types as a hash or an array: ``{"metadata": "dict or ''"}``.

    ``"dict"``/``"list"``; `` or ''`` when the SDK also types ``""`` (Stripe's "unset"). A parameter
    typed as text or a number anywhere in its union is left out (nothing to check at the top level).
    """
    typed = _params_type(function)
    shapes: dict[str, str] = {}
    for name, annotation in typed.__annotations__.items():
        if name in _left_out():
            continue
        kinds = set()
        blank = False
        for part in _alternatives(annotation):
            if part == "Literal['']":
                blank = True
            elif part.startswith(("List[", "Sequence[")):
                kinds.add("list")
            elif part.startswith(("Dict[", "UntypedStripeObject[")) or re.fullmatch(r"\w+Params\w*", part):
                kinds.add("dict")
            else:
                kinds.add("scalar")
        if len(kinds) == 1 and kinds <= {"dict", "list"}:
            shapes[name] = kinds.pop() + (" or ''" if blank else "")
    return dict(sorted(shapes.items()))


def sdk_summary(function: Any) -> str:
    """The first sentence of the SDK method's docstring (for methods the spec does not describe)."""
    text = " ".join((inspect.getdoc(function) or "").split())
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0][:240]


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


def pinned_versions(spec: dict[str, Any]) -> dict[str, str]:
    """The SDK and API version the catalog was derived from, and the spec's date."""
    import stripe

    return {
        "sdk_version": stripe.VERSION,
        "api_version": stripe.api_version,
        "spec_version": spec["info"]["version"],
    }


def build_entries() -> list[dict[str, Any]]:
    """
    Derive every catalog entry from the SDK's services, and what the spec adds.

    The pinned SDK is the authority for what a method accepts (its API version is the one requests
    are made at): an entry's parameters and required ones are its params ``TypedDict``'s. Stripe's
    OpenAPI description (older) adds the summaries and the returned object, and each difference is
    recorded: ``sdk_only`` (newer than the spec, accepted), ``spec_only`` (gone at the pinned
    version, refused with what replaced it, see ``catalog.REMOVED_PARAMS``) and ``in_spec``.
    """
    import stripe

    spec = load_spec()
    client = stripe.StripeClient("sk_test_catalog")
    entries: list[dict[str, Any]] = []
    for resource in cat.RESOURCES:
        service = service_of(client, resource.service)
        wanted = [*cat.STANDARD_ACTIONS, *resource.actions]
        resource_entries: list[dict[str, Any]] = []
        for sdk_method in wanted:
            if not callable(getattr(service, sdk_method, None)):
                if sdk_method in resource.actions:
                    raise RuntimeError(f"{resource.service} has no method {sdk_method}")
                continue
            function = getattr(service, sdk_method)
            verb, path = sdk_request(service, sdk_method)
            op = spec["paths"].get(path, {}).get(verb.lower())
            sdk_params = sdk_param_names(function)
            spec_params, _ = operation_params(spec, op) if op else ([], [])
            if op:
                object_type, returns = response_shape(spec, op)
            else:
                # Newer than the spec: the SDK's return annotation says one object or a list.
                returned = str(inspect.signature(function).return_annotation)
                object_type, returns = "", "list" if "ListObject" in returned else "object"
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
                "params": sorted(sdk_params),
                "required": sorted(sdk_required_names(function)),
                "shapes": sdk_shapes(function),
                "in_spec": op is not None,
                "sdk_only": sorted(sdk_params - set(spec_params)) if op else [],
                "spec_only": sorted(set(spec_params) - sdk_params),
                "writes": verb in ("POST", "DELETE"),
                "object_type": object_type,
                "returns": returns,
                "operator": cat.operator_name(resource, action),
                "module": cat.EXISTING_OPERATORS.get(method, cat.GENERATED_MODULE),
                "summary": summary(op) if op else sdk_summary(function),
            }
            resource_entries.append(base)
            if sdk_method == "list" and "created" in sdk_params:
                list_new = f"{resource.name}.list_new"

                def keep(names: list[str]) -> list[str]:
                    return [name for name in names if name not in cat.LIST_NEW_RESERVED]

                resource_entries.append(
                    dict(
                        base,
                        method=list_new,
                        action="list_new",
                        params=keep(base["params"]),
                        required=keep(base["required"]),
                        shapes={k: v for k, v in base["shapes"].items() if k not in cat.LIST_NEW_RESERVED},
                        sdk_only=keep(base["sdk_only"]),
                        spec_only=keep(base["spec_only"]),
                        operator=cat.operator_name(resource, "list_new"),
                        module=cat.EXISTING_OPERATORS.get(list_new, cat.GENERATED_MODULE),
                        summary=f"List the {resource.plural.lower()} created in the run's window.",
                    )
                )
        known_type = next((e["object_type"] for e in resource_entries if e["object_type"]), "")
        for item in resource_entries:
            item["object_type"] = item["object_type"] or known_type
        entries.extend(resource_entries)
    return entries


def build_data() -> dict[str, Any]:
    """The catalog as stored: its entries and the versions they were derived from."""
    return {"entries": build_entries(), **pinned_versions(load_spec())}


def render_data(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


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
    first = f"{display}: ``{entry['method']}`` ({entry['http_method']} ``{display_path(entry)}``)."
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
        lines.append(
            _wrap(f"Filters accepted (the pinned SDK's, checked before any request): {filters}.", "    ")
        )
    else:
        if entry["path_param"]:
            lines.append(
                f"    ``object_id``: the {path_name(entry).replace('_', ' ')}'s id (``{object_id_example(entry)}``)."
            )
        params = ", ".join(user_params(entry)) or "none"
        lines.append(_wrap(f"``stripe_params`` accepted (the pinned SDK's): {params}.", "    "))
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


#: The id in the path, named as users know it (the SDK names some ``intent``, ``item``...).
PATH_NAMES = {
    "subscription_exposed_id": "subscription",
    "intent": "payment_intent",
    "item": "subscription_item",
    "session": "checkout_session",
    "invoiceitem": "invoice_item",
}

#: Example ids by object type.
ID_EXAMPLES = {
    "balance_transaction": "txn_123",
    "charge": "ch_123",
    "checkout.session": "cs_test_123",
    "coupon": "SUMMER25",
    "credit_note": "cn_123",
    "customer": "cus_123",
    "dispute": "dp_123",
    "event": "evt_123",
    "invoice": "in_123",
    "invoiceitem": "ii_123",
    "payment_intent": "pi_123",
    "payout": "po_123",
    "price": "price_123",
    "product": "prod_123",
    "promotion_code": "promo_123",
    "refund": "re_123",
    "subscription": "sub_123",
    "subscription_item": "si_123",
    "tax_rate": "txr_123",
    "transfer": "tr_123",
}

#: Values for the parameters examples pass (each a value Stripe takes for that parameter).
VALUE_EXAMPLES: dict[str, Any] = {
    "amount": 1000,
    "currency": "usd",
    "customer": "cus_123",
    "destination": "acct_123",
    "display_name": "VAT",
    "inclusive": False,
    "invoice": "in_123",
    "name": "Pro plan",
    "percentage": 20.0,
    "promotion": {"type": "coupon", "coupon": "SUMMER25"},
    "subscription": "sub_123",
}

#: Whole example parameters where the required ones alone are not a request Stripe takes.
PARAM_EXAMPLES: dict[str, dict[str, Any]] = {
    "refunds.create": {"charge": "ch_123", "amount": 500},
    "subscriptions.create": {"customer": "cus_123", "items": [{"price": "price_123"}]},
    "subscription_items.create": {"subscription": "sub_123", "price": "price_123"},
    "prices.create": {"currency": "usd", "product": "prod_123", "unit_amount": 1500},
    "invoiceitems.create": {"customer": "cus_123", "amount": 500, "currency": "usd"},
    "coupons.create": {"percent_off": 25, "duration": "once"},
    "charges.create": {"amount": 1000, "currency": "usd", "source": "tok_visa"},
    "credit_notes.create": {"invoice": "in_123", "amount": 500},
    "transfers.create": {"amount": 1000, "currency": "usd", "destination": "acct_123"},
    "checkout_sessions.create": {
        "mode": "payment",
        "line_items": [{"price": "price_123", "quantity": 1}],
        "success_url": "https://example.com/done",
    },
    "customers.search": {"query": "email:'ada@example.com'"},
    "customers.create": {"email": "ada@example.com", "metadata": {"signup_id": "s-42"}},
}


def path_name(entry: dict[str, Any]) -> str:
    """The object the path's id names, as users know it (``subscription``, not ``subscription_exposed_id``)."""
    name = entry["path_param"]
    if name == "id":
        return entry["object_type"].replace(".", "_")
    return PATH_NAMES.get(name, name)


def display_path(entry: dict[str, Any]) -> str:
    """The path with its id named as users know it: ``/v1/subscriptions/{subscription}``."""
    if not entry["path_param"]:
        return entry["path"]
    return entry["path"].replace("{" + entry["path_param"] + "}", "{" + path_name(entry) + "}")


def object_id_example(entry: dict[str, Any]) -> str:
    return ID_EXAMPLES.get(entry["object_type"], f"{entry['object_type']}_123")


def example_params(entry: dict[str, Any]) -> dict[str, Any] | None:
    if entry["method"] in PARAM_EXAMPLES:
        return PARAM_EXAMPLES[entry["method"]]
    if entry["action"] == "search":
        field = "email" if entry["resource"] == "customers" else "metadata['order_id']"
        return {"query": f"{field}:'42'" if field != "email" else "email:'ada@example.com'"}
    if entry["required"]:
        return {name: VALUE_EXAMPLES[name] for name in entry["required"]}
    if entry["action"] in ("create", "update"):
        return {"metadata": {"source": "airflow"}}
    return None


def _example(entry: dict[str, Any]) -> str:
    task_id = entry["method"].replace(".", "_")
    args = [f'task_id="{task_id}"']
    if entry["action"] == "list_new":
        if "customer" in entry["params"]:
            args.append('filters={"customer": "cus_123"}')
    else:
        if entry["path_param"]:
            args.append(f'object_id="{object_id_example(entry)}"')
        params = example_params(entry)
        if params:
            args.append(f"stripe_params={json.dumps(params).replace('false', 'False')}")
    call = f"{entry['operator']}(" + ", ".join(args) + ")"
    if len(call) > 100:
        call = f"{entry['operator']}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"
    return call


#: The List Updated operators (``operators/stripe_updated.py``), read from events, not the catalog.
LIST_UPDATED = ("customers", "subscriptions", "charges", "invoices", "payment_intents")


def _business_key_section(entry: dict[str, Any]) -> list[str]:
    """What the older, business-key-aware create operators take and return."""
    kind = entry["object_type"]
    lookup = (
        "customers are listed by that email and one whose `metadata[match_metadata_key]` holds the value "
        "is returned; else a customer with the same email and no such value is adopted"
        if kind == "customer"
        else "the customer's subscriptions (any status) are listed and one whose "
        "`metadata[match_metadata_key]` holds the value is returned"
    )
    lines = [
        f"Business-key aware (from `operators/stripe.py`, older than the catalog). Arguments: "
        f"`stripe_params` (required; checked against `{entry['method']}`'s parameters before any request), "
        "`match_metadata_key` (default `signup_id`), `idempotency_scope`, `stripe_conn_id`, "
        "`stripe_account`.",
        "",
    ]
    if kind == "customer":
        lines.extend(["The `email` is trimmed and lower-cased before the lookup and the create.", ""])
    lines.extend(
        [
            f'With `stripe_params["metadata"][match_metadata_key]` set, {lookup}, instead of creating '
            "another (Stripe forgets idempotency keys after 24 hours). Else the create carries an "
            "idempotency key of the task run.",
            "",
            'XCom gets `{"id", "object", "created", "livemode"}`, where `created` is whether this run '
            "created the object (`false`: an existing one was found). No `expand`, no `object_id`.",
            "",
        ]
    )
    return lines


def render_docs(data: dict[str, Any]) -> str:
    entries = data["entries"]
    pinned = f"stripe-python {data['sdk_version']} (API version `{data['api_version']}`)"
    out = [
        "# Stripe operators",
        "",
        "<!-- Generated by scripts/gen_catalog.py from the method catalog; do not edit by hand. -->",
        "",
        "Every Stripe method of the catalog (`airflow_provider_stripe_sync/stripe/catalog.py`) has a named",
        "operator, importable from `airflow_provider_stripe_sync.operators.stripe_methods`, and runs through",
        '`StripeMethodOperator(method="<resource>.<action>", stripe_params={...}, object_id=...)`.',
        "Stripe's parameters go in `stripe_params`: `params` is Airflow's own task params and is refused",
        "when `stripe_params` is not given.",
        "",
        f"- Parameters are those of the pinned SDK, {pinned}, the version requests are",
        "  made at; a name it does not know is refused before any request. Stripe's OpenAPI description",
        f"  ({data['spec_version'][:15]}) is older: parameters it lacks are marked *newer than the spec*,",
        "  and those it has that the SDK no longer types are listed as removed, with what replaced them.",
        "- Top-level values the SDK types as a hash or an array (`metadata`, `items`...) must be a dict or",
        "  a list: a Jinja template renders to text unless the DAG sets `render_template_as_native_obj=True`.",
        "- One object (create, retrieve, update, delete, capture, finalize, ...) goes to XCom, without",
        "  `client_secret` fields. Lists and searches go to a JSON Lines record file under `output_uri`,",
        "  one file per task run (`records/<dag>/<task>[/map-N]/<account>__<method>__<run id>.jsonl`),",
        '  and XCom gets `{"uri", "count", "method", "resource"}`. `expand` is written as for one object;',
        "  lists get the `data.` prefix, which counts in Stripe's four-level limit.",
        "- Writes send a deterministic `Idempotency-Key` built from the task run (dag, task, run id, map",
        "  index), the method, the object id and the canonical parameters, unless the DAG passes",
        "  `idempotency_key`. A key Stripe refuses (reused with other parameters) raises `IdempotencyError`",
        "  naming the key.",
        "- List New operators read the objects created in the run's window (see the README); their",
        "  `filters` are checked against the list's parameters before any request. The List Updated",
        "  operators (below the table) read the objects changed in the window from events.",
        "- Every operator pushes its Stripe Dashboard page (test or live mode, connected account) to XCom",
        '  for the task\'s "Stripe Dashboard" extra link.',
        "",
        "```python",
        "from airflow.sdk import DAG",
        "",
        "from airflow_provider_stripe_sync.operators.stripe_methods import (",
        "    StripeCreateInvoiceOperator,",
        "    StripeFinalizeInvoiceOperator,",
        "    StripeMethodOperator,",
        ")",
        "",
        'with DAG("stripe_invoices", schedule=None):',
        '    invoice = StripeCreateInvoiceOperator(task_id="invoice", stripe_params={"customer": "cus_123"})',
        "    finalize = StripeFinalizeInvoiceOperator(",
        "        task_id=\"finalize\", object_id=\"{{ ti.xcom_pull(task_ids='invoice')['id'] }}\"",
        "    )",
        '    void = StripeMethodOperator(task_id="void", method="invoices.void", object_id="in_456")',
        "    invoice >> finalize",
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
            f"`{entry['http_method']} {display_path(entry)}` | {writes} |"
        )
    out.extend(
        [
            "",
            "## List Updated operators",
            "",
            "From `airflow_provider_stripe_sync.operators.stripe_updated`. Each reads `/v1/events` of its",
            "resource's event types created in the window, fetches every object they name once, again, at",
            "the pinned API version with `expand`, and writes one record per object (deleted ones as",
            '`{"id", "object", "deleted": true}` tombstones) to a record file. XCom gets',
            '`{"uri", "count", "deleted", "events", "window", "resource"}`. Arguments: `window_start`,',
            "`window_end`, `lookback`, `expand`, `output_uri`, `limit`, `stripe_conn_id`, `stripe_account`.",
            "Stripe keeps events for 30 days: an older window fails saying so.",
            "",
            "| Operator | Resource |",
            "|---|---|",
        ]
    )
    for resource in LIST_UPDATED:
        name = cat.RESOURCES_BY_NAME[resource].plural.replace(" ", "")
        out.append(f"| `StripeListUpdated{name}Operator` | `{resource}` |")
    out.extend(
        [
            "",
            "```python",
            "from airflow_provider_stripe_sync.operators.stripe_updated import StripeListUpdatedChargesOperator",
            "",
            'changed = StripeListUpdatedChargesOperator(task_id="changed_charges", expand=["customer"])',
            "```",
        ]
    )
    for entry in entries:
        out.extend(["", f"## {entry['operator']}", ""])
        out.append(
            f"`{entry['method']}`: `{entry['http_method']} {display_path(entry)}`, returns "
            f"{'a record file of ' if entry['returns'] != 'object' else 'one '}`{entry['object_type']}`"
            f"{' objects' if entry['returns'] != 'object' else ''}. Module: `{entry['module']}`."
        )
        out.append("")
        if entry["summary"]:
            out.extend([entry["summary"], ""])
        if not entry["in_spec"]:
            out.extend([f"Newer than Stripe's OpenAPI description: known from {pinned} only.", ""])
        business_key = entry["module"] != cat.GENERATED_MODULE and entry["action"] == "create"
        if business_key:
            out.extend(_business_key_section(entry))
        if entry["path_param"]:
            out.extend(
                [
                    f"`object_id`: the {path_name(entry).replace('_', ' ')}'s id (`{object_id_example(entry)}`), in the path.",
                    "",
                ]
            )
        label = "Filters" if entry["action"] == "list_new" else "Parameters"
        newer = set(entry["sdk_only"])
        params = ", ".join(
            f"`{name}`"
            + (" (required)" if name in entry["required"] else "")
            + (" (newer than the spec)" if name in newer else "")
            for name in user_params(entry)
        )
        out.extend([f"{label}: {params or 'none'}.", ""])
        if entry["spec_only"]:
            removed = ", ".join(
                f"`{name}`"
                + (
                    f" (use {cat.replacement(entry['method'], name)})"
                    if cat.replacement(entry["method"], name)
                    else ""
                )
                for name in entry["spec_only"]
            )
            out.extend(
                [f"Removed at the pinned API version (in the older spec only, refused): {removed}.", ""]
            )
        out.extend(["```python", _example(entry), "```"])
    return "\n".join(out) + "\n"


def outputs(data: dict[str, Any]) -> dict[Path, str]:
    entries = data["entries"]
    return {DATA: render_data(data), MODULE: render_module(entries), DOCS: render_docs(data)}


def stored_data() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def stored_entries() -> list[dict[str, Any]]:
    return stored_data()["entries"]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = [path for path, text in outputs(stored_data()).items() if path.read_text() != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python scripts/gen_catalog.py --render")
        return 1 if stale else 0
    data = stored_data() if "--render" in argv else build_data()
    for path, text in outputs(data).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
