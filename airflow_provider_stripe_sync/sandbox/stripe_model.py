"""Stripe objects and their side effects (balance transactions, events), independent of HTTP.

Objects are deep copies of templates derived from Stripe's fixtures (``data/stripe_spec.json``) with
real values filled in. Each ``Stripe-Account`` id has its own :class:`StripeAccountStore`; the platform
is the ``None`` partition.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from airflow_provider_stripe_sync.sandbox.state import SandboxState

#: The pinned API version the sandbox reports.
API_VERSION = "2026-10-28.endive"

#: Id prefix of each resource, and the resource of each prefix.
PREFIXES = {
    "customers": "cus",
    "products": "prod",
    "prices": "price",
    "charges": "ch",
    "refunds": "re",
    "payment_intents": "pi",
    "subscriptions": "sub",
    "subscription_items": "si",
    "balance_transactions": "txn",
    "events": "evt",
    "accounts": "acct",
    "invoices": "in",
    "invoiceitems": "ii",
    "payouts": "po",
    # Coupon ids carry no prefix (``Z4OV52SU``, or the id the caller chose).
    "coupons": "coupon",
    "tax_rates": "txr",
}
RESOURCE_BY_PREFIX = {v: k for k, v in PREFIXES.items()}

#: Object name (``object`` field) of each resource.
OBJECT_NAMES = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "charges": "charge",
    "refunds": "refund",
    "payment_intents": "payment_intent",
    "subscriptions": "subscription",
    "subscription_items": "subscription_item",
    "balance_transactions": "balance_transaction",
    "events": "event",
    "accounts": "account",
    "invoices": "invoice",
    "invoiceitems": "invoiceitem",
    "payouts": "payout",
    "coupons": "coupon",
    "tax_rates": "tax_rate",
}

#: Currencies without minor units.
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}

#: Settlement currencies an account may be given (``settlement_currencies``); a charge in any other
#: currency is converted to ``usd``. By default an account settles every currency in itself.
DEFAULT_CONVERTING_SETTLEMENT = ("usd", "eur", "gbp")

#: Fixed exchange rates to usd (major unit to major unit), as Stripe's ``exchange_rate`` means it.
USD_RATES = {
    "jpy": Decimal("0.0067"),
    "cad": Decimal("0.73"),
    "aud": Decimal("0.66"),
    "chf": Decimal("1.12"),
    "sek": Decimal("0.095"),
}

#: Fee: 2.9% plus 30 minor units of the settlement currency, rounded half up.
FEE_RATE = Decimal("0.029")
FEE_FIXED = 30

#: Funds become available this many days after the charge, at midnight UTC.
AVAILABLE_AFTER_DAYS = 2

PLATFORM_ACCOUNT_ID = "acct_1SandboxPlatfrm"


@lru_cache(maxsize=1)
def spec_data() -> dict[str, Any]:
    """Load the compact Stripe data written by ``scripts/gen_sandbox_data.py``."""
    text = (
        resources.files("airflow_provider_stripe_sync.sandbox").joinpath("data/stripe_spec.json").read_text()
    )
    return json.loads(text)


def template(name: str) -> dict[str, Any]:
    """Return a fresh copy of the template of one object type."""
    return copy.deepcopy(spec_data()["templates"][name])


class StripeError(Exception):
    """A Stripe-shaped error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, request_id: str, now: int) -> dict[str, Any]:
        """Return the error envelope."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/{}".format(self.code.replace("_", "-"))
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t={now}"
        error.update(self.extra)
        return {"error": error}


def missing(resource: str, obj_id: str, param: str = "id", status: int = 404) -> StripeError:
    """Stripe's error for an id that does not exist."""
    name = OBJECT_NAMES.get(resource, resource).replace("_", " ")
    return StripeError(status, f"No such {name}: '{obj_id}'", param=param, code="resource_missing")


def to_int(value: Any, param: str) -> int:
    """Coerce a form value to int, as Stripe does."""
    if isinstance(value, bool):
        raise StripeError(400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise StripeError(
            400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        ) from None


def to_bool(value: Any, param: str) -> bool:
    """Coerce a form value to bool."""
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "false"):
        return text == "true"
    raise StripeError(400, f"Invalid boolean: {value}", param=param)


