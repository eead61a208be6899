"""Small Stripe objects and a Xero ledger that tests write into record files."""

from __future__ import annotations

NOON = 1793275200  # 2026-10-29T12:00:00Z
CUSTOMER = {"id": "cus_1", "object": "customer", "email": "ada@example.com", "created": NOON}
BALANCE_TRANSACTION = {
    "id": "txn_1",
    "object": "balance_transaction",
    "reporting_category": "charge",
    "type": "charge",
    "amount": 1000,
    "fee": 59,
    "net": 941,
    "currency": "usd",
    "created": NOON,
    "fee_details": [{"type": "stripe_fee", "amount": 59}],
}
LEDGER = {
    "currencies": {"usd": {"clearing": "095", "fees": "404", "bank": "090"}},
    "categories": {"charge": "200"},
    "suspense": "999",
}
