"""Stripe's HTTP surface (``/v1/...``): auth, params, idempotency, lists, expand, errors."""

from __future__ import annotations

import base64
import bisect
import copy
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from airflow_provider_stripe_sync.sandbox import stripe_billing as billing
from airflow_provider_stripe_sync.sandbox import stripe_resources as res
from airflow_provider_stripe_sync.sandbox.common import ApiResponse, SandboxRequest
from airflow_provider_stripe_sync.sandbox.encoding import canonical
from airflow_provider_stripe_sync.sandbox.state import Fault, SandboxState
from airflow_provider_stripe_sync.sandbox.stripe_model import (
    API_VERSION,
    OBJECT_NAMES,
    PLATFORM_ACCOUNT_ID,
    StripeAccountStore,
    StripeError,
    missing,
    spec_data,
    to_bool,
    to_int,
)

log = logging.getLogger(__name__)

#: Idempotency keys expire this long (sandbox time) after first use.
IDEMPOTENCY_TTL = 24 * 3600

MAX_EXPAND_DEPTH = 4

_KEY_RE = re.compile(r"^(sk|rk)_(test|live)_\S+$")

PUBLISHABLE_KEY_MESSAGE = (
    "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a "
    "list of your API keys at https://dashboard.stripe.com/account/apikeys."
)
NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using "
    "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)

#: Default bodies of injected faults, by code.
FAULT_MESSAGES = {
    "rate_limit": "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits.",
    "lock_timeout": "This object cannot be accessed right now because another API request or Stripe process "
    "is currently accessing it. If you see this error intermittently, retry the request. If "
    "you see this error frequently and are making multiple concurrent requests to a single "
    "object, make your requests serially or at a lower rate.",
    "api_key_expired": "Expired API Key provided.",
    "account_invalid": "The provided key does not have access to account (or that account does not exist). "
    "Application access may have been revoked.",
}


