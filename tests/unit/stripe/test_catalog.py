"""The method catalog: every entry maps to a real StripeClient method, the spec agrees, files are current."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest
import stripe
from stripe._request_options import RequestOptions

from airflow_provider_stripe_sync.operators.stripe import (
    StripeCreateCustomerOperator,
    StripeListNewChargesOperator,
    StripeListNewObjectsOperator,
)
from airflow_provider_stripe_sync.operators.stripe_method import StripeMethodOperator
from airflow_provider_stripe_sync.stripe.catalog import (
    RESOURCES,
    catalog,
    entry,
    replacement,
    resource_object_type,
)

ROOT = Path(__file__).resolve().parents[3]
SPECS = ROOT.parent / "shared" / "specs" / "stripe-openapi.json"

ENTRIES = list(catalog().values())


def _load_script():
    spec = importlib.util.spec_from_file_location("gen_catalog", ROOT / "scripts" / "gen_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def openapi():
    if not SPECS.exists():
        pytest.skip(f"Stripe's OpenAPI description is not at {SPECS}")
    return json.loads(SPECS.read_text())


def _service(path):
    service = stripe.StripeClient("sk_test_static").v1
    for part in path.split("."):
        service = getattr(service, part)
    return service


def _params_type(function):
    annotation = inspect.signature(function).parameters["params"].annotation
    name = re.search(r"(\w+Params)", str(annotation)).group(1)
    namespace = function.__module__.split(".")[1:-1]
    return getattr(importlib.import_module(".".join(["stripe.params", *namespace])), name)


LEFT_OUT = set(RequestOptions.__optional_keys__) | {"expand"}


def _sdk_param_names(function) -> set[str]:
    """The keys of the SDK's params TypedDict of a method, request options left out."""
    typed = _params_type(function)
    return (set(typed.__required_keys__) | set(typed.__optional_keys__)) - LEFT_OUT


def _sdk_required(function) -> set[str]:
    return set(_params_type(function).__required_keys__) - LEFT_OUT


REQUIRED_METHODS = {
    f"{resource}.{action}"
    for resource, actions in {
        "customers": "create retrieve update delete list list_new search",
        "subscriptions": "create retrieve update list list_new search cancel",
        "subscription_items": "create retrieve update delete list",
        "charges": "create retrieve update list list_new search capture",
        "payment_intents": "create retrieve update list list_new search capture",
        "refunds": "create retrieve update list list_new",
        "invoices": "create retrieve update delete list list_new search finalize pay void",
        "invoiceitems": "create retrieve update delete list list_new",
        "products": "create retrieve update delete list list_new search",
        "prices": "create retrieve update list list_new search",
        "coupons": "create retrieve update delete list list_new",
        "promotion_codes": "create retrieve update list list_new",
        "disputes": "retrieve update list list_new",
        "payouts": "create retrieve update list list_new",
        "balance_transactions": "retrieve list list_new",
        "balance": "retrieve",
        "events": "retrieve list list_new",
        "checkout_sessions": "create retrieve list",
        "credit_notes": "create retrieve update list",
        "tax_rates": "create retrieve update list list_new",
        "transfers": "create retrieve update list list_new",
    }.items()
    for action in actions.split()
}


def test_the_catalog_holds_every_method_the_issue_names():
    assert REQUIRED_METHODS - set(catalog()) == set()
    assert {item.resource for item in ENTRIES} == {resource.name for resource in RESOURCES}


@pytest.mark.parametrize("item", ENTRIES, ids=lambda item: item.method)
def test_entry_has_an_importable_named_operator_running_it(item):
    module = importlib.import_module(item.module)
    operator = getattr(module, item.operator)
    assert operator.catalog_method == item.method
    # Every operator is importable from the generated module as well, and documented.
    generated = importlib.import_module("airflow_provider_stripe_sync.operators.stripe_methods")
    assert getattr(generated, item.operator) is operator
    assert item.operator in generated.__all__
    assert operator.__doc__
    if item.module.endswith("stripe_methods"):
        assert f"``{item.method}``" in operator.__doc__
    if item.action == "list_new":
        assert issubclass(operator, StripeListNewObjectsOperator)
        assert operator(task_id="t").resource == item.resource
    elif item.module.endswith("stripe_methods"):
        assert issubclass(operator, StripeMethodOperator)
        assert operator(task_id="t").method == item.method


