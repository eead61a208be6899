"""Invoices, invoice items, coupons and payouts in a :class:`StripeAccountStore`, with their events.

Simplified Stripe billing: an invoice is a draft that collects the invoice items attached to it
(``invoice=...`` on the item, or the customer's pending items with
``pending_invoice_items_behavior=include``), is finalized (``open``, numbered), then paid (a charge
on the customer for ``amount_due``, or out of band) or voided. Every change emits its event.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_stripe_sync.sandbox.stripe_model import (
    StripeAccountStore,
    StripeError,
    merge_metadata,
    template,
    to_bool,
    to_int,
)
from airflow_provider_stripe_sync.sandbox.stripe_resources import (
    _currency,
    _finish_create,
    _require,
    apply_fields,
    create_charge,
    delete_object,
)

DAY = 86400


# -- invoice items ----------------------------------------------------------------------------------


def _draft_invoice(store: StripeAccountStore, invoice_id: str, customer: str) -> dict[str, Any]:
    invoice = store.get("invoices", invoice_id, param="invoice", status=400)
    if invoice["status"] != "draft":
        raise StripeError(
            400,
            "You can only add invoice items to draft invoices. Invoice {} is {}.".format(
                invoice_id, invoice["status"]
            ),
            param="invoice",
            code="invoice_not_editable",
        )
    if invoice["customer"] != customer:
        raise StripeError(400, "The invoice belongs to another customer.", param="invoice")
    return invoice


def _item_amount(params: dict[str, Any], default_currency: str) -> tuple[int, str, int, str | None]:
    """``(amount, currency, quantity, unit_amount_decimal)`` from ``amount`` or ``price_data``."""
    quantity = to_int(params.get("quantity", 1), "quantity")
    price_data = params.get("price_data")
    if isinstance(price_data, dict):
        unit = to_int(_require(price_data, "unit_amount"), "price_data[unit_amount]")
        currency = _currency(_require(price_data, "currency"), "price_data[currency]")
        return unit * quantity, currency, quantity, str(unit)
    if params.get("amount") in (None, ""):
        raise StripeError(
            400, "You must specify either `amount` or `price_data`.", param="amount", code="parameter_missing"
        )
    currency = _currency(params.get("currency") or default_currency)
    return to_int(params["amount"], "amount"), currency, 1, None


def create_invoiceitem(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create an invoice item: pending on the customer, or on a draft invoice."""
    customer_id = _require(params, "customer")
    customer = store.get("customers", customer_id, param="customer", status=400)
    invoice = _draft_invoice(store, params["invoice"], customer_id) if params.get("invoice") else None
    amount, currency, quantity, unit = _item_amount(params, customer.get("currency") or "usd")
    obj = store.new_object("invoiceitems", created, obj_id)
    now = obj["date"] = created if created is not None else store.now
    period = params.get("period") if isinstance(params.get("period"), dict) else {}
    obj.update(
        {
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "description": params.get("description") or None,
            "discountable": to_bool(params.get("discountable", True), "discountable"),
            "invoice": invoice["id"] if invoice else None,
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "net_amount": amount,
            "parent": None,
            "period": {
                "start": to_int(period.get("start", now), "period[start]"),
                "end": to_int(period.get("end", now), "period[end]"),
            },
            "pricing": {"type": "price_details", "price_details": None, "unit_amount_decimal": unit},
            "quantity": quantity,
            "quantity_decimal": str(quantity),
            "unit_amount": amount // quantity if quantity else amount,
            "unit_amount_decimal": unit or str(amount),
            "price": None,
        }
    )
    _finish_create(store, "invoiceitems", obj, "invoiceitem.created", overrides)
    if invoice is not None:
        refresh_invoice(store, invoice)
    return obj


