"""Balance transactions onto Xero entries: accounts, signs, fee lines, suspense and reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from airflow_provider_stripe_sync.mapping.xero import (
    REASON_UNKNOWN_CURRENCY,
    REASON_UNMAPPED_CATEGORY,
    REASON_UNMAPPED_CURRENCY,
    RECEIVE,
    SPEND,
    LedgerConfig,
    Line,
    PlannedBankTransaction,
    PlannedTransfer,
    payout_mismatch,
    plan_entry,
    plan_ledger,
)

CONFIG = LedgerConfig.from_dict(
    {
        "currencies": {
            "usd": {"clearing": "610", "fees": "404", "bank": "090"},
            "EUR": {"clearing": "611", "fees": "404"},
            "jpy": {"clearing": "612", "fees": "405", "bank": "092"},
            "kwd": {"clearing": "613", "fees": "404"},
        },
        "categories": {"charge": "200", "refund": "200", "dispute": "210"},
        "fee_accounts": {"tax": "820"},
        "suspense": "999",
    }
)

# 2026-10-29 12:00:00 UTC
NOON = 1793275200


def txn(txn_id, category, amount, currency, fee_details=(), **extra):
    fee = sum(amount for _, amount in fee_details)
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "reporting_category": category,
        "type": extra.pop("type", category),
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": currency,
        "created": NOON,
        "description": extra.pop("description", None),
        "fee_details": [
            {"type": kind, "amount": amount, "currency": currency, "description": f"{kind} fee"}
            for kind, amount in fee_details
        ],
        **extra,
    }


def test_a_charge_is_a_receive_with_a_fee_line_and_tax_on_fees():
    entry, issues = plan_entry(
        txn("txn_1", "charge", 10000, "usd", [("stripe_fee", 320), ("tax", 32)], description="Order 7"),
        CONFIG,
    )
    assert issues == []
    assert entry == PlannedBankTransaction(
        reference="txn_1",
        type=RECEIVE,
        bank_account="610",
        currency="USD",
        date=date(2026, 10, 29),
        contact_name="Stripe",
        lines=(
            Line("Order 7", "200", Decimal("100.00")),
            Line("stripe_fee fee", "404", Decimal("-3.20")),
            Line("tax fee", "820", Decimal("-0.32")),
        ),
        category="charge",
    )
    assert entry.total == Decimal("96.48")
    assert entry.clearing_change == Decimal("96.48")


def test_zero_decimal_amounts_are_whole_yen():
    entry, _ = plan_entry(txn("txn_2", "charge", 5000, "jpy", [("stripe_fee", 175)]), CONFIG)
    assert [line.amount for line in entry.lines] == [Decimal("5000.00"), Decimal("-175.00")]
    assert entry.total == Decimal("4825.00")
    assert [line.account_code for line in entry.lines] == ["200", "405"]


def test_three_decimal_lines_round_half_up():
    entry, _ = plan_entry(txn("txn_3", "charge", 1235, "kwd", [("stripe_fee", 65)]), CONFIG)
    assert [line.amount for line in entry.lines] == [Decimal("1.24"), Decimal("-0.07")]


def test_a_refund_and_a_dispute_are_spends():
    refund, _ = plan_entry(txn("txn_4", "refund", -2500, "eur"), CONFIG)
    assert (refund.type, refund.bank_account, refund.lines) == (
        SPEND,
        "611",
        (Line("refund", "200", Decimal("25.00")),),
    )
    dispute, _ = plan_entry(
        txn("txn_5", "dispute", -2000, "usd", [("stripe_fee", 1500)], type="adjustment"), CONFIG
    )
    assert dispute.type == SPEND
    assert dispute.lines == (
        Line("dispute", "210", Decimal("20.00")),
        Line("stripe_fee fee", "404", Decimal("15.00")),
    )
    assert dispute.clearing_change == Decimal("-35.00")


def test_a_stripe_fee_goes_to_the_fees_account():
    entry, issues = plan_entry(txn("txn_6", "fee", -500, "usd", type="stripe_fee"), CONFIG)
    assert issues == []
    assert (entry.type, entry.lines) == (SPEND, (Line("fee", "404", Decimal("5.00")),))


def test_a_payout_is_a_transfer_and_a_failed_payout_comes_back():
    payout, _ = plan_entry(txn("txn_7", "payout", -90000, "usd", source="po_1"), CONFIG)
    assert payout == PlannedTransfer(
        reference="txn_7",
        from_account="610",
        to_account="090",
        currency="USD",
        date=date(2026, 10, 29),
        amount=Decimal("900.00"),
        category="payout",
        clearing_account="610",
    )
    assert payout.clearing_change == Decimal("-900.00")
    reversal, _ = plan_entry(txn("txn_8", "payout_reversal", 90000, "usd"), CONFIG)
    assert (reversal.from_account, reversal.to_account, reversal.clearing_change) == (
        "090",
        "610",
        Decimal("900.00"),
    )


def test_an_unmapped_category_posts_to_suspense_and_is_reported():
    entry, issues = plan_entry(txn("txn_9", "topup", 7000, "usd"), CONFIG)
    assert entry.lines == (Line("topup", "999", Decimal("70.00")),)
    assert [(i.record_id, i.reason, i.posted) for i in issues] == [("txn_9", REASON_UNMAPPED_CATEGORY, True)]


def test_a_payout_without_a_bank_account_posts_to_suspense():
    entry, issues = plan_entry(txn("txn_10", "payout", -1000, "eur"), CONFIG)
    assert (entry.type, entry.lines) == (SPEND, (Line("payout", "999", Decimal("10.00")),))
    assert issues[0].posted is True


def test_an_unconfigured_or_unknown_currency_is_reported_not_posted():
    entry, issues = plan_entry(txn("txn_11", "charge", 1000, "gbp"), CONFIG)
    assert entry is None
    assert [(i.reason, i.posted) for i in issues] == [(REASON_UNMAPPED_CURRENCY, False)]
    entry, issues = plan_entry(txn("txn_12", "charge", 1000, "xyz"), CONFIG)
    assert entry is None
    assert issues[0].reason == REASON_UNKNOWN_CURRENCY


def test_a_repeated_record_is_planned_once():
    record = txn("txn_13", "charge", 1000, "usd")
    plan = plan_ledger([record, record], CONFIG)
    assert [entry.reference for entry in plan.entries] == ["txn_13"]


def test_payout_mismatch():
    payout = txn("txn_po", "payout", -9000, "usd", source="po_1", type="payout")
    included = [
        txn("txn_a", "charge", 10000, "usd", [("stripe_fee", 320)]),
        txn("txn_b", "refund", -680, "usd"),
    ]
    assert payout_mismatch(payout, [*included, payout]) is None
    assert payout_mismatch(payout, included[:1]) == Decimal("-6.80")


@pytest.mark.parametrize("bad", [{}, {"currencies": {"usd": {"clearing": "610"}}, "suspense": "9"}, {"x": 1}])
def test_bad_configuration_is_refused(bad):
    with pytest.raises(ValueError):
        LedgerConfig.from_dict(bad)