@pytest.mark.parametrize("item", ENTRIES, ids=lambda item: item.method)
def test_entry_maps_to_a_real_client_method_matching_sdk_and_spec(item, openapi):
    function = getattr(_service(item.service), item.sdk_method)
    source = inspect.getsource(function)
    request = re.search(r'self\._request\(\s*"(\w+)",\s*"([^"]+)"', source)
    assert (request.group(1).upper(), request.group(2)) == (item.http_method, item.path)
    signature = inspect.signature(function)
    positional = [p.name for p in signature.parameters.values() if p.kind is p.POSITIONAL_ONLY]
    assert positional == ([item.path_param] if item.path_param else [])
    # The pinned SDK is the authority: the entry accepts and requires exactly what it types.
    reserved = {"created", "starting_after", "ending_before", "limit"} if item.action == "list_new" else set()
    sdk_params = _sdk_param_names(function) - reserved
    assert set(item.params) == sdk_params
    assert set(item.required) == _sdk_required(function) - reserved
    assert set(item.shapes) <= set(item.params)
    assert item.writes == (item.http_method in ("POST", "DELETE"))
    # The older spec: every difference from it is recorded on the entry, and explained.
    operation = openapi["paths"].get(item.path, {}).get(item.http_method.lower())
    assert item.in_spec == (operation is not None)
    if operation is None:
        assert (item.sdk_only, item.spec_only) == ((), ())
        return
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    body = operation.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
    form = set(body.get("schema", {}).get("properties", {}))
    spec_params = (query | form) - {"expand"} - reserved
    assert set(item.sdk_only) == sdk_params - spec_params
    assert set(item.spec_only) == spec_params - sdk_params
    unexplained = [name for name in item.spec_only if replacement(item.method, name) is None]
    assert unexplained == [], f"{item.method}: record what replaced {unexplained} in REMOVED_PARAMS"


def test_only_recorded_methods_are_missing_from_the_spec():
    assert [item.method for item in ENTRIES if not item.in_spec] == ["checkout_sessions.update"]


def test_the_parameters_the_new_user_found_refused_are_accepted():
    assert "promotion" in entry("promotion_codes.create").required
    assert "discounts" in entry("subscriptions.create").params
    assert "discounts" in entry("subscriptions.update").params
    assert {"pricing", "quantity_decimal"} <= set(entry("invoiceitems.create").params)
    assert {"ui_mode", "return_url"} <= set(entry("checkout_sessions.create").params)
    assert "created" in entry("checkout_sessions.list").params
    assert "created" in entry("credit_notes.list").params
    assert entry("checkout_sessions.list_new").operator == "StripeListNewCheckoutSessionsOperator"
    assert entry("credit_notes.list_new").operator == "StripeListNewCreditNotesOperator"
    # Removed at the pinned version, refused with their replacement named.
    assert entry("invoiceitems.create").spec_only == ("price", "unit_amount")
    assert "price" not in entry("invoiceitems.create").params
    assert replacement("invoiceitems.create", "price") == 'pricing={"price": "..."}'


def test_derived_entries_match_a_fresh_derivation(openapi):
    script = _load_script()
    assert script.render_data(script.build_data()) == script.DATA.read_text()


def test_generated_module_and_docs_are_up_to_date():
    script = _load_script()
    entries = script.stored_entries()
    assert script.MODULE.read_text() == script.render_module(entries)
    assert script.DOCS.read_text() == script.render_docs(script.stored_data())


def test_docs_page_lists_every_entry_with_its_parameters():
    docs = (ROOT / "docs" / "operators.md").read_text()
    script = _load_script()
    for item in ENTRIES:
        path = script.display_path({**vars(item)})
        assert f"## {item.operator}\n\n`{item.method}`: `{item.http_method} {path}`" in docs
    finalize = docs.split("## StripeFinalizeInvoiceOperator", 1)[1].split("\n## ", 1)[0]
    assert "`object_id`: the invoice's id (`in_123`), in the path." in finalize
    assert "Parameters: `auto_advance`." in finalize
    assert 'StripeFinalizeInvoiceOperator(task_id="invoices_finalize", object_id="in_123")\n```' in finalize
    # No SDK-internal path names, no placeholders.
    assert "subscription_exposed_id" not in docs
    assert "..." not in "".join(re.findall(r"```python\n(.*?)```", docs, flags=re.S)).replace('"..."', "")
    cancel = docs.split("## StripeCancelSubscriptionOperator", 1)[1].split("\n## ", 1)[0]
    assert "`object_id`: the subscription's id (`sub_123`), in the path." in cancel