class StripeState:
    """All Stripe partitions (``None`` is the platform)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.partitions: dict[str | None, StripeAccountStore] = {}
        #: Connect OAuth: accounts that disconnected the platform, pending codes, refresh tokens.
        self.deauthorized: set[str] = set()
        self.oauth_codes: dict[str, dict[str, str]] = {}
        self.oauth_refresh_tokens: dict[str, dict[str, str]] = {}
        #: Stripe Apps installs: access token -> {"account", "expires_at"}; refresh token -> account.
        self.app_tokens: dict[str, dict[str, Any]] = {}
        self.app_refresh_tokens: dict[str, str] = {}

    def store(self, account: str | None) -> StripeAccountStore:
        """Return (creating on first use) the store of one account."""
        if account not in self.partitions:
            self.partitions[account] = StripeAccountStore(self.state, account)
        return self.partitions[account]

    def reset(self) -> None:
        """Forget every partition."""
        self.partitions.clear()
        self.deauthorized.clear()
        self.oauth_codes.clear()
        self.oauth_refresh_tokens.clear()
        self.app_tokens.clear()
        self.app_refresh_tokens.clear()


class Ctx:
    """Per-request context passed to handlers."""

    def __init__(
        self,
        req: SandboxRequest,
        store: StripeAccountStore,
        stripe: StripeState,
        params: dict[str, Any],
        args: list[str],
    ) -> None:
        self.req = req
        self.store = store
        self.stripe = stripe
        self.params = params
        self.args = args


Handler = Callable[[Ctx], Any]


# -- params and lists ---------------------------------------------------------------------------------


def check_params(op: dict[str, Any], params: dict[str, Any]) -> None:
    """Refuse params Stripe does not define for the operation, and missing required ones."""
    allowed = op["params"]
    for name, value in params.items():
        if name == "expand":
            continue
        spec = allowed.get(name)
        if spec is None:
            raise StripeError(
                400, f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
        _check_nested(name, spec, value)
    for name in op["required"]:
        if params.get(name) in (None,):
            raise StripeError(400, f"Missing required param: {name}.", param=name, code="parameter_missing")


def _check_nested(name: str, spec: dict[str, Any], value: Any) -> None:
    """Check one level of nested keys (``created[gte]``, ``items[0][price]``)."""
    if isinstance(value, dict) and spec.get("keys"):
        for key in value:
            if key not in spec["keys"]:
                full = f"{name}[{key}]"
                raise StripeError(
                    400, f"Received unknown parameter: {full}", param=full, code="parameter_unknown"
                )
    if isinstance(value, list) and spec.get("item_keys"):
        for i, item in enumerate(value):
            for key in item if isinstance(item, dict) else ():
                if key not in spec["item_keys"]:
                    full = f"{name}[{i}][{key}]"
                    raise StripeError(
                        400, f"Received unknown parameter: {full}", param=full, code="parameter_unknown"
                    )


def created_bounds(spec: Any) -> tuple[int, int] | None:
    """
    The oldest and newest ``created`` seconds (both included) a filter admits: an int, or
    ``gt``/``gte``/``lt``/``lte``; ``None`` when there is no filter.
    """
    if spec in (None, ""):
        return None
    if not isinstance(spec, dict):
        exact = to_int(spec, "created")
        return exact, exact
    low, high = -(2**63), 2**63
    for key, value in spec.items():
        bound = to_int(value, f"created[{key}]")
        if key == "gt":
            low = max(low, bound + 1)
        elif key == "gte":
            low = max(low, bound)
        elif key == "lt":
            high = min(high, bound - 1)
        elif key == "lte":
            high = min(high, bound)
    return low, high


def created_filter(spec: Any) -> Callable[[int], bool] | None:
    """Compile a ``created`` filter (an int or ``gt``/``gte``/``lt``/``lte``) into a predicate."""
    bounds = created_bounds(spec)
    if bounds is None:
        return None
    low, high = bounds
    return lambda created: low <= created <= high


def created_matches(created: int, spec: Any) -> bool:
    """Apply a ``created`` filter to one timestamp."""
    check = created_filter(spec)
    return check is None or check(created)


def paginate(
    ctx: Ctx,
    resource: str,
    url: str,
    predicate: Callable[[dict[str, Any]], bool] | None = None,
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return one newest-first page with Stripe's cursor semantics."""
    params = ctx.params
    limit = _limit(params.get("limit"))
    after, before = params.get("starting_after") or None, params.get("ending_before") or None
    if after and before:
        raise StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")
    store = ctx.store
    in_window = created_filter(params.get("created"))
    if items is None:
        ordered = _indexed_slice(store, resource, params.get("created"), after, before)
    else:
        ordered = items
        if after or before:
            cursor_id = after or before
            cursor = store.objects[resource].get(cursor_id)
            if cursor is None:
                raise missing(resource, cursor_id, "starting_after" if after else "ending_before", 400)
            key = store.sort_key(cursor)
            if after:
                ordered = [o for o in ordered if store.sort_key(o) < key]
            else:
                ordered = [o for o in ordered if store.sort_key(o) > key]

    def keep(obj: dict[str, Any]) -> bool:
        return (in_window is None or in_window(obj.get("created", 0))) and (
            predicate is None or predicate(obj)
        )

    if before:
        newer = [o for o in ordered if keep(o)]
        page, has_more = newer[-limit:], len(newer) > limit
    else:
        page = []
        has_more = False
        for obj in ordered:
            if keep(obj):
                if len(page) == limit:
                    has_more = True
                    break
                page.append(obj)
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def _indexed_slice(
    store: StripeAccountStore, resource: str, created: Any, after: str | None, before: str | None
) -> Any:
    """
    The stored objects, newest first, from the cursor on (older ones after ``starting_after``, newer
    ones before ``ending_before``) and inside the ``created`` bounds, found by bisecting the sort keys:
    a page of a window deep in a large list costs what the first page costs.
    """
    objs, keys = store.order_index(resource)
    low, high = 0, len(objs)
    bounds = created_bounds(created)
    if bounds is not None:
        oldest, newest = bounds
        low = bisect.bisect_left(keys, (-newest, -(2**63)))
        high = bisect.bisect_right(keys, (-oldest, 2**63))
    if after or before:
        cursor_id = after or before
        cursor = store.objects[resource].get(cursor_id)
        if cursor is None:
            raise missing(resource, cursor_id, "starting_after" if after else "ending_before", 400)
        created_at, seq = store.sort_key(cursor)
        if after:
            low = max(low, bisect.bisect_right(keys, (-created_at, -seq)))
        else:
            high = min(high, bisect.bisect_left(keys, (-created_at, -seq)))
    return (objs[i] for i in range(low, high))


def _limit(value: Any) -> int:
    """Validate ``limit`` (1..100, default 10)."""
    if value in (None, ""):
        return 10
    limit = to_int(value, "limit")
    if limit < 1:
        raise StripeError(
            400,
            "This value must be greater than or equal to 1.",
            param="limit",
            code="parameter_invalid_integer",
        )
    if limit > 100:
        raise StripeError(
            400,
            "This value must be less than or equal to 100.",
            param="limit",
            code="parameter_invalid_integer",
        )
    return limit


# -- expand -----------------------------------------------------------------------------------------


