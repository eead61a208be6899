"""
The catalog of Stripe methods the provider offers as operators.

Only the resource list below is written by hand: which Stripe resources, their ``StripeClient.v1``
service, display names and the actions beyond create / retrieve / update / delete / list / search.
Everything else (the HTTP verb and path, the parameters Stripe accepts, whether a method writes, the
object type it returns) is derived by ``scripts/gen_catalog.py`` from the installed stripe SDK's
services and Stripe's OpenAPI description, and stored in ``catalog_data.json`` next to this file, so
nothing here needs the spec or the SDK at run time.

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
def catalog_data() -> list[dict[str, Any]]:
    """The generated entries as stored in ``catalog_data.json``."""
    text = resources.files("airflow_provider_stripe_sync.stripe").joinpath("catalog_data.json").read_text()
    return json.loads(text)["entries"]


@lru_cache(maxsize=1)
def catalog() -> dict[str, CatalogEntry]:
    """Every catalog entry by method name, in catalog order."""
    entries = {}
    for raw in catalog_data():
        raw = dict(raw, params=tuple(raw["params"]), required=tuple(raw["required"]))
        entries[raw["method"]] = CatalogEntry(**raw)
    return entries


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