def _docs_examples():
    docs = (ROOT / "docs" / "operators.md").read_text()
    return re.findall(r"```python\n(.*?)```", docs, flags=re.S)


def test_every_docs_example_is_a_call_the_operator_takes():
    """Each example builds its operator, and its stripe_params pass the checks run before any request."""
    from airflow_provider_stripe_sync.operators import stripe_methods, stripe_updated
    from airflow_provider_stripe_sync.operators.stripe_method import check_params
    from airflow_provider_stripe_sync.stripe.catalog import check_param_names

    names = {**vars(stripe_methods), **vars(stripe_updated)}
    built = 0
    for example in _docs_examples():
        # Every snippet runs as written (the opening one and the List Updated one import what they use).
        exec(compile(example, "docs/operators.md", "exec"), dict(names))
        built += 1
    assert built == len(ENTRIES) + 2  # every entry, the opening snippet and the List Updated one
    for item in ENTRIES:
        if item.action == "list_new":
            continue
        section = (ROOT / "docs" / "operators.md").read_text().split(f"## {item.operator}\n", 1)[1]
        call = section.split("```python\n", 1)[1].split("```", 1)[0]
        operator = eval(call, dict(names))
        if isinstance(operator, StripeMethodOperator):
            check_params(item, operator.stripe_params)
            assert bool(item.path_param) == (operator.object_id is not None), item.method
        else:
            check_param_names(item, operator.stripe_params)


def test_the_business_key_operators_are_documented_as_they_are():
    docs = (ROOT / "docs" / "operators.md").read_text()
    customer = docs.split("## StripeCreateCustomerOperator\n", 1)[1].split("\n## ", 1)[0]
    assert "The `email` is trimmed and lower-cased before the lookup and the create." in customer
    assert "`match_metadata_key` (default `signup_id`)" in customer
    assert 'XCom gets `{"id", "object", "created", "livemode"}`' in customer
    assert "See StripeMethodOperator" not in customer
    subscription = docs.split("## StripeCreateSubscriptionOperator\n", 1)[1].split("\n## ", 1)[0]
    assert "the customer's subscriptions (any status) are listed" in subscription


def test_the_list_updated_operators_are_on_the_docs_page():
    docs = (ROOT / "docs" / "operators.md").read_text()
    from airflow_provider_stripe_sync.operators import stripe_updated

    names = sorted(
        name for name in vars(stripe_updated) if re.fullmatch(r"StripeListUpdated\w+Operator", name)
    )
    names.remove("StripeListUpdatedObjectsOperator")
    assert len(names) == 5
    for name in names:
        assert f"| `{name}` |" in docs


def test_named_entries():
    finalize = entry("invoices.finalize")
    assert (finalize.sdk_method, finalize.http_method, finalize.path) == (
        "finalize_invoice",
        "POST",
        "/v1/invoices/{invoice}/finalize",
    )
    assert finalize.params == ("auto_advance",)
    assert (finalize.writes, finalize.object_type, finalize.returns) == (True, "invoice", "object")
    cancel = entry("subscriptions.cancel")
    assert (cancel.http_method, cancel.operator) == ("DELETE", "StripeCancelSubscriptionOperator")
    assert entry("checkout_sessions.list").service == "checkout.sessions"
    assert entry("checkout_sessions.list").object_type == "checkout.session"
    search = entry("customers.search")
    assert (search.returns, search.required, search.writes) == ("search", ("query",), False)
    assert entry("customers.create").operator == StripeCreateCustomerOperator.__name__
    assert entry("charges.list_new").operator == StripeListNewChargesOperator.__name__
    assert resource_object_type("balance_transactions") == "balance_transaction"


def test_unknown_method_names_the_resource_methods():
    with pytest.raises(
        ValueError, match=r"'coupons.capture' is not a Stripe method .* coupons offers: coupons.create"
    ):
        entry("coupons.capture")
