"""
The catalog of Stripe methods the provider offers as operators.

Only the resource list below is written by hand: which Stripe resources, their ``StripeClient.v1``
service, display names and the actions beyond create / retrieve / update / delete / list / search.
Everything else (the HTTP verb and path, the parameters accepted, whether a method writes, the
object type it returns) is derived by ``scripts/gen_catalog.py`` from the installed stripe SDK's
services and Stripe's OpenAPI description, and stored in ``catalog_data.json`` next to this file, so
nothing here needs the spec or the SDK at run time.

The pinned SDK is the authority for the parameters: requests are made at its API version, so an
entry accepts what its params ``TypedDict`` types. The OpenAPI description is older; it adds the
summaries and the returned object types, and where it differs the entry records it: ``sdk_only``
(newer than the spec, accepted) and ``spec_only`` (gone at the pinned version, refused with what
replaced it, from :data:`REMOVED_PARAMS`).

A method is named ``<resource>.<action>`` (``customers.create``, ``invoices.finalize``); ``list_new``
is the resource's list read over the run's ``created`` window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Resource:
    """
    One Stripe resource of the catalog (hand-written).

    :param name: the catalog's name (``checkout_sessions``); also the record files' name.
    :param service: the attribute path under ``StripeClient.v1`` (``checkout.sessions``).
    :param singular: display name of one object (``Checkout Session``).
    :param plural: display name of several (``Checkout Sessions``).
    :param actions: SDK methods offered besides the standard ones (``finalize_invoice``).
    """

    name: str
    service: str
    singular: str
    plural: str
    actions: tuple[str, ...] = ()


#: The SDK methods every resource offers when its service has them.
STANDARD_ACTIONS = ("create", "retrieve", "update", "delete", "list", "search")

#: The catalog's resources. Everything else about them is derived.
RESOURCES: tuple[Resource, ...] = (
    Resource("customers", "customers", "Customer", "Customers"),
    Resource("subscriptions", "subscriptions", "Subscription", "Subscriptions", ("cancel", "resume")),
    Resource("subscription_items", "subscription_items", "Subscription Item", "Subscription Items"),
    Resource("charges", "charges", "Charge", "Charges", ("capture",)),
    Resource(
        "payment_intents", "payment_intents", "Payment Intent", "Payment Intents", ("capture", "cancel")
    ),
    Resource("refunds", "refunds", "Refund", "Refunds", ("cancel",)),
    Resource(
        "invoices",
        "invoices",
        "Invoice",
        "Invoices",
        ("finalize_invoice", "pay", "void_invoice", "send_invoice", "mark_uncollectible"),
    ),
    Resource("invoiceitems", "invoice_items", "Invoice Item", "Invoice Items"),
    Resource("products", "products", "Product", "Products"),
    Resource("prices", "prices", "Price", "Prices"),
    Resource("coupons", "coupons", "Coupon", "Coupons"),
    Resource("promotion_codes", "promotion_codes", "Promotion Code", "Promotion Codes"),
    Resource("disputes", "disputes", "Dispute", "Disputes", ("close",)),
    Resource("payouts", "payouts", "Payout", "Payouts", ("cancel",)),
    Resource("balance_transactions", "balance_transactions", "Balance Transaction", "Balance Transactions"),
    Resource("balance", "balance", "Balance", "Balance"),
    Resource("events", "events", "Event", "Events"),
    Resource("checkout_sessions", "checkout.sessions", "Checkout Session", "Checkout Sessions", ("expire",)),
    Resource("credit_notes", "credit_notes", "Credit Note", "Credit Notes", ("void_credit_note",)),
    Resource("tax_rates", "tax_rates", "Tax Rate", "Tax Rates"),
    Resource("transfers", "transfers", "Transfer", "Transfers"),
)

RESOURCES_BY_NAME = {resource.name: resource for resource in RESOURCES}

#: Parameters the window and the page loop own on a ``list_new`` read.
LIST_NEW_RESERVED = frozenset({"created", "starting_after", "ending_before", "limit", "expand"})

#: Parameters of the (older) OpenAPI description the pinned SDK no longer types, by
#: ``<method>:<name>`` or by name: what replaced them at the pinned API version.
REMOVED_PARAMS: dict[str, str] = {
    "coupon": 'discounts=[{"coupon": "..."}]',
    "promotion_code": 'discounts=[{"promotion_code": "..."}]',
    "promotion_codes.create:coupon": 'promotion={"type": "coupon", "coupon": "..."}',
    "customers.update:bank_account": "the Payment Methods or Sources API (legacy sources are gone)",
    "customers.update:card": "the Payment Methods or Sources API (legacy sources are gone)",
    "customers.update:default_alipay_account": "default_source or invoice_settings.default_payment_method",
    "customers.update:default_bank_account": "default_source or invoice_settings.default_payment_method",
    "customers.update:default_card": "default_source or invoice_settings.default_payment_method",
    "charges.create:card": "source (a token or card id)",
    "payment_method_types": "automatic payment methods, allowed_payment_method_types or "
    "excluded_payment_method_types",
    "checkout_sessions.create:payment_method_types": "allowed_payment_method_types or "
    "excluded_payment_method_types",
    "rendering_options": "rendering",
    "invoiceitems.create:price": 'pricing={"price": "..."}',
    "invoiceitems.update:price": 'pricing={"price": "..."}',
    "unit_amount": "unit_amount_decimal, or pricing",
    "credit_notes.create:refund": 'refunds=[{"refund": "..."}]',
}

#: Operators that existed before the catalog keep their module and behaviour.
EXISTING_OPERATORS = {
    "customers.create": "airflow_provider_stripe_sync.operators.stripe",
    "subscriptions.create": "airflow_provider_stripe_sync.operators.stripe",
    "customers.list_new": "airflow_provider_stripe_sync.operators.stripe",
    "charges.list_new": "airflow_provider_stripe_sync.operators.stripe",
    "subscriptions.list_new": "airflow_provider_stripe_sync.operators.stripe",
    "balance_transactions.list_new": "airflow_provider_stripe_sync.operators.stripe",
}

#: Where generated operators live.
GENERATED_MODULE = "airflow_provider_stripe_sync.operators.stripe_methods"


def action_name(resource: Resource, sdk_method: str) -> str:
    """The catalog's action for an SDK method: ``finalize_invoice`` of invoices is ``finalize``."""
    singular = resource.singular.lower().replace(" ", "_")
    suffix = "_" + singular
    if sdk_method.endswith(suffix) and sdk_method != suffix.lstrip("_"):
        return sdk_method[: -len(suffix)]
    return sdk_method


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("_", " ").split())


