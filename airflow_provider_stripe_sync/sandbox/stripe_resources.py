"""Create, update and delete Stripe resources in a :class:`StripeAccountStore`, with side effects.

Every function takes already-decoded params (strings from the form body are coerced here) and an
optional ``created`` time, so the admin seed and the demo use exactly the same paths as API calls.
"""

from __future__ import annotations

import calendar
import copy
from datetime import datetime, timezone
from typing import Any

from airflow_provider_stripe_sync.sandbox.stripe_model import (
    ZERO_DECIMAL,
    StripeAccountStore,
    StripeError,
    fee_for,
    merge_metadata,
    missing,
    settle,
    template,
    to_bool,
    to_int,
)

#: Fields callers may never set directly.
_PROTECTED = {"id", "object", "created", "livemode"}

#: Test tokens that decline.
DECLINE_TOKENS = {"tok_chargeDeclined", "tok_visa_chargeDeclined", "pm_card_chargeDeclined"}


def apply_fields(obj: dict[str, Any], params: dict[str, Any], skip: set[str] = frozenset()) -> dict[str, Any]:
    """Copy simple params onto the object's existing keys; return the changes made."""
    changes: dict[str, Any] = {}
    for key, value in params.items():
        if key in _PROTECTED or key in skip or key == "expand" or key not in obj:
            continue
        if key == "metadata":
            changes[key] = merge_metadata(obj.get("metadata"), value)
        elif isinstance(obj.get(key), bool) or key in ("active", "cancel_at_period_end", "livemode"):
            changes[key] = to_bool(value, key)
        elif isinstance(obj.get(key), int) and not isinstance(obj.get(key), bool) and value != "":
            changes[key] = to_int(value, key)
        elif value == "":
            changes[key] = None
        else:
            changes[key] = copy.deepcopy(value)
    return changes


def add_interval(epoch: int, interval: str, count: int) -> int:
    """Add a billing interval to an epoch (months keep the day, clamped to the month's end)."""
    if interval == "day":
        return epoch + 86400 * count
    if interval == "week":
        return epoch + 7 * 86400 * count
    months = count * (12 if interval == "year" else 1)
    start = datetime.fromtimestamp(epoch, tz=timezone.utc)
    total = start.month - 1 + months
    year, month = start.year + total // 12, total % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def _require(params: dict[str, Any], name: str) -> Any:
    """Return a required param or raise Stripe's ``parameter_missing``."""
    value = params.get(name)
    if value in (None, ""):
        raise StripeError(400, f"Missing required param: {name}.", param=name, code="parameter_missing")
    return value


def _currency(value: Any, param: str = "currency") -> str:
    """Validate a currency code."""
    text = str(value).lower()
    if len(text) != 3 or not text.isalpha():
        raise StripeError(400, f"Invalid currency: {value}", param=param, code="parameter_invalid_string")
    return text


def _finish_create(
    store: StripeAccountStore,
    resource: str,
    obj: dict[str, Any],
    event: str | None,
    overrides: dict[str, Any] | None,
) -> dict[str, Any]:
    """Apply seed overrides, store the object and emit its creation event."""
    if overrides:
        for key, value in overrides.items():
            if key in obj and key not in ("id", "object"):
                obj[key] = copy.deepcopy(value)
    store.put(resource, obj)
    if event:
        store.emit(event, obj, created=obj.get("created"))
    return obj


# -- customers --------------------------------------------------------------------------------------


def create_customer(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a customer."""
    obj = store.new_object("customers", created, obj_id)
    obj["invoice_prefix"] = store.state.ids.token(8).upper()
    obj["preferred_locales"] = []
    obj["tax_exempt"] = "none"
    obj.update(apply_fields(obj, params, skip={"address", "shipping"}))
    for key in ("address", "shipping"):
        if isinstance(params.get(key), dict):
            obj[key] = _address_like(key, params[key])
    return _finish_create(store, "customers", obj, "customer.created", overrides)


def _address_like(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Fill an address (or shipping) dict with Stripe's keys."""
    blank = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}
    if key == "address":
        return {**blank, **{k: v for k, v in value.items() if k in blank}}
    address = {**blank, **{k: v for k, v in (value.get("address") or {}).items() if k in blank}}
    return {"address": address, "name": value.get("name"), "phone": value.get("phone")}