def expand(store: StripeAccountStore, body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Return a deep copy of ``body`` with the requested ``expand`` paths expanded."""
    out = json.loads(json.dumps(body))
    is_list = out.get("object") == "list"
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise StripeError(
                400,
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        if is_list and parts[0] != "data":
            raise StripeError(
                400,
                f"This property cannot be expanded ({path}). You may want to try expanding "
                f"'data.{path}' instead.",
                param="expand",
            )
        _expand_into(store, out, parts, path)
    return out


def _expand_into(store: StripeAccountStore, obj: Any, parts: list[str], path: str) -> None:
    """Expand one path inside ``obj`` (in place)."""
    if not parts or obj is None:
        return
    if isinstance(obj, list):
        for item in obj:
            _expand_into(store, item, parts, path)
        return
    if not isinstance(obj, dict) or parts[0] not in obj:
        raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
    field, rest = parts[0], parts[1:]
    value = obj[field]
    if isinstance(value, str):
        expandable = spec_data()["expandable"].get(obj.get("object", ""), [])
        if field not in expandable:
            raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
        target = store.find(value)
        if target is None:
            return
        value = copy.deepcopy(target)
        obj[field] = value
    elif not isinstance(value, (dict, list)) and value is not None:
        raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
    _expand_into(store, value, rest, path)


def set_livemode(value: Any, livemode: bool) -> None:
    """Make every ``livemode`` flag in a response follow the key's mode."""
    if isinstance(value, dict):
        if "livemode" in value:
            value["livemode"] = livemode
        for child in value.values():
            if isinstance(child, (dict, list)):
                set_livemode(child, livemode)
    elif isinstance(value, list):
        for child in value:
            set_livemode(child, livemode)


# -- handlers -----------------------------------------------------------------------------------------


def _retrieve(resource: str) -> Handler:
    """GET one object (deleted customers/products return their stub)."""

    def handler(ctx: Ctx) -> Any:
        obj_id = ctx.args[0]
        if obj_id in ctx.store.deleted and resource in ("customers", "products"):
            return ctx.store.deleted[obj_id]
        if resource == "balance_transactions":
            ctx.store.refresh_balance_statuses()
        return ctx.store.get(resource, obj_id)

    return handler


def _create(fn: Callable[..., dict[str, Any]]) -> Handler:
    """POST a new object."""
    return lambda ctx: fn(ctx.store, ctx.params)


def _update(resource: str, fn: Callable[..., dict[str, Any]]) -> Handler:
    """POST changes to one object."""
    return lambda ctx: fn(ctx.store, ctx.store.get(resource, ctx.args[0]), ctx.params)


def _delete(resource: str, event: str) -> Handler:
    """DELETE one object."""
    return lambda ctx: res.delete_object(ctx.store, resource, ctx.store.get(resource, ctx.args[0]), event)


def _eq(params: dict[str, Any], name: str, field: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """Predicate: object field equals the param when the param is given."""
    value = params.get(name)
    field = field or name
    if value in (None, ""):
        return lambda o: True
    return lambda o: o.get(field) == value


def _all(*predicates: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    """Combine predicates."""
    return lambda o: all(p(o) for p in predicates)


def list_customers(ctx: Ctx) -> Any:
    """GET /v1/customers (``email`` is exact and case-sensitive)."""
    return paginate(ctx, "customers", "/v1/customers", _eq(ctx.params, "email"))


def list_products(ctx: Ctx) -> Any:
    """GET /v1/products."""
    p = ctx.params
    preds = [_eq(p, "shippable"), _eq(p, "url")]
    if p.get("active") not in (None, ""):
        active = to_bool(p["active"], "active")
        preds.append(lambda o: o["active"] == active)
    if p.get("ids"):
        ids = set(p["ids"]) if isinstance(p["ids"], list) else {p["ids"]}
        preds.append(lambda o: o["id"] in ids)
    return paginate(ctx, "products", "/v1/products", _all(*preds))


def list_prices(ctx: Ctx) -> Any:
    """GET /v1/prices (``product``, ``active``, ``lookup_keys``, ``currency``, ``type``)."""
    p = ctx.params
    preds = [_eq(p, "product"), _eq(p, "currency"), _eq(p, "type")]
    if p.get("active") not in (None, ""):
        active = to_bool(p["active"], "active")
        preds.append(lambda o: o["active"] == active)
    if p.get("lookup_keys"):
        keys = set(p["lookup_keys"]) if isinstance(p["lookup_keys"], list) else {p["lookup_keys"]}
        preds.append(lambda o: o.get("lookup_key") in keys)
    if isinstance(p.get("recurring"), dict) and p["recurring"].get("interval"):
        interval = p["recurring"]["interval"]
        preds.append(lambda o: (o.get("recurring") or {}).get("interval") == interval)
    return paginate(ctx, "prices", "/v1/prices", _all(*preds))


def list_charges(ctx: Ctx) -> Any:
    """GET /v1/charges."""
    p = ctx.params
    pred = _all(_eq(p, "customer"), _eq(p, "payment_intent"), _eq(p, "transfer_group"))
    return paginate(ctx, "charges", "/v1/charges", pred)


def list_refunds(ctx: Ctx) -> Any:
    """GET /v1/refunds."""
    return paginate(
        ctx, "refunds", "/v1/refunds", _all(_eq(ctx.params, "charge"), _eq(ctx.params, "payment_intent"))
    )


def list_payment_intents(ctx: Ctx) -> Any:
    """GET /v1/payment_intents."""
    return paginate(ctx, "payment_intents", "/v1/payment_intents", _eq(ctx.params, "customer"))


def list_subscriptions(ctx: Ctx) -> Any:
    """GET /v1/subscriptions (default status filter excludes canceled; ``all`` includes them)."""
    p = ctx.params
    status = p.get("status") or None
    if status == "all":
        status_pred = lambda o: True  # noqa: E731
    elif status == "ended":
        status_pred = lambda o: o["status"] in ("canceled", "incomplete_expired")  # noqa: E731
    elif status:
        status_pred = lambda o: o["status"] == status  # noqa: E731
    else:
        status_pred = lambda o: o["status"] not in ("canceled", "incomplete_expired")  # noqa: E731
    preds = [status_pred, _eq(p, "customer"), _eq(p, "collection_method")]
    if p.get("price"):
        preds.append(lambda o: any(i["price"]["id"] == p["price"] for i in o["items"]["data"]))
    return paginate(ctx, "subscriptions", "/v1/subscriptions", _all(*preds))


def list_balance_transactions(ctx: Ctx) -> Any:
    """GET /v1/balance_transactions (``type``, ``currency``, ``source``, ``payout``)."""
    ctx.store.refresh_balance_statuses()
    p = ctx.params
    preds = [_eq(p, "type"), _eq(p, "currency"), _eq(p, "source")]
    if p.get("payout"):
        preds.append(lambda o: ctx.store.payout_of.get(o["id"]) == p["payout"])
    return paginate(ctx, "balance_transactions", "/v1/balance_transactions", _all(*preds))


def list_events(ctx: Ctx) -> Any:
    """GET /v1/events (``type`` may end in ``*``; ``types`` is a list)."""
    p = ctx.params
    preds = []
    if p.get("type"):
        wanted = p["type"]
        if wanted.endswith("*"):
            preds.append(lambda o: o["type"].startswith(wanted[:-1]))
        else:
            preds.append(lambda o: o["type"] == wanted)
    if p.get("types"):
        types = set(p["types"]) if isinstance(p["types"], list) else {p["types"]}
        preds.append(lambda o: o["type"] in types)
    return paginate(ctx, "events", "/v1/events", _all(*preds))


def list_invoices(ctx: Ctx) -> Any:
    """GET /v1/invoices (``customer``, ``status``, ``subscription``, ``collection_method``)."""
    p = ctx.params
    pred = _all(_eq(p, "customer"), _eq(p, "status"), _eq(p, "subscription"), _eq(p, "collection_method"))
    return paginate(ctx, "invoices", "/v1/invoices", pred)


def list_invoiceitems(ctx: Ctx) -> Any:
    """GET /v1/invoiceitems (``customer``, ``invoice``, ``pending``)."""
    p = ctx.params
    preds = [_eq(p, "customer"), _eq(p, "invoice")]
    if p.get("pending") not in (None, ""):
        pending = to_bool(p["pending"], "pending")
        preds.append(lambda o: (o["invoice"] is None) == pending)
    return paginate(ctx, "invoiceitems", "/v1/invoiceitems", _all(*preds))


def list_payouts(ctx: Ctx) -> Any:
    """GET /v1/payouts (``status``, ``destination``, ``arrival_date``)."""
    p = ctx.params
    preds = [_eq(p, "status"), _eq(p, "destination")]
    arrival = created_filter(p.get("arrival_date"))
    if arrival is not None:
        preds.append(lambda o: arrival(o["arrival_date"]))
    return paginate(ctx, "payouts", "/v1/payouts", _all(*preds))


def list_coupons(ctx: Ctx) -> Any:
    """GET /v1/coupons."""
    return paginate(ctx, "coupons", "/v1/coupons")


def list_subscription_items(ctx: Ctx) -> Any:
    """GET /v1/subscription_items (``subscription`` is required)."""
    sub = ctx.store.get("subscriptions", ctx.params["subscription"], param="subscription", status=400)
    ids = {item["id"] for item in sub["items"]["data"]}
    return paginate(ctx, "subscription_items", "/v1/subscription_items", lambda o: o["id"] in ids)


def list_tax_rates(ctx: Ctx) -> Any:
    """GET /v1/tax_rates (``active``, ``inclusive``)."""
    p = ctx.params
    preds = []
    for name in ("active", "inclusive"):
        if p.get(name) not in (None, ""):
            wanted = to_bool(p[name], name)
            preds.append(lambda o, name=name, wanted=wanted: o[name] == wanted)
    return paginate(ctx, "tax_rates", "/v1/tax_rates", _all(*preds))


_SEARCH_CLAUSE = re.compile(r"^\s*(\w+)(?:\[['\"]([^'\"]+)['\"]\])?\s*:\s*['\"]([^'\"]*)['\"]\s*$")


def search_customers(ctx: Ctx) -> Any:
    """GET /v1/customers/search: ``field:'value'`` clauses (email, name, phone, metadata['k']) and AND."""
    query = ctx.params.get("query") or ""
    clauses = []
    for part in re.split(r"\s+AND\s+", query):
        found = _SEARCH_CLAUSE.match(part)
        if found is None or found.group(1) not in ("email", "name", "phone", "metadata"):
            raise StripeError(400, f"Invalid search query: {query}", param="query")
        clauses.append(found.groups())

    def matches(obj: dict[str, Any]) -> bool:
        for field, key, value in clauses:
            actual = (obj.get("metadata") or {}).get(key) if field == "metadata" else obj.get(field)
            if (actual or "").lower() != value.lower():
                return False
        return True

    hits = [obj for obj in ctx.store.ordered("customers") if matches(obj)]
    limit = _limit(ctx.params.get("limit"))
    start = to_int(ctx.params.get("page") or 0, "page")
    page = hits[start : start + limit]
    more = start + limit < len(hits)
    return {
        "object": "search_result",
        "data": page,
        "has_more": more,
        "next_page": str(start + limit) if more else None,
        "total_count": len(hits),
        "url": "/v1/customers/search",
    }


def _invoice_action(fn: Callable[..., dict[str, Any]]) -> Handler:
    """POST /v1/invoices/{invoice}/<action>."""
    return lambda ctx: fn(ctx.store, ctx.store.get("invoices", ctx.args[0], param="invoice"), ctx.params)


def list_accounts(ctx: Ctx) -> Any:
    """GET /v1/accounts: the connected accounts the sandbox knows (partitions other than the platform)."""
    accounts = [ctx.stripe.store(acct).account_object() for acct in list(ctx.stripe.partitions) if acct]
    for acct in accounts:
        ctx.store.put("accounts", acct)
    return paginate(ctx, "accounts", "/v1/accounts")


def retrieve_account(ctx: Ctx) -> Any:
    """GET /v1/accounts/{account}."""
    if ctx.args[0] not in ctx.stripe.partitions:
        raise StripeError(404, f"No such account: '{ctx.args[0]}'", param="account", code="resource_missing")
    return ctx.stripe.store(ctx.args[0]).account_object()


def _confirm(ctx: Ctx) -> Any:
    """POST /v1/payment_intents/{intent}/confirm."""
    return res.confirm_payment_intent(ctx.store, ctx.store.get("payment_intents", ctx.args[0]), ctx.params)


def _cancel(ctx: Ctx) -> Any:
    """DELETE /v1/subscriptions/{id}."""
    return res.cancel_subscription(ctx.store, ctx.store.get("subscriptions", ctx.args[0]), ctx.params)


ID = r"([^/]+)"

#: Stripe's search endpoints the sandbox does not serve (only customer search is).
UNSERVED_SEARCH = re.compile(
    r"^/v1/(subscriptions|charges|payment_intents|invoices|products|prices)/search/?$"
)


def search_not_served(resource: str) -> StripeError:
    """A clear 404 for a Stripe search the sandbox does not serve (not "unknown parameter: query")."""
    return StripeError(
        404,
        f"The sandbox serves search for customers only (GET /v1/customers/search); GET "
        f"/v1/{resource}/search is Stripe's but not served here. List /v1/{resource} with its filters "
        "instead, or use Stripe's test mode.",
    )


#: (method, path regex, operation key, handler)
ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", r"/v1/customers", "/v1/customers", list_customers),
    ("POST", r"/v1/customers", "/v1/customers", _create(res.create_customer)),
    ("GET", r"/v1/customers/search", "/v1/customers/search", search_customers),
    ("GET", r"/v1/customers/" + ID, "/v1/customers/{customer}", _retrieve("customers")),
    ("POST", r"/v1/customers/" + ID, "/v1/customers/{customer}", _update("customers", res.update_customer)),
    ("DELETE", r"/v1/customers/" + ID, "/v1/customers/{customer}", _delete("customers", "customer.deleted")),
    ("GET", r"/v1/products", "/v1/products", list_products),
    ("POST", r"/v1/products", "/v1/products", _create(res.create_product)),
    ("GET", r"/v1/products/" + ID, "/v1/products/{id}", _retrieve("products")),
    ("POST", r"/v1/products/" + ID, "/v1/products/{id}", _update("products", res.update_product)),
    ("DELETE", r"/v1/products/" + ID, "/v1/products/{id}", _delete("products", "product.deleted")),
    ("GET", r"/v1/prices", "/v1/prices", list_prices),
    ("POST", r"/v1/prices", "/v1/prices", _create(res.create_price)),
    ("GET", r"/v1/prices/" + ID, "/v1/prices/{price}", _retrieve("prices")),
    ("POST", r"/v1/prices/" + ID, "/v1/prices/{price}", _update("prices", res.update_price)),
    ("GET", r"/v1/charges", "/v1/charges", list_charges),
    ("POST", r"/v1/charges", "/v1/charges", _create(res.create_charge)),
    ("GET", r"/v1/charges/" + ID, "/v1/charges/{charge}", _retrieve("charges")),
    ("POST", r"/v1/charges/" + ID, "/v1/charges/{charge}", _update("charges", res.update_charge)),
    ("GET", r"/v1/refunds", "/v1/refunds", list_refunds),
    ("POST", r"/v1/refunds", "/v1/refunds", _create(res.create_refund)),
    ("GET", r"/v1/refunds/" + ID, "/v1/refunds/{refund}", _retrieve("refunds")),
    ("POST", r"/v1/refunds/" + ID, "/v1/refunds/{refund}", _update("refunds", res.update_refund)),
    ("GET", r"/v1/payment_intents", "/v1/payment_intents", list_payment_intents),
    ("POST", r"/v1/payment_intents", "/v1/payment_intents", _create(res.create_payment_intent)),
    ("GET", r"/v1/payment_intents/" + ID, "/v1/payment_intents/{intent}", _retrieve("payment_intents")),
    (
        "POST",
        r"/v1/payment_intents/" + ID,
        "/v1/payment_intents/{intent}",
        _update("payment_intents", res.update_payment_intent),
    ),
    ("POST", r"/v1/payment_intents/" + ID + "/confirm", "/v1/payment_intents/{intent}/confirm", _confirm),
    ("GET", r"/v1/subscriptions", "/v1/subscriptions", list_subscriptions),
    ("POST", r"/v1/subscriptions", "/v1/subscriptions", _create(res.create_subscription)),
    (
        "GET",
        r"/v1/subscriptions/" + ID,
        "/v1/subscriptions/{subscription_exposed_id}",
        _retrieve("subscriptions"),
    ),
    (
        "POST",
        r"/v1/subscriptions/" + ID,
        "/v1/subscriptions/{subscription_exposed_id}",
        _update("subscriptions", res.update_subscription),
    ),
    ("DELETE", r"/v1/subscriptions/" + ID, "/v1/subscriptions/{subscription_exposed_id}", _cancel),
    ("GET", r"/v1/balance_transactions", "/v1/balance_transactions", list_balance_transactions),
    (
        "GET",
        r"/v1/balance_transactions/" + ID,
        "/v1/balance_transactions/{id}",
        _retrieve("balance_transactions"),
    ),
    ("GET", r"/v1/events", "/v1/events", list_events),
    ("GET", r"/v1/events/" + ID, "/v1/events/{id}", _retrieve("events")),
    ("GET", r"/v1/account", "/v1/account", lambda ctx: ctx.store.account_object()),
    ("GET", r"/v1/accounts", "/v1/accounts", list_accounts),
    ("GET", r"/v1/accounts/" + ID, "/v1/accounts/{account}", retrieve_account),
    ("GET", r"/v1/balance", "/v1/balance", lambda ctx: ctx.store.balance()),
    (
        "POST",
        r"/v1/charges/" + ID + "/capture",
        "/v1/charges/{charge}/capture",
        lambda ctx: res.capture_charge(ctx.store, ctx.store.get("charges", ctx.args[0]), ctx.params),
    ),
    (
        "POST",
        r"/v1/payment_intents/" + ID + "/capture",
        "/v1/payment_intents/{intent}/capture",
        lambda ctx: res.capture_payment_intent(
            ctx.store, ctx.store.get("payment_intents", ctx.args[0]), ctx.params
        ),
    ),
    ("GET", r"/v1/invoices", "/v1/invoices", list_invoices),
    ("POST", r"/v1/invoices", "/v1/invoices", _create(billing.create_invoice)),
    ("GET", r"/v1/invoices/" + ID, "/v1/invoices/{invoice}", _retrieve("invoices")),
    ("POST", r"/v1/invoices/" + ID, "/v1/invoices/{invoice}", _update("invoices", billing.update_invoice)),
    (
        "DELETE",
        r"/v1/invoices/" + ID,
        "/v1/invoices/{invoice}",
        lambda ctx: billing.delete_invoice(ctx.store, ctx.store.get("invoices", ctx.args[0])),
    ),
    (
        "POST",
        r"/v1/invoices/" + ID + "/finalize",
        "/v1/invoices/{invoice}/finalize",
        _invoice_action(billing.finalize_invoice),
    ),
    (
        "POST",
        r"/v1/invoices/" + ID + "/pay",
        "/v1/invoices/{invoice}/pay",
        _invoice_action(billing.pay_invoice),
    ),
    (
        "POST",
        r"/v1/invoices/" + ID + "/void",
        "/v1/invoices/{invoice}/void",
        _invoice_action(billing.void_invoice),
    ),
    ("GET", r"/v1/invoiceitems", "/v1/invoiceitems", list_invoiceitems),
    ("POST", r"/v1/invoiceitems", "/v1/invoiceitems", _create(billing.create_invoiceitem)),
    ("GET", r"/v1/invoiceitems/" + ID, "/v1/invoiceitems/{invoiceitem}", _retrieve("invoiceitems")),
    (
        "POST",
        r"/v1/invoiceitems/" + ID,
        "/v1/invoiceitems/{invoiceitem}",
        _update("invoiceitems", billing.update_invoiceitem),
    ),
    (
        "DELETE",
        r"/v1/invoiceitems/" + ID,
        "/v1/invoiceitems/{invoiceitem}",
        lambda ctx: billing.delete_invoiceitem(ctx.store, ctx.store.get("invoiceitems", ctx.args[0])),
    ),
    ("GET", r"/v1/payouts", "/v1/payouts", list_payouts),
    ("GET", r"/v1/payouts/" + ID, "/v1/payouts/{payout}", _retrieve("payouts")),
    ("GET", r"/v1/coupons", "/v1/coupons", list_coupons),
    ("POST", r"/v1/coupons", "/v1/coupons", _create(billing.create_coupon)),
    ("GET", r"/v1/coupons/" + ID, "/v1/coupons/{coupon}", _retrieve("coupons")),
    ("POST", r"/v1/coupons/" + ID, "/v1/coupons/{coupon}", _update("coupons", billing.update_coupon)),
    ("DELETE", r"/v1/coupons/" + ID, "/v1/coupons/{coupon}", _delete("coupons", "coupon.deleted")),
    ("GET", r"/v1/subscription_items", "/v1/subscription_items", list_subscription_items),
    ("POST", r"/v1/subscription_items", "/v1/subscription_items", _create(res.create_subscription_item)),
    (
        "POST",
        r"/v1/subscription_items/" + ID,
        "/v1/subscription_items/{item}",
        _update("subscription_items", res.update_subscription_item),
    ),
    (
        "DELETE",
        r"/v1/subscription_items/" + ID,
        "/v1/subscription_items/{item}",
        _update("subscription_items", res.delete_subscription_item),
    ),
    (
        "GET",
        r"/v1/subscription_items/" + ID,
        "/v1/subscription_items/{item}",
        _retrieve("subscription_items"),
    ),
    ("GET", r"/v1/tax_rates", "/v1/tax_rates", list_tax_rates),
    ("POST", r"/v1/tax_rates", "/v1/tax_rates", _create(billing.create_tax_rate)),
    ("GET", r"/v1/tax_rates/" + ID, "/v1/tax_rates/{tax_rate}", _retrieve("tax_rates")),
    (
        "POST",
        r"/v1/tax_rates/" + ID,
        "/v1/tax_rates/{tax_rate}",
        _update("tax_rates", billing.update_tax_rate),
    ),
]

_COMPILED = [(m, re.compile(f"^{rx}/?$"), key, fn) for m, rx, key, fn in ROUTES]


def match_route(method: str, path: str) -> tuple[str, Handler, list[str]] | None:
    """Find the operation serving ``method path``."""
    for route_method, regex, key, fn in _COMPILED:
        if route_method != method:
            continue
        found = regex.match(path)
        if found:
            return key, fn, list(found.groups())
    return None


# -- the API ------------------------------------------------------------------------------------------


class StripeApi:
    """Answers ``/v1`` requests against a :class:`StripeState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.stripe = StripeState(state)
        state.register("stripe", self.stripe)

    def handle(self, req: SandboxRequest) -> ApiResponse:
        """Answer one request (called with the state lock held)."""
        headers = {
            "Request-Id": req.request_id,
            "Stripe-Version": req.header("stripe-version") or API_VERSION,
        }
        if req.header("idempotency-key"):
            headers["Idempotency-Key"] = req.header("idempotency-key") or ""
        try:
            livemode = self._authenticate(req)
            response = self._dispatch(req, livemode)
        except StripeError as err:
            response = self.error_response(err, req)
        response.headers = {**headers, **response.headers}
        return response

    def error_response(self, err: StripeError, req: SandboxRequest) -> ApiResponse:
        """Render a Stripe error."""
        body = err.body(req.request_id, self.state.clock.now())
        return ApiResponse(err.status, body, dict(err.headers))

    def fault_response(self, fault: Fault, req: SandboxRequest) -> ApiResponse:
        """Render an injected fault as Stripe would answer it."""
        if fault.body is not None:
            body = fault.body
        else:
            code = fault.code or ("rate_limit" if fault.status == 429 else None)
            type_ = "api_error" if fault.status >= 500 else "invalid_request_error"
            message = fault.message or FAULT_MESSAGES.get(code or "", "An unknown error occurred.")
            body = StripeError(fault.status, message, type_=type_, code=code).body(
                req.request_id, self.state.clock.now()
            )
        headers = {"Request-Id": req.request_id}
        if fault.code == "lock_timeout":
            # Stripe advises a retry on lock timeouts; the SDKs honour this header.
            headers["Stripe-Should-Retry"] = "true"
        headers.update(fault.headers)
        return ApiResponse(fault.status, body, headers, delay=fault.delay)

    @staticmethod
    def _authenticate(req: SandboxRequest) -> bool:
        """Check the API key; return whether it is a live key."""
        key = _api_key(req.header("authorization"))
        if not key:
            raise StripeError(401, NO_KEY_MESSAGE)
        if key.startswith("pk_"):
            raise StripeError(401, PUBLISHABLE_KEY_MESSAGE)
        if not _KEY_RE.match(key):
            masked = key[:8] + "*" * max(len(key) - 12, 4) + key[-4:] if len(key) > 12 else key[:3] + "****"
            raise StripeError(401, f"Invalid API Key provided: {masked}", code="api_key_invalid")
        return "_live_" in key

    def _dispatch(self, req: SandboxRequest, livemode: bool) -> ApiResponse:
        """Route, validate, apply idempotency and run the handler."""
        unserved = UNSERVED_SEARCH.match(req.path) if req.method == "GET" else None
        if unserved:
            # Else the retrieve route would take "search" for an id and refuse the query parameter.
            raise search_not_served(unserved.group(1))
        found = match_route(req.method, req.path)
        if found is None:
            raise StripeError(
                404,
                f"Unrecognized request URL ({req.method}: {req.path}). Please see https://stripe.com/docs or we "
                "can help at https://support.stripe.com/.",
            )
        key, handler, args = found
        account = req.header("stripe-account") or None
        app_token = self.stripe.app_tokens.get(_api_key(req.header("authorization")) or "")
        if app_token is not None:
            # A Stripe Apps access token acts for the account that installed the app, for an hour.
            if self.state.clock.now() >= app_token["expires_at"]:
                raise StripeError(
                    401, "Expired API Key provided: the access token has expired.", code="api_key_expired"
                )
            account = app_token["account"]
        if account and not account.startswith("acct_"):
            raise StripeError(400, "The Stripe-Account header must be a connected account id (acct_...).")
        if account in self.stripe.deauthorized:
            key = _api_key(req.header("authorization")) or ""
            raise StripeError(
                403,
                f"The provided key '{key[:8]}****{key[-4:]}' does not have access to account '{account}' (or "
                "that account does not exist). Application access may have been revoked.",
                code="account_invalid",
            )
        store = self.stripe.store(account)
        params = {**req.query, **req.form}
        op = spec_data()["operations"][f"{req.method} {key}"]
        check_params(op, params)
        idem_key = req.header("idempotency-key") if req.method in ("POST", "DELETE") else None
        if idem_key:
            replay = self._replay(store, idem_key, req, params)
            if replay is not None:
                return replay
        response = self._run(store, handler, req, params, args, livemode, idem_key)
        if idem_key and (response.status < 400 or response.status == 402 or response.status >= 500):
            store.idempotency[idem_key] = {
                "method": req.method,
                "path": req.path,
                "params": canonical(params),
                "status": response.status,
                "body": response.body,
                "first_used": self.state.clock.now(),
                "request_id": req.request_id,
            }
        return response

    def _run(
        self,
        store: StripeAccountStore,
        handler: Handler,
        req: SandboxRequest,
        params: dict[str, Any],
        args: list[str],
        livemode: bool,
        idem_key: str | None,
    ) -> ApiResponse:
        """Run a handler and render its result (expand, livemode)."""
        store.request_id, store.idempotency_key = req.request_id, idem_key
        try:
            result = handler(Ctx(req, store, self.stripe, params, args))
            paths = params.get("expand") or []
            if not paths and req.method == "GET":
                return _encoded_at_once(result, livemode)
            body = expand(store, result, paths if isinstance(paths, list) else [paths])
            set_livemode(body, livemode)
            return ApiResponse(200, body)
        except StripeError as err:
            return self.error_response(err, req)
        finally:
            store.request_id = store.idempotency_key = None

    def _replay(
        self, store: StripeAccountStore, key: str, req: SandboxRequest, params: dict[str, Any]
    ) -> ApiResponse | None:
        """Return the saved response of an idempotent request, or None when the key is new or expired."""
        saved = store.idempotency.get(key)
        if saved is None:
            return None
        if self.state.clock.now() - saved["first_used"] >= IDEMPOTENCY_TTL:
            del store.idempotency[key]
            return None
        if saved["method"] != req.method or saved["path"] != req.path:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                "first used for ('{} {}' vs '{} {}'). Try using a key other than '{}' if you meant "
                "to execute a different request.".format(
                    saved["method"], saved["path"], req.method, req.path, key
                ),
                type_="idempotency_error",
            )
        if saved["params"] != canonical(params):
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to execute a "
                "different request.",
                type_="idempotency_error",
            )
        headers = {"Idempotent-Replayed": "true", "Original-Request": saved["request_id"]}
        return ApiResponse(saved["status"], copy.deepcopy(saved["body"]), headers)


def _encoded_at_once(body: Any, livemode: bool) -> ApiResponse:
    """
    Encode a read without expansions now, under the state lock, without copying it first: a page of
    large objects costs one encoding instead of a copy, a walk and an encoding. Every ``livemode``
    flag is set to the key's mode in the encoded text (a key followed by ``":`` never occurs inside
    an encoded string, whose quotes are escaped). The request log keeps the stored objects as they are.
    """
    raw = json.dumps(body, separators=(",", ":")).encode()
    flags = (b'"livemode":false', b'"livemode":true')
    wrong, right = flags if livemode else flags[::-1]
    return ApiResponse(200, body, raw=raw.replace(wrong, right))


def _api_key(header: str | None) -> str | None:
    """Extract the key from a Bearer or Basic Authorization header."""
    if not header:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credential.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.split(":", 1)[0] or None
    return None


def object_resource(obj: dict[str, Any]) -> str | None:
    """The resource name of an object (``customer`` → ``customers``)."""
    for resource, name in OBJECT_NAMES.items():
        if obj.get("object") == name:
            return resource
    return None


__all__ = ["StripeApi", "StripeState", "PLATFORM_ACCOUNT_ID", "paginate", "expand"]