def operator_name(resource: Resource, action: str) -> str:
    """The named operator of an entry: ``StripeCreateCustomerOperator``, ``StripeListNewPayoutsOperator``."""
    noun_one = resource.singular.replace(" ", "")
    noun_many = resource.plural.replace(" ", "")
    if action == "list":
        return f"StripeList{noun_many}Operator"
    if action == "list_new":
        return f"StripeListNew{noun_many}Operator"
    if action == "search":
        return f"StripeSearch{noun_many}Operator"
    return f"Stripe{_camel(action)}{noun_one}Operator"


@dataclass(frozen=True)
class CatalogEntry:
    """
    One Stripe method of the catalog (derived; see ``scripts/gen_catalog.py``).

    :param method: ``<resource>.<action>`` (``invoices.finalize``).
    :param resource: the catalog resource (``invoices``).
    :param action: ``create``, ``retrieve``, ``list``, ``list_new``, ``finalize``...
    :param service: the ``StripeClient.v1`` attribute path (``invoices``, ``checkout.sessions``).
    :param sdk_method: the service's method (``finalize_invoice``).
    :param http_method: ``GET``, ``POST`` or ``DELETE``.
    :param path: the path template from the spec (``/v1/invoices/{invoice}/finalize``).
    :param path_param: the id in the path (``invoice``), or ``None``.
    :param params: the parameters the spec allows (query or form body), ``expand`` excluded.
    :param required: the parameters the spec requires.
    :param writes: whether the method changes something (it then sends an idempotency key).
    :param object_type: the ``object`` value of what it returns or lists (``invoice``).
    :param returns: ``object``, ``list`` or ``search``.
    :param operator: the named operator's class name.
    :param module: the module the operator is importable from.
    :param summary: one sentence from Stripe's description of the operation.
    :param shapes: top-level parameters the SDK types as a hash or an array (``"dict"``, ``"list"``,
        with `` or ''`` when ``""``, Stripe's "unset", is typed too).
    :param in_spec: whether the OpenAPI description knows the method at all.
    :param sdk_only: accepted parameters the (older) OpenAPI description does not list.
    :param spec_only: parameters of the OpenAPI description the pinned SDK no longer types (refused).
    """

    method: str
    resource: str
    action: str
    service: str
    sdk_method: str
    http_method: str
    path: str
    path_param: str | None
    params: tuple[str, ...]
    required: tuple[str, ...]
    writes: bool
    object_type: str
    returns: str
    operator: str
    module: str
    summary: str
    shapes: dict[str, str]
    in_spec: bool
    sdk_only: tuple[str, ...]
    spec_only: tuple[str, ...]

    @property
    def is_list(self) -> bool:
        """Whether the method reads many objects (to a record file) rather than one."""
        return self.returns in ("list", "search")

    def display_name(self) -> str:
        """``Create Customer``, ``List New Charges``..."""
        return _split_camel(self.operator.removeprefix("Stripe").removesuffix("Operator"))