def midnight_after(epoch: int, days: int) -> int:
    """Return midnight UTC ``days`` days after ``epoch``'s day."""
    day = datetime.fromtimestamp(epoch, tz=timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(day.timestamp()) + days * 86400


def fee_for(amount: int) -> int:
    """Stripe-like card fee in minor units of the settlement currency."""
    return int((Decimal(amount) * FEE_RATE + FEE_FIXED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def settle(
    amount: int, currency: str, settlement: tuple[str, ...] | None = None
) -> tuple[int, str, float | None]:
    """Convert a charge amount into the settlement currency: ``(amount, currency, exchange_rate)``.

    ``settlement`` lists the currencies the account settles in; ``None`` settles every currency in itself.
    """
    currency = currency.lower()
    if settlement is None or currency in settlement:
        return amount, currency, None
    rate = USD_RATES.get(currency, Decimal("1"))
    major = Decimal(amount) if currency in ZERO_DECIMAL else Decimal(amount) / 100
    usd_minor = int((major * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return usd_minor, "usd", float(rate)


def merge_metadata(current: dict[str, Any] | None, update: Any) -> dict[str, Any]:
    """Apply Stripe's metadata update rules (an empty value removes a key; ``""`` clears all)."""
    if update in ("", None):
        return {}
    out = dict(current or {})
    if not isinstance(update, dict):
        raise StripeError(400, "Invalid hash", param="metadata", code="parameter_invalid_hash")
    for key, value in update.items():
        if value in ("", None):
            out.pop(key, None)
        else:
            out[str(key)] = str(value)
    return out


class StripeAccountStore:
    """Objects of one Stripe account partition."""

    def __init__(self, state: SandboxState, account: str | None) -> None:
        self.state = state
        self.account = account
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in PREFIXES}
        self.seq: dict[str, int] = {}
        self.deleted: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}
        self._counter = 0
        self._order_cache: dict[str, tuple[list[dict[str, Any]], list[tuple[int, int]]]] = {}
        self.request_id: str | None = None
        self.idempotency_key: str | None = None
        #: Currencies this account settles in (None: every currency settles in itself).
        self.settlement_currencies: tuple[str, ...] | None = None
        #: The payout that paid out each balance transaction (``balance_transactions?payout=``).
        self.payout_of: dict[str, str] = {}

    # -- basics -------------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The sandbox time."""
        return self.state.clock.now()

    def new_id(self, resource: str) -> str:
        """Make an id for ``resource``."""
        return self.state.ids.make(PREFIXES[resource])

    def new_object(self, resource: str, created: int | None, obj_id: str | None = None) -> dict[str, Any]:
        """Start a new object from its template."""
        obj = template(OBJECT_NAMES[resource])
        obj["id"] = obj_id or self.new_id(resource)
        if "created" in obj:
            obj["created"] = int(created) if created is not None else self.now
        return obj

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object (new ones get the next insertion number)."""
        if obj["id"] not in self.seq:
            self._counter += 1
            self.seq[obj["id"]] = self._counter
        self.objects[resource][obj["id"]] = obj
        self._order_cache.pop(resource, None)
        return obj

    def get(self, resource: str, obj_id: str, param: str = "id", status: int = 404) -> dict[str, Any]:
        """Return a stored object or raise Stripe's ``resource_missing``."""
        obj = self.objects[resource].get(str(obj_id))
        if obj is None:
            raise missing(resource, str(obj_id), param, status)
        return obj

    def find(self, obj_id: str) -> dict[str, Any] | None:
        """Find any object by id (used by ``expand``)."""
        resource = RESOURCE_BY_PREFIX.get(str(obj_id).split("_", 1)[0])
        if resource is None:
            return None
        return self.objects[resource].get(obj_id) or self.deleted.get(obj_id)

    def sort_key(self, obj: dict[str, Any]) -> tuple[int, int]:
        """The list order key: ``(created, insertion number)``, compared descending."""
        return obj.get("created", 0), self.seq.get(obj["id"], 0)

    def ordered(self, resource: str) -> list[dict[str, Any]]:
        """All objects of a resource, newest first (created desc, then insertion desc); cached until a put."""
        return list(self.order_index(resource)[0])

    def order_index(self, resource: str) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
        """
        The newest-first objects of a resource and their negated sort keys (ascending), for bisecting
        to a cursor or a ``created`` bound instead of scanning; cached until a put. Do not modify.
        """
        cached = self._order_cache.get(resource)
        if cached is None or len(cached[0]) != len(self.objects[resource]):
            objs = sorted(self.objects[resource].values(), key=self.sort_key, reverse=True)
            keys = [(-created, -seq) for created, seq in map(self.sort_key, objs)]
            cached = self._order_cache[resource] = (objs, keys)
        return cached

    # -- events -------------------------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        created: int | None = None,
    ) -> dict[str, Any]:
        """Record an event carrying a snapshot of ``obj``."""
        event = self.new_object("events", created if created is not None else self.now)
        event["type"] = event_type
        event["api_version"] = API_VERSION
        event["data"] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            event["data"]["previous_attributes"] = copy.deepcopy(previous)
        event["pending_webhooks"] = 0
        event["request"] = {"id": self.request_id, "idempotency_key": self.idempotency_key}
        if "account" in event and self.account:
            event["account"] = self.account
        return self.put("events", event)

    def update(
        self, resource: str, obj: dict[str, Any], changes: dict[str, Any], event_type: str | None
    ) -> None:
        """Apply top-level changes and emit an update event with ``previous_attributes``."""
        previous = {k: copy.deepcopy(obj.get(k)) for k, v in changes.items() if obj.get(k) != v}
        obj.update(changes)
        if previous and event_type:
            self.emit(event_type, obj, previous)

    # -- balance ------------------------------------------------------------------------------------

    def balance_transaction(
        self,
        *,
        type_: str,
        amount: int,
        currency: str,
        source: str,
        created: int,
        description: str | None,
        fee: int = 0,
        exchange_rate: float | None = None,
    ) -> dict[str, Any]:
        """Create a balance transaction (amount, fee and net in the settlement currency)."""
        txn = self.new_object("balance_transactions", created)
        fee_details = []
        if fee:
            fee_details = [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
        txn.update(
            {
                "type": type_,
                "reporting_category": type_,
                "amount": amount,
                "currency": currency,
                "fee": fee,
                "fee_details": fee_details,
                "net": amount - fee,
                "source": source,
                "description": description,
                "exchange_rate": exchange_rate,
                "available_on": midnight_after(created, AVAILABLE_AFTER_DAYS),
                "balance_type": "payments",
            }
        )
        txn["status"] = "available" if txn["available_on"] <= self.now else "pending"
        return self.put("balance_transactions", txn)

    def refresh_balance_statuses(self) -> None:
        """Move balance transactions from pending to available as the clock passes ``available_on``."""
        now = self.now
        for txn in self.objects["balance_transactions"].values():
            txn["status"] = "available" if txn["available_on"] <= now else "pending"

    def balance(self) -> dict[str, Any]:
        """Compute the balance per currency from the balance transactions."""
        self.refresh_balance_statuses()
        available: dict[str, int] = {}
        pending: dict[str, int] = {}
        for txn in self.objects["balance_transactions"].values():
            bucket = available if txn["status"] == "available" else pending
            bucket[txn["currency"]] = bucket.get(txn["currency"], 0) + txn["net"]
        currencies = sorted(set(available) | set(pending) | {"usd"})
        out = template("balance")
        out["available"] = [
            {"amount": available.get(c, 0), "currency": c, "source_types": {"card": available.get(c, 0)}}
            for c in currencies
        ]
        out["pending"] = [
            {"amount": pending.get(c, 0), "currency": c, "source_types": {"card": pending.get(c, 0)}}
            for c in currencies
        ]
        out["connect_reserved"] = [{"amount": 0, "currency": c} for c in currencies]
        return out

    def account_object(self) -> dict[str, Any]:
        """The ``/v1/account`` object of this partition."""
        existing = self.objects["accounts"].get(self.account or PLATFORM_ACCOUNT_ID)
        if existing is not None:
            return existing
        acct = self.new_object("accounts", 1700000000, self.account or PLATFORM_ACCOUNT_ID)
        acct.update(
            {
                "email": "owner@sandbox.example",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "country": "US",
                "default_currency": "usd",
            }
        )
        acct["external_accounts"]["url"] = "/v1/accounts/{}/external_accounts".format(acct["id"])
        acct["business_profile"] = dict(acct.get("business_profile") or {}, name="Sandbox Ltd")
        return acct