def update_invoiceitem(
    store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Change an item's amount, description or metadata while its invoice is a draft."""
    invoice = store.objects["invoices"].get(obj["invoice"]) if obj.get("invoice") else None
    if invoice is not None and invoice["status"] != "draft" and set(params) - {"metadata", "expand"}:
        raise StripeError(
            400, "The invoice item's invoice is no longer a draft.", code="invoice_not_editable"
        )
    changes = apply_fields(obj, {k: v for k, v in params.items() if k in ("description", "metadata")})
    if "amount" in params or "price_data" in params:
        amount, currency, quantity, unit = _item_amount({**params}, obj["currency"])
        changes.update({"amount": amount, "net_amount": amount, "currency": currency, "quantity": quantity})
    store.update("invoiceitems", obj, changes, "invoiceitem.updated")
    if invoice is not None:
        refresh_invoice(store, invoice)
    return obj


def delete_invoiceitem(store: StripeAccountStore, obj: dict[str, Any]) -> dict[str, Any]:
    """Delete a pending item, or one on a draft invoice."""
    invoice = store.objects["invoices"].get(obj["invoice"]) if obj.get("invoice") else None
    if invoice is not None and invoice["status"] != "draft":
        raise StripeError(
            400, "The invoice item's invoice is no longer a draft.", code="invoice_not_editable"
        )
    stub = delete_object(store, "invoiceitems", obj, "invoiceitem.deleted")
    if invoice is not None:
        refresh_invoice(store, invoice)
    return stub


# -- invoices ---------------------------------------------------------------------------------------


def _line(store: StripeAccountStore, item: dict[str, Any]) -> dict[str, Any]:
    line = template("line_item")
    line.update(
        {
            "id": "il_" + store.state.ids.token(24),
            "amount": item["amount"],
            "amount_excluding_tax": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discountable": item["discountable"],
            "invoice": item["invoice"],
            "invoice_item": item["id"],
            "metadata": dict(item["metadata"] or {}),
            "parent": None,
            "period": dict(item["period"]),
            "price": None,
            "proration": False,
            "proration_details": {"credited_items": None},
            "quantity": item["quantity"],
            "subscription": None,
            "subtotal": item["amount"],
            "tax_amounts": [],
            "tax_rates": [],
            "type": "invoiceitem",
            "unit_amount_excluding_tax": str(item["amount"] // (item["quantity"] or 1)),
        }
    )
    return line


def refresh_invoice(store: StripeAccountStore, invoice: dict[str, Any], event: bool = True) -> None:
    """Recompute a draft invoice's lines and totals from its items (``invoice.updated`` when changed)."""
    items = sorted(
        (item for item in store.objects["invoiceitems"].values() if item["invoice"] == invoice["id"]),
        key=store.sort_key,
    )
    total = sum(item["amount"] for item in items)
    previous_lines = {line["invoice_item"]: line for line in invoice["lines"]["data"]}
    lines = [previous_lines.get(item["id"]) or _line(store, item) for item in items]
    for line, item in zip(lines, items, strict=True):
        line.update(
            {"amount": item["amount"], "subtotal": item["amount"], "description": item["description"]}
        )
    changes = {
        "lines": dict(invoice["lines"], data=lines, total_count=len(lines)),
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "total": total,
        "total_excluding_tax": total,
        "amount_due": total,
        "amount_remaining": total - invoice["amount_paid"],
    }
    store.update("invoices", invoice, changes, "invoice.updated" if event else None)


def create_invoice(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a draft invoice for a customer."""
    customer_id = _require(params, "customer")
    customer = store.get("customers", customer_id, param="customer", status=400)
    collection = params.get("collection_method") or "charge_automatically"
    if collection not in ("charge_automatically", "send_invoice"):
        raise StripeError(400, f"Invalid collection_method: {collection}", param="collection_method")
    days = params.get("days_until_due")
    if collection == "send_invoice" and days in (None, "") and params.get("due_date") in (None, ""):
        raise StripeError(
            400,
            "Missing required param: days_until_due or due_date when collection_method is send_invoice.",
            param="days_until_due",
            code="parameter_missing",
        )
    obj = store.new_object("invoices", created, obj_id)
    when = obj["created"]
    obj.update(
        {
            "account_country": "US",
            "account_name": "Sandbox Ltd",
            "amount_due": 0,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": to_bool(params.get("auto_advance", False), "auto_advance"),
            "billing_reason": "manual",
            "collection_method": collection,
            "currency": _currency(params.get("currency") or customer.get("currency") or "usd"),
            "customer": customer_id,
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "customer_tax_exempt": customer.get("tax_exempt") or "none",
            "description": params.get("description") or None,
            "days_until_due": to_int(days, "days_until_due") if days not in (None, "") else None,
            "due_date": to_int(params["due_date"], "due_date") if params.get("due_date") else None,
            "effective_at": None,
            "ending_balance": None,
            "footer": params.get("footer") or None,
            "lines": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": "/v1/invoices/{}/lines".format(obj["id"]),
            },
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "next_payment_attempt": None,
            "number": None,
            "paid": False,
            "paid_out_of_band": False,
            "period_end": when,
            "period_start": when,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "total": 0,
            "total_excluding_tax": 0,
            "total_tax_amounts": [],
            "total_discount_amounts": [],
            "webhooks_delivered_at": None,
        }
    )
    _finish_create(store, "invoices", obj, None, overrides)
    if params.get("pending_invoice_items_behavior") == "include":
        for item in store.objects["invoiceitems"].values():
            if item["customer"] == customer_id and item["invoice"] is None:
                item["invoice"] = obj["id"]
    refresh_invoice(store, obj, event=False)
    store.emit("invoice.created", obj, created=when)
    return obj


def update_invoice(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Update a draft's description, footer, collection or metadata (metadata at any time)."""
    if obj["status"] != "draft" and set(params) - {"metadata", "expand", "description", "footer"}:
        raise StripeError(
            400, "Finalized invoices can't be updated in this way.", code="invoice_not_editable"
        )
    allowed = {"description", "footer", "metadata", "auto_advance", "collection_method", "days_until_due"}
    changes = apply_fields(obj, {k: v for k, v in params.items() if k in allowed})
    store.update("invoices", obj, changes, "invoice.updated")
    return obj


def _not_in_state(obj: dict[str, Any], action: str) -> StripeError:
    return StripeError(
        400,
        "You can't {} an invoice that is {}.".format(action, obj["status"]),
        code="invoice_unexpected_state" if action != "pay" else "invoice_not_open",
    )


def finalize_invoice(
    store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Draft to open: numbered, due date set; an invoice for nothing is paid at once."""
    if obj["status"] != "draft":
        raise _not_in_state(obj, "finalize")
    now = store.now
    customer = store.objects["customers"].get(obj["customer"]) or {}
    count = sum(1 for other in store.objects["invoices"].values() if other.get("number"))
    due = obj["due_date"]
    if obj["collection_method"] == "send_invoice" and due is None:
        due = now + (obj.get("days_until_due") or 0) * DAY
    changes = {
        "status": "open",
        "number": "{}-{:04d}".format(customer.get("invoice_prefix") or "SANDBOX", count + 1),
        "effective_at": now,
        "due_date": due,
        "hosted_invoice_url": "https://invoice.stripe.com/i/sandbox/{}".format(obj["id"]),
        "invoice_pdf": "https://pay.stripe.com/invoice/sandbox/{}/pdf".format(obj["id"]),
        "status_transitions": dict(obj["status_transitions"], finalized_at=now),
        "ending_balance": 0,
    }
    if "auto_advance" in params:
        changes["auto_advance"] = to_bool(params["auto_advance"], "auto_advance")
    store.update("invoices", obj, changes, "invoice.finalized")
    if obj["amount_due"] == 0:
        _mark_paid(store, obj, out_of_band=False)
    return obj


def _mark_paid(store: StripeAccountStore, obj: dict[str, Any], *, out_of_band: bool) -> None:
    now = store.now
    changes = {
        "status": "paid",
        "paid": True,
        "paid_out_of_band": out_of_band,
        "amount_paid": obj["amount_due"],
        "amount_remaining": 0,
        "attempted": True,
        "attempt_count": obj["attempt_count"] + (0 if out_of_band else 1),
        "status_transitions": dict(obj["status_transitions"], paid_at=now),
    }
    store.update("invoices", obj, changes, "invoice.paid")
    store.emit("invoice.payment_succeeded", obj)


def pay_invoice(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Pay an open invoice: a charge on the customer, or out of band."""
    if obj["status"] != "open":
        raise _not_in_state(obj, "pay")
    out_of_band = to_bool(params.get("paid_out_of_band", False), "paid_out_of_band")
    if not out_of_band and obj["amount_due"] > 0:
        source = params.get("source") or params.get("payment_method") or None
        try:
            charge = create_charge(
                store,
                {
                    "amount": obj["amount_due"],
                    "currency": obj["currency"],
                    "customer": obj["customer"],
                    "source": source,
                    "description": "Payment for Invoice {}".format(obj["number"]),
                },
            )
        except StripeError as err:
            store.update(
                "invoices", obj, {"attempted": True, "attempt_count": obj["attempt_count"] + 1}, None
            )
            store.emit("invoice.payment_failed", obj)
            raise err
        if "charge" in obj:
            obj["charge"] = charge["id"]
    _mark_paid(store, obj, out_of_band=out_of_band)
    return obj


def void_invoice(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Void an open invoice."""
    if obj["status"] != "open":
        raise _not_in_state(obj, "void")
    changes = {
        "status": "void",
        "amount_remaining": 0,
        "status_transitions": dict(obj["status_transitions"], voided_at=store.now),
    }
    store.update("invoices", obj, changes, "invoice.voided")
    return obj


def delete_invoice(store: StripeAccountStore, obj: dict[str, Any]) -> dict[str, Any]:
    """Delete a draft invoice; its items become pending again."""
    if obj["status"] != "draft":
        raise StripeError(
            400,
            "You can only delete draft invoices. Void or mark it uncollectible instead.",
            code="invoice_not_editable",
        )
    for item in store.objects["invoiceitems"].values():
        if item["invoice"] == obj["id"]:
            item["invoice"] = None
    return delete_object(store, "invoices", obj, "invoice.deleted")


# -- coupons ----------------------------------------------------------------------------------------


def create_coupon(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a coupon: ``percent_off`` or ``amount_off`` with ``currency``."""
    coupon_id = obj_id or params.get("id") or store.state.ids.token(8).upper()
    if coupon_id in store.objects["coupons"]:
        raise StripeError(400, "Coupon already exists.", param="id", code="resource_already_exists")
    percent, amount = params.get("percent_off"), params.get("amount_off")
    if (percent in (None, "")) == (amount in (None, "")):
        raise StripeError(400, "You must pass exactly one of amount_off or percent_off.", param="percent_off")
    duration = params.get("duration") or "once"
    if duration not in ("once", "repeating", "forever"):
        raise StripeError(400, f"Invalid duration: {duration}", param="duration")
    obj = store.new_object("coupons", created, coupon_id)
    obj.update(
        {
            "amount_off": to_int(amount, "amount_off") if amount not in (None, "") else None,
            "currency": _currency(_require(params, "currency")) if amount not in (None, "") else None,
            "percent_off": float(percent) if percent not in (None, "") else None,
            "duration": duration,
            "duration_in_months": (
                to_int(_require(params, "duration_in_months"), "duration_in_months")
                if duration == "repeating"
                else None
            ),
            "max_redemptions": to_int(params["max_redemptions"], "max_redemptions")
            if params.get("max_redemptions")
            else None,
            "redeem_by": to_int(params["redeem_by"], "redeem_by") if params.get("redeem_by") else None,
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "name": params.get("name") or None,
            "times_redeemed": 0,
            "valid": True,
        }
    )
    return _finish_create(store, "coupons", obj, "coupon.created", overrides)


def update_coupon(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Rename a coupon or change its metadata."""
    changes = apply_fields(obj, {k: v for k, v in params.items() if k in ("name", "metadata")})
    store.update("coupons", obj, changes, "coupon.updated")
    return obj


# -- tax rates --------------------------------------------------------------------------------------


def create_tax_rate(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a percentage tax rate."""
    display_name = _require(params, "display_name")
    percentage = float(_require(params, "percentage"))
    if not 0 <= percentage <= 100:
        raise StripeError(400, "percentage must be between 0 and 100.", param="percentage")
    inclusive = to_bool(_require(params, "inclusive"), "inclusive")
    obj = store.new_object("tax_rates", created, obj_id)
    obj.update(
        {
            "active": to_bool(params.get("active", True), "active"),
            "country": params.get("country") or None,
            "description": params.get("description") or None,
            "display_name": display_name,
            "effective_percentage": percentage,
            "flat_amount": None,
            "inclusive": inclusive,
            "jurisdiction": params.get("jurisdiction") or None,
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "percentage": percentage,
            "rate_type": "percentage",
            "state": params.get("state") or None,
            "tax_type": params.get("tax_type") or None,
        }
    )
    return _finish_create(store, "tax_rates", obj, "tax_rate.created", overrides)


def update_tax_rate(store: StripeAccountStore, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Archive a tax rate (``active``) or change its names and metadata."""
    allowed = {"active", "description", "display_name", "metadata", "jurisdiction"}
    changes = apply_fields(obj, {k: v for k, v in params.items() if k in allowed})
    store.update("tax_rates", obj, changes, "tax_rate.updated")
    return obj


# -- payouts ----------------------------------------------------------------------------------------


def create_payout(
    store: StripeAccountStore,
    params: dict[str, Any],
    created: int | None = None,
    obj_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A payout to the account's bank (seeded; its balance transaction takes the amount out)."""
    amount = to_int(_require(params, "amount"), "amount")
    currency = _currency(_require(params, "currency"))
    obj = store.new_object("payouts", created, obj_id)
    when = obj["created"]
    status = params.get("status") or "paid"
    obj.update(
        {
            "amount": amount,
            "currency": currency,
            "arrival_date": to_int(params.get("arrival_date", when + 2 * DAY), "arrival_date"),
            "automatic": to_bool(params.get("automatic", True), "automatic"),
            "description": params.get("description") or "STRIPE PAYOUT",
            "destination": "ba_" + store.state.ids.token(24),
            "metadata": merge_metadata({}, params.get("metadata") or {}),
            "method": params.get("method") or "standard",
            "reconciliation_status": "completed" if status == "paid" else "in_progress",
            "source_type": "card",
            "status": status,
            "type": "bank_account",
            "trace_id": None,
        }
    )
    txn = store.balance_transaction(
        type_="payout",
        amount=-amount,
        currency=currency,
        source=obj["id"],
        created=when,
        description=obj["description"],
    )
    obj["balance_transaction"] = txn["id"]
    _finish_create(store, "payouts", obj, "payout.created", overrides)
    if status == "paid":
        store.emit("payout.paid", copy.deepcopy(obj), created=when)
    return obj