def _split_camel(text: str) -> str:
    words: list[str] = []
    for char in text:
        if char.isupper() and words:
            words.append(" ")
        words.append(char)
    return "".join(words)


@lru_cache(maxsize=1)
def _stored() -> dict[str, Any]:
    text = resources.files("airflow_provider_stripe_sync.stripe").joinpath("catalog_data.json").read_text()
    return json.loads(text)


def catalog_data() -> list[dict[str, Any]]:
    """The generated entries as stored in ``catalog_data.json``."""
    return _stored()["entries"]


def pinned_version() -> str:
    """What the catalog's parameters come from: ``stripe-python 16.1.0 (API version 2026-10-28.endive)``."""
    stored = _stored()
    return f"stripe-python {stored['sdk_version']} (API version {stored['api_version']})"


@lru_cache(maxsize=1)
def catalog() -> dict[str, CatalogEntry]:
    """Every catalog entry by method name, in catalog order."""
    entries = {}
    for raw in catalog_data():
        raw = dict(raw)
        for name in ("params", "required", "sdk_only", "spec_only"):
            raw[name] = tuple(raw[name])
        entries[raw["method"]] = CatalogEntry(**raw)
    return entries


def replacement(method: str, name: str) -> str | None:
    """What replaced a parameter the pinned API version no longer knows, when recorded."""
    return REMOVED_PARAMS.get(f"{method}:{name}") or REMOVED_PARAMS.get(name)


def unknown_params_message(item: CatalogEntry, unknown: list[str], accepted: list[str], *, what: str) -> str:
    """
    Say which parameters the pinned SDK does not know for a method, what replaced the removed ones
    and what it accepts. Never "Stripe refuses": Stripe may accept them at another API version.
    """
    replaced = [
        f"{name} (use {replacement(item.method, name)})" for name in unknown if replacement(item.method, name)
    ]
    names = ", ".join(unknown)
    text = f"{what} of {item.method} has {names}, which {pinned_version()} does not know for {item.method}"
    if replaced:
        text += f"; replaced at that version: {', '.join(replaced)}"
    return f"{text}. It accepts: {', '.join(accepted) or 'nothing'}."


def check_param_names(item: CatalogEntry, params: Any, *, what: str = "stripe_params") -> None:
    """Raise ``ValueError`` naming any key of ``params`` the entry does not accept."""
    if not isinstance(params, dict):
        return
    accepted = list(item.params)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(unknown_params_message(item, unknown, accepted, what=what))


_SHAPE_TYPES = {"dict": (dict,), "list": (list, tuple)}


def check_shapes(item: CatalogEntry, params: dict[str, Any], *, what: str = "stripe_params") -> None:
    """
    Raise ``TypeError`` for a top-level value the SDK types as a hash or an array but is not one.

    A Jinja template in a nested value (``{"metadata": "{{ ... }}"}``) renders to text unless the DAG
    sets ``render_template_as_native_obj=True``; Stripe would answer "Invalid hash".
    """
    for name, shape in item.shapes.items():
        if name not in params or params[name] is None:
            continue
        value = params[name]
        kind = shape.split(" ", 1)[0]
        if isinstance(value, _SHAPE_TYPES[kind]) or (shape.endswith("''") and value == ""):
            continue
        wanted = "a dict (hash)" if kind == "dict" else "a list (array)"
        if shape.endswith("''"):
            wanted += ' or "" to unset it'
        raise TypeError(
            f"{what}[{name!r}] of {item.method} must be {wanted}, got {type(value).__name__} {value!r}. "
            "A Jinja template renders to text unless the DAG sets render_template_as_native_obj=True "
            "(or pass the value itself, not a template)."
        )


def entry(method: str) -> CatalogEntry:
    """Return the entry called ``method``, or raise naming close ones."""
    entries = catalog()
    try:
        return entries[method]
    except KeyError:
        resource = method.split(".", 1)[0]
        same = sorted(name for name in entries if name.startswith(resource + "."))
        hint = f" {resource} offers: {', '.join(same)}." if same else " See docs/operators.md for the list."
        raise ValueError(f"{method!r} is not a Stripe method of the catalog.{hint}") from None


def resource_object_type(resource: str) -> str | None:
    """The ``object`` type of a resource's objects (``balance_transactions``: ``balance_transaction``)."""
    for item in catalog().values():
        if item.resource == resource:
            return item.object_type
    return None


def service_path(resource: str) -> str:
    """The ``StripeClient.v1`` attribute path of a resource (``checkout_sessions``: ``checkout.sessions``)."""
    known = RESOURCES_BY_NAME.get(resource)
    return known.service if known else resource