def update_customer(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Update a customer."""
    changes = apply_fields(obj, params, skip={"address", "shipping"})
    for key in ("address", "shipping"):
        if isinstance(params.get(key), dict):
            changes[key] = _address_like(key, params[key])
    store.update("customers", obj, changes, "customer.updated")
    return obj


def delete_object(
    store: StripeAccountStore, resource: str, obj: dict[str, Any], event: str, at: int | None = None
) -> dict[str, Any]:
    """Delete an object; retrieving it later returns the deleted stub."""
    if resource == "customers":
        for sub in list(store.objects["subscriptions"].values()):
            if sub["customer"] == obj["id"] and sub["status"] != "canceled":
                cancel_subscription(store, sub, {}, at=at)
    store.objects[resource].pop(obj["id"], None)
    stub = {"id": obj["id"], "object": obj["object"], "deleted": True}
    store.deleted[obj["id"]] = stub
    store.emit(event, obj, created=at)
    return stub


# -- products and prices ----------------------------------------------------------------------------


def create_product(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a product (``id`` may be given, as Stripe allows)."""
    _require(params, "name")
    given_id = obj_id or params.get("id")
    if given_id and given_id in store.objects["products"]:
        raise StripeError(400, "Product already exists.", param="id", code="resource_already_exists")
    obj = store.new_object("products", created, given_id)
    obj.update({"images": [], "marketing_features": [], "type": "service", "updated": obj["created"]})
    obj.update(apply_fields(obj, params, skip={"default_price_data"}))
    return _finish_create(store, "products", obj, "product.created", overrides)


def update_product(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Update a product."""
    changes = apply_fields(obj, params)
    if changes:
        changes["updated"] = store.now
    store.update("products", obj, changes, "product.updated")
    return obj


def create_price(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a price for an existing product (or ``product_data``)."""
    currency = _currency(_require(params, "currency"))
    product_id = params.get("product")
    if not product_id and isinstance(params.get("product_data"), dict):
        product_id = create_product(store, params["product_data"], created)["id"]
    if not product_id:
        raise StripeError(400, "Missing required param: product.", param="product", code="parameter_missing")
    store.get("products", product_id, param="product", status=400)
    lookup_key = params.get("lookup_key") or None
    if lookup_key:
        _claim_lookup_key(
            store, lookup_key, to_bool(params.get("transfer_lookup_key", False), "transfer_lookup_key")
        )
    obj = store.new_object("prices", created, obj_id)
    unit_amount = (
        to_int(params["unit_amount"], "unit_amount") if params.get("unit_amount") not in (None, "") else None
    )
    recurring = None
    if isinstance(params.get("recurring"), dict):
        rec = params["recurring"]
        recurring = {
            "interval": rec.get("interval", "month"),
            "interval_count": to_int(rec.get("interval_count", 1), "recurring[interval_count]"),
            "meter": None,
            "trial_period_days": None,
            "usage_type": rec.get("usage_type", "licensed"),
        }
    obj.update(
        {
            "currency": currency,
            "product": product_id,
            "unit_amount": unit_amount,
            "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
            "recurring": recurring,
            "type": "recurring" if recurring else "one_time",
            "lookup_key": lookup_key,
            "nickname": params.get("nickname") or None,
            "active": to_bool(params.get("active", True), "active"),
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "billing_scheme": params.get("billing_scheme", "per_unit"),
            "tax_behavior": params.get("tax_behavior", "unspecified"),
        }
    )
    return _finish_create(store, "prices", obj, "price.created", overrides)


def _claim_lookup_key(store: StripeAccountStore, key: str, transfer: bool) -> None:
    """Enforce unique price lookup keys (``transfer_lookup_key`` moves it)."""
    for price in store.objects["prices"].values():
        if price.get("lookup_key") == key:
            if not transfer:
                raise StripeError(
                    400,
                    "A price (`{}`) already uses that lookup key.".format(price["id"]),
                    param="lookup_key",
                )
            price["lookup_key"] = None


def update_price(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Update a price (metadata, nickname, active, lookup_key)."""
    if params.get("lookup_key"):
        _claim_lookup_key(store, params["lookup_key"], to_bool(params.get("transfer_lookup_key", False), "x"))
    changes = apply_fields(
        obj,
        {
            k: v
            for k, v in params.items()
            if k in ("metadata", "nickname", "active", "lookup_key", "tax_behavior")
        },
    )
    store.update("prices", obj, changes, "price.updated")
    return obj


# -- charges and refunds ----------------------------------------------------------------------------


def _card(store: StripeAccountStore) -> dict[str, Any]:
    """Payment method details of the sandbox's test Visa card."""
    return {
        "type": "card",
        "card": {
            "brand": "visa",
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": "SandboxFp4242",
            "funding": "credit",
            "last4": "4242",
            "network": "visa",
            "three_d_secure": None,
            "wallet": None,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        },
    }


def create_charge(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a charge; a captured, succeeded charge gets its balance transaction."""
    amount = to_int(_require(params, "amount"), "amount")
    if amount < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param="amount")
    currency = _currency(_require(params, "currency"))
    customer_id = params.get("customer") or None
    customer = store.get("customers", customer_id, param="customer", status=400) if customer_id else None
    source = params.get("source") or None
    if not source and not customer:
        raise StripeError(400, "Must provide source or customer.", code="parameter_missing")
    obj = store.new_object("charges", created, obj_id)
    captured = to_bool(params.get("capture", True), "capture")
    obj.update(
        {
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "description": params.get("description") or None,
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "receipt_email": params.get("receipt_email") or (customer or {}).get("email"),
            "payment_intent": params.get("payment_intent"),
            "payment_method": "pm_" + store.state.ids.token(24),
            "payment_method_details": _card(store),
            "billing_details": {
                "address": _address_like("address", {}),
                "email": (customer or {}).get("email"),
                "name": (customer or {}).get("name"),
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": "SANDBOX",
            "receipt_url": "https://pay.stripe.com/receipts/sandbox/{}".format(obj["id"]),
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": "/v1/charges/{}/refunds".format(obj["id"]),
            },
            "captured": captured,
            "amount_captured": amount if captured else 0,
            "source": None,
            "fraud_details": {},
        }
    )
    if source in DECLINE_TOKENS:
        return _decline(store, obj)
    obj.update(
        {
            "status": "succeeded",
            "paid": True,
            "outcome": {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "risk_score": 20,
                "seller_message": "Payment complete.",
                "type": "authorized",
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
            },
        }
    )
    if captured:
        settled, settle_currency, rate = settle(amount, currency, store.settlement_currencies)
        txn = store.balance_transaction(
            type_="charge",
            amount=settled,
            currency=settle_currency,
            source=obj["id"],
            created=obj["created"],
            description=obj["description"],
            fee=fee_for(settled),
            exchange_rate=rate,
        )
        obj["balance_transaction"] = txn["id"]
    return _finish_create(store, "charges", obj, "charge.succeeded", overrides)


def _decline(store: StripeAccountStore, obj: dict[str, Any]) -> dict[str, Any]:
    """Store a failed charge and raise Stripe's card error."""
    obj.update(
        {
            "status": "failed",
            "paid": False,
            "captured": False,
            "amount_captured": 0,
            "failure_code": "card_declined",
            "failure_message": "Your card was declined.",
            "outcome": {
                "network_status": "declined_by_network",
                "reason": "generic_decline",
                "risk_level": "normal",
                "risk_score": 20,
                "type": "issuer_declined",
                "seller_message": "The bank did not return any further details with this decline.",
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
            },
        }
    )
    store.put("charges", obj)
    store.emit("charge.failed", obj, created=obj["created"])
    raise StripeError(
        402,
        "Your card was declined.",
        type_="card_error",
        code="card_declined",
        extra={"charge": obj["id"], "decline_code": "generic_decline"},
    )


def update_charge(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Update a charge's description, metadata, receipt email and similar."""
    allowed = {"description", "metadata", "receipt_email", "shipping", "fraud_details", "transfer_group"}
    changes = apply_fields(obj, {k: v for k, v in params.items() if k in allowed})
    store.update("charges", obj, changes, "charge.updated")
    return obj


def create_refund(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Refund (part of) a charge: refund object, negative balance transaction, charge updated."""
    charge = _refund_target(store, params)
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400, "Charge {} has already been refunded.".format(charge["id"]), code="charge_already_refunded"
        )
    amount = to_int(params["amount"], "amount") if params.get("amount") not in (None, "") else remaining
    if amount > remaining or amount < 1:
        raise StripeError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    obj = store.new_object("refunds", created, obj_id)
    obj.update(
        {
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": charge.get("payment_intent"),
            "customer": charge.get("customer"),
            "payment_method": charge.get("payment_method"),
            "reason": params.get("reason") or None,
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "status": "succeeded",
        }
    )
    settled, settle_currency, rate = settle(amount, charge["currency"], store.settlement_currencies)
    txn = store.balance_transaction(
        type_="refund",
        amount=-settled,
        currency=settle_currency,
        source=obj["id"],
        created=obj["created"],
        description="REFUND FOR CHARGE",
        exchange_rate=rate,
    )
    obj["balance_transaction"] = txn["id"]
    _finish_create(store, "refunds", obj, "refund.created", overrides)
    _mark_refunded(store, charge, obj)
    return obj


def _refund_target(store: StripeAccountStore, params: dict[str, Any]) -> dict[str, Any]:
    """Find the charge a refund applies to (by ``charge`` or ``payment_intent``)."""
    if params.get("charge"):
        return store.get("charges", params["charge"], param="charge", status=400)
    if params.get("payment_intent"):
        intent = store.get("payment_intents", params["payment_intent"], param="payment_intent", status=400)
        if intent.get("latest_charge"):
            return store.get("charges", intent["latest_charge"], param="payment_intent", status=400)
        raise StripeError(
            400,
            "This PaymentIntent does not have a successful charge to refund.",
            param="payment_intent",
            code="charge_not_refundable",
        )
    raise StripeError(
        400,
        "One of the following params should be provided for this request: payment_intent or charge.",
        code="parameter_missing",
    )


def _mark_refunded(store: StripeAccountStore, charge: dict[str, Any], refund: dict[str, Any]) -> None:
    """Update the charge after a refund and emit ``charge.refunded``."""
    refunds = copy.deepcopy(charge["refunds"])
    refunds["data"].insert(0, copy.deepcopy(refund))
    refunds["total_count"] = len(refunds["data"])
    amount_refunded = charge["amount_refunded"] + refund["amount"]
    previous = {
        "amount_refunded": charge["amount_refunded"],
        "refunded": charge["refunded"],
        "refunds": charge["refunds"],
    }
    charge.update(
        {
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= charge["amount_captured"],
            "refunds": refunds,
        }
    )
    store.emit("charge.refunded", charge, previous, created=refund["created"])


def update_refund(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Update a refund's metadata."""
    changes = apply_fields(obj, {k: v for k, v in params.items() if k == "metadata"})
    store.update("refunds", obj, changes, "refund.updated")
    return obj


# -- payment intents --------------------------------------------------------------------------------


def create_payment_intent(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a payment intent (``confirm=true`` confirms it at once)."""
    amount = to_int(_require(params, "amount"), "amount")
    currency = _currency(_require(params, "currency"))
    if params.get("customer"):
        store.get("customers", params["customer"], param="customer", status=400)
    obj = store.new_object("payment_intents", created, obj_id)
    obj.update(
        {
            "amount": amount,
            "currency": currency,
            "customer": params.get("customer") or None,
            "description": params.get("description") or None,
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "payment_method": params.get("payment_method") or None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "client_secret": "{}_secret_{}".format(obj["id"], store.state.ids.token(25)),
            "status": "requires_confirmation" if params.get("payment_method") else "requires_payment_method",
            "amount_received": 0,
            "amount_capturable": 0,
            "capture_method": params.get("capture_method", "automatic_async"),
            "payment_method_configuration_details": None,
            "managed_payments": None,
        }
    )
    _finish_create(store, "payment_intents", obj, "payment_intent.created", overrides)
    if to_bool(params.get("confirm", False), "confirm"):
        confirm_payment_intent(store, obj, {})
    return obj


def confirm_payment_intent(
    store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Confirm a payment intent with the test card: it succeeds and gets a charge."""
    if obj["status"] not in ("requires_confirmation", "requires_payment_method"):
        raise StripeError(
            400,
            "This PaymentIntent's status is {}, so it cannot be confirmed.".format(obj["status"]),
            code="payment_intent_unexpected_state",
        )
    payment_method = params.get("payment_method") or obj.get("payment_method")
    if not payment_method:
        raise StripeError(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state",
        )
    manual = obj.get("capture_method") == "manual"
    charge = create_charge(
        store,
        {
            "amount": obj["amount"],
            "currency": obj["currency"],
            "customer": obj.get("customer"),
            "source": payment_method,
            "description": obj.get("description"),
            "payment_intent": obj["id"],
            "capture": not manual,
        },
    )
    if manual:
        # Authorized only: the funds wait for a capture.
        changes = {
            "status": "requires_capture",
            "amount_capturable": obj["amount"],
            "latest_charge": charge["id"],
            "payment_method": charge["payment_method"],
        }
        store.update("payment_intents", obj, changes, None)
        store.emit("payment_intent.amount_capturable_updated", obj)
        return obj
    changes = {
        "status": "succeeded",
        "amount_received": obj["amount"],
        "latest_charge": charge["id"],
        "payment_method": charge["payment_method"],
    }
    store.update("payment_intents", obj, changes, None)
    store.emit("payment_intent.succeeded", obj)
    return obj


def capture_charge(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Capture an authorized charge (all of it, or ``amount``): balance transaction, ``charge.captured``."""
    if obj["captured"] or obj["status"] != "succeeded":
        raise StripeError(
            400,
            "Charge {} has already been captured.".format(obj["id"]),
            code="charge_already_captured",
        )
    amount = to_int(params["amount"], "amount") if params.get("amount") not in (None, "") else obj["amount"]
    if amount < 1 or amount > obj["amount"]:
        raise StripeError(
            400,
            f"Amount to capture ({amount}) must be between 1 and the charge's amount ({obj['amount']}).",
            param="amount",
            code="amount_too_large",
        )
    settled, settle_currency, rate = settle(amount, obj["currency"], store.settlement_currencies)
    txn = store.balance_transaction(
        type_="charge",
        amount=settled,
        currency=settle_currency,
        source=obj["id"],
        created=store.now,
        description=obj["description"],
        fee=fee_for(settled),
        exchange_rate=rate,
    )
    changes = {
        "captured": True,
        "amount_captured": amount,
        "balance_transaction": txn["id"],
        # An uncaptured remainder is released, as Stripe shows it: refunded.
        "amount_refunded": obj["amount"] - amount,
    }
    store.update("charges", obj, changes, None)
    store.emit("charge.captured", obj)
    intent = store.objects["payment_intents"].get(obj.get("payment_intent") or "")
    if intent is not None and intent["status"] == "requires_capture":
        store.update(
            "payment_intents",
            intent,
            {"status": "succeeded", "amount_received": amount, "amount_capturable": 0},
            None,
        )
        store.emit("payment_intent.succeeded", intent)
    return obj


def capture_payment_intent(
    store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Capture a payment intent that requires capture (its charge is captured)."""
    if obj["status"] != "requires_capture":
        raise StripeError(
            400,
            "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent "
            "with one of the following statuses may be captured: requires_capture.".format(obj["status"]),
            code="payment_intent_unexpected_state",
        )
    charge = store.get("charges", obj["latest_charge"])
    amount = params.get("amount_to_capture")
    capture_charge(store, charge, {"amount": amount} if amount not in (None, "") else {})
    return obj


def update_payment_intent(
    store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Update a payment intent's description and metadata."""
    allowed = {"description", "metadata", "receipt_email", "payment_method"}
    changes = apply_fields(obj, {k: v for k, v in params.items() if k in allowed})
    store.update("payment_intents", obj, changes, None)
    return obj


# -- subscriptions ----------------------------------------------------------------------------------


def plan_from_price(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price."""
    plan = template("subscription_item")["plan"]
    recurring = price.get("recurring") or {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
    plan.update(
        {
            "id": price["id"],
            "object": "plan",
            "active": price["active"],
            "amount": price["unit_amount"],
            "amount_decimal": price["unit_amount_decimal"],
            "billing_scheme": price["billing_scheme"],
            "created": price["created"],
            "currency": price["currency"],
            "interval": recurring["interval"],
            "interval_count": recurring["interval_count"],
            "livemode": price["livemode"],
            "metadata": price["metadata"],
            "nickname": price["nickname"],
            "product": price["product"],
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": recurring.get("usage_type", "licensed"),
            "meter": None,
        }
    )
    return plan


def _subscription_item(
    store: StripeAccountStore, sub: dict[str, Any], spec: dict[str, Any], index: int, period: tuple[int, int]
) -> dict[str, Any]:
    """Build one subscription item holding the full price object."""
    param = f"items[{index}][price]"
    price_id = spec.get("price") or spec.get("plan")
    if not price_id:
        raise StripeError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")
    price = store.get("prices", price_id, param=param, status=400)
    if price["type"] != "recurring":
        raise StripeError(
            400,
            "The price specified is set to `type=one_time` but this field only accepts "
            "prices with `type=recurring`.",
            param=param,
        )
    item = store.new_object("subscription_items", sub["created"])
    item.update(
        {
            "subscription": sub["id"],
            "price": copy.deepcopy(price),
            "plan": plan_from_price(price),
            "quantity": to_int(spec.get("quantity", 1), f"items[{index}][quantity]"),
            "metadata": merge_metadata({}, spec.get("metadata") or {}),
            "tax_rates": [],
            "discounts": [],
            "billing_thresholds": None,
            "current_period_start": period[0],
            "current_period_end": period[1],
        }
    )
    store.put("subscription_items", item)
    return item


def _changing_items(store: StripeAccountStore, sub_id: str) -> dict[str, Any]:
    sub = store.get("subscriptions", sub_id, param="subscription", status=400)
    if sub["status"] == "canceled":
        raise StripeError(400, f"The subscription {sub_id} is canceled: its items cannot change.")
    return sub


def _items_changed(store: StripeAccountStore, sub: dict[str, Any], before: dict[str, Any]) -> None:
    """Refresh the subscription's item list and emit ``customer.subscription.updated``."""
    data = [item for item in sub["items"]["data"] if item["id"] in store.objects["subscription_items"]]
    sub["items"] = {**sub["items"], "data": data, "total_count": len(data)}
    store.emit("customer.subscription.updated", sub, previous={"items": before})


def create_subscription_item(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add a price to a subscription; the subscription's change is a ``customer.subscription.updated``."""
    sub = _changing_items(store, _require(params, "subscription"))
    price_id = _require(params, "price")
    price = store.get("prices", price_id, param="price", status=400)
    if price["currency"] != sub["currency"]:
        raise StripeError(400, "All prices on a subscription must have the same `currency`.", param="price")
    if any(item["price"]["id"] == price_id for item in sub["items"]["data"]):
        raise StripeError(
            400,
            "Cannot add multiple subscription items with the same plan: "
            f"{price_id}. Update the quantity of the existing item instead.",
            param="price",
        )
    before = copy.deepcopy(sub["items"])
    period = (sub["current_period_start"], sub["current_period_end"])
    spec = {"price": price_id, "quantity": params.get("quantity", 1), "metadata": params.get("metadata")}
    item = _subscription_item(store, sub, spec, 0, period)
    item["created"] = int(created) if created is not None else store.now
    sub["items"]["data"].append(item)
    _items_changed(store, sub, before)
    return item


def update_subscription_item(
    store: StripeAccountStore, item: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Change an item's quantity, metadata or price; emits the subscription's update."""
    sub = _changing_items(store, item["subscription"])
    before = copy.deepcopy(sub["items"])
    if params.get("price") not in (None, "") and params["price"] != item["price"]["id"]:
        price = store.get("prices", params["price"], param="price", status=400)
        item.update({"price": copy.deepcopy(price), "plan": plan_from_price(price)})
    if params.get("quantity") not in (None, ""):
        item["quantity"] = to_int(params["quantity"], "quantity")
    if "metadata" in params:
        item["metadata"] = merge_metadata(item.get("metadata"), params["metadata"])
    if item != next(old for old in before["data"] if old["id"] == item["id"]):
        _items_changed(store, sub, before)
    return item


def delete_subscription_item(
    store: StripeAccountStore, item: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Remove an item (never the last one: cancel the subscription instead)."""
    sub = _changing_items(store, item["subscription"])
    if len(sub["items"]["data"]) <= 1:
        raise StripeError(
            400,
            "A subscription must have at least one active plan. To cancel a subscription, please use the "
            "cancel API endpoint on /v1/subscriptions.",
        )
    before = copy.deepcopy(sub["items"])
    store.objects["subscription_items"].pop(item["id"], None)
    stub = {"id": item["id"], "object": "subscription_item", "deleted": True}
    store.deleted[item["id"]] = stub
    _items_changed(store, sub, before)
    return stub


def create_subscription(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a subscription: ``active``, ``trialing`` with a trial, ``incomplete`` on default_incomplete."""
    customer_id = _require(params, "customer")
    store.get("customers", customer_id, param="customer", status=400)
    items_param = params.get("items")
    if not isinstance(items_param, list) or not items_param:
        raise StripeError(400, "Missing required param: items.", param="items", code="parameter_missing")
    collection = params.get("collection_method") or "charge_automatically"
    days_until_due = params.get("days_until_due")
    if collection == "send_invoice" and days_until_due in (None, ""):
        raise StripeError(
            400, "Missing required param: days_until_due.", param="days_until_due", code="parameter_missing"
        )
    sub = store.new_object("subscriptions", created, obj_id)
    trial_days = (
        to_int(params["trial_period_days"], "trial_period_days") if params.get("trial_period_days") else 0
    )
    trial_end = sub["created"] + trial_days * 86400 if trial_days else None
    anchor = trial_end or sub["created"]
    first = store.get(
        "prices", (items_param[0] or {}).get("price") or "", param="items[0][price]", status=400
    )
    recurring = first.get("recurring") or {"interval": "month", "interval_count": 1}
    period = (
        sub["created"],
        trial_end or add_interval(anchor, recurring["interval"], recurring["interval_count"]),
    )
    items = [_subscription_item(store, sub, spec or {}, i, period) for i, spec in enumerate(items_param)]
    if len({item["price"]["currency"] for item in items}) > 1:
        raise StripeError(400, "All prices on a subscription must have the same `currency`.", param="items")
    status = "trialing" if trial_days else "active"
    if params.get("payment_behavior") == "default_incomplete" and not trial_days:
        status = "incomplete"
    sub.update(
        {
            "customer": customer_id,
            "currency": first["currency"],
            "status": status,
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "total_count": len(items),
                "url": "/v1/subscription_items?subscription={}".format(sub["id"]),
            },
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "collection_method": collection,
            "days_until_due": to_int(days_until_due, "days_until_due")
            if days_until_due not in (None, "")
            else None,
            "billing_cycle_anchor": anchor,
            "billing_cycle_anchor_config": None,
            "billing_schedules": [],
            "start_date": sub["created"],
            # Older API versions (and the October 2025 spec) still carry the period on the subscription.
            "current_period_start": period[0],
            "current_period_end": period[1],
            "trial_start": sub["created"] if trial_days else None,
            "trial_end": trial_end,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "description": params.get("description") or None,
            "latest_invoice": None,
        }
    )
    return _finish_create(store, "subscriptions", sub, "customer.subscription.created", overrides)


def update_subscription(
    store: StripeAccountStore, sub: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Update metadata, description, cancel_at_period_end, collection settings or end a trial."""
    if sub["status"] == "canceled" and set(params) - {"metadata", "cancellation_details", "expand"}:
        raise StripeError(
            400, "A canceled subscription can only update its cancellation_details and metadata."
        )
    allowed = {
        "metadata",
        "description",
        "cancel_at_period_end",
        "collection_method",
        "days_until_due",
        "default_payment_method",
        "cancel_at",
    }
    changes = apply_fields(sub, {k: v for k, v in params.items() if k in allowed})
    if params.get("trial_end") == "now" and sub["status"] == "trialing":
        changes.update({"trial_end": store.now, "status": "active"})
    if isinstance(params.get("cancellation_details"), dict):
        changes["cancellation_details"] = {**sub["cancellation_details"], **params["cancellation_details"]}
    store.update("subscriptions", sub, changes, "customer.subscription.updated")
    return sub


def cancel_subscription(
    store: StripeAccountStore, sub: dict[str, Any], params: dict[str, Any], at: int | None = None
) -> dict[str, Any]:
    """Cancel now: status ``canceled``, ``canceled_at``/``ended_at`` set, ``customer.subscription.deleted``."""
    if sub["status"] == "canceled":
        raise missing("subscriptions", sub["id"])
    when = at if at is not None else store.now
    details = dict(sub.get("cancellation_details") or {"comment": None, "feedback": None, "reason": None})
    if isinstance(params.get("cancellation_details"), dict):
        details.update(params["cancellation_details"])
    details["reason"] = details.get("reason") or "cancellation_requested"
    sub.update({"status": "canceled", "canceled_at": when, "ended_at": when, "cancellation_details": details})
    store.emit("customer.subscription.deleted", sub, created=when)
    return sub


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of a currency."""
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def create_balance_transaction(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Seed a balance transaction of any reporting category (dispute, fee, payout, topup...).

    ``fee_details`` (each ``{"type", "amount", "description"}``) make up the fee; ``payout`` names the
    payout that paid it out, for ``balance_transactions?payout=``.
    """
    currency = _currency(_require(params, "currency"))
    amount = to_int(_require(params, "amount"), "amount")
    category = str(params.get("reporting_category") or params.get("type") or "adjustment")
    details = [
        {
            "amount": to_int(d["amount"], "fee_details"),
            "application": None,
            "currency": currency,
            "description": d.get("description") or "Stripe processing fees",
            "type": d.get("type") or "stripe_fee",
        }
        for d in params.get("fee_details") or []
    ]
    txn = store.balance_transaction(
        type_=str(params.get("type") or category),
        amount=amount,
        currency=currency,
        source=params.get("source"),
        created=int(created) if created is not None else store.now,
        description=params.get("description"),
        fee=sum(d["amount"] for d in details),
    )
    txn["reporting_category"] = category
    txn["fee_details"] = details
    if obj_id:
        store.objects["balance_transactions"].pop(txn["id"])
        txn["id"] = obj_id
        store.put("balance_transactions", txn)
    if params.get("payout"):
        store.payout_of[txn["id"]] = str(params["payout"])
    return txn
