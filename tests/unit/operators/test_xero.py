"""XeroCreateBankTransactionsOperator's own logic, with a stand-in for the hook (our own class)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError
from airflow_provider_stripe_sync.hooks.xero import XeroRequestError
from airflow_provider_stripe_sync.mapping.xero import LedgerConfig
from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator, check_accounts
from airflow_provider_stripe_sync.records import RecordWriter, read_records
from tests.conftest import make_context

LEDGER = {
    "currencies": {"usd": {"clearing": "095", "fees": "404", "bank": "090"}},
    "categories": {"charge": "200"},
    "suspense": "999",
}
ACCOUNTS = [
    {"code": "095", "type": "BANK", "currency": "USD"},
    {"code": "090", "type": "BANK", "currency": "USD"},
    {"code": "404", "type": "EXPENSE", "currency": None},
    {"code": "200", "type": "REVENUE", "currency": None},
    {"code": "999", "type": "CURRLIAB", "currency": None},
]
NOON = 1793275200  # 2026-10-29T12:00:00Z


class FakeHook:
    """Records what the operator asks; refuses references listed in ``refuse``."""

    #: The records these tests write carry no Stripe mode; a test ledger either way.
    environment = "test"

    def __init__(self, existing=(), refuse=(), fail_batches_over=None):
        self.existing = set(existing)
        self.refuse = set(refuse)
        self.fail_batches_over = fail_batches_over
        self.batches = []
        self.transfers = []
        self.ranges = []

    def accounts(self):
        return ACCOUNTS

    def ensure_contact(self, name):
        return "contact-1"

    def bank_transaction_references(self, first, last):
        self.ranges.append((first, last))
        return self.existing

    def bank_transfer_references(self, first, last):
        return self.existing

    def create_bank_transactions(self, entries, contact_id):
        refs = [e.reference for e in entries]
        self.batches.append(refs)
        if self.fail_batches_over and len(entries) > self.fail_batches_over:
            raise XeroRequestError("HTTP 400: the request was refused", status=400)
        return [(r, None, ["Refused"]) if r in self.refuse else (r, f"id-{r}", []) for r in refs]

    def create_bank_transfer(self, entry):
        self.transfers.append(entry.reference)
        return "transfer-1"


def write(tmp_path, records):
    with RecordWriter(tmp_path / "records.jsonl", header={"resource": "balance_transactions"}) as writer:
        writer.write_many(records)
    return str(writer.uri)


def charge(n, amount=1000, fee=59):
    return {
        "id": f"txn_{n}",
        "object": "balance_transaction",
        "reporting_category": "charge",
        "type": "charge",
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": "usd",
        "created": NOON,
        "fee_details": [{"type": "stripe_fee", "amount": fee}],
    }


def run(tmp_path, records, hook, **kwargs):
    operator = XeroCreateBankTransactionsOperator(
        task_id="post", records_uri=write(tmp_path, records), ledger=LEDGER, **kwargs
    )
    operator.get_hook = lambda: hook
    return operator.execute(make_context())


def test_posts_in_batches_skips_what_xero_holds_and_sums_per_currency_and_category(tmp_path):
    payout = {**charge("p"), "reporting_category": "payout", "type": "payout", "amount": -5000, "fee": 0}
    payout.update(net=-5000, fee_details=[])
    hook = FakeHook(existing={"txn_0"})
    summary = run(tmp_path, [charge(n) for n in range(5)] + [payout], hook, batch_size=2)

    assert hook.batches == [["txn_1", "txn_2"], ["txn_3", "txn_4"]]
    assert hook.transfers == ["txn_p"]
    assert hook.ranges == [(date(2026, 10, 29), date(2026, 10, 29))]
    assert summary == {
        "upserted": 5,
        "unchanged": 1,
        "rejected": 0,
        "report_uri": None,
        "counts": {"usd": {"charge": 5, "payout": 1}},
        "totals": {"usd": {"charge": "47.05", "payout": "-50.00"}},
    }


def test_per_item_errors_go_to_the_report_and_the_rest_land(tmp_path):
    hook = FakeHook(refuse={"txn_1"})
    summary = run(tmp_path, [charge(n) for n in range(3)], hook)
    assert (summary["upserted"], summary["rejected"]) == (2, 1)
    assert [(r["id"], r["reason"], r["messages"]) for r in read_records(summary["report_uri"])] == [
        ("txn_1", "xero_rejected", ["Refused"])
    ]


def test_a_refused_batch_is_split_until_the_items_land(tmp_path):
    hook = FakeHook(fail_batches_over=1)
    summary = run(tmp_path, [charge(n) for n in range(3)], hook)
    assert summary["upserted"] == 3
    assert hook.batches == [["txn_0", "txn_1", "txn_2"], ["txn_0"], ["txn_1", "txn_2"], ["txn_1"], ["txn_2"]]


def test_every_record_rejected_fails_the_task(tmp_path):
    hook = FakeHook(refuse={"txn_0", "txn_1"})
    with pytest.raises(AllRecordsRejectedError):
        run(tmp_path, [charge(0), charge(1)], hook)


@pytest.mark.parametrize("render", [json.dumps, repr])
def test_a_ledger_rendered_as_text_is_accepted(tmp_path, render):
    operator = XeroCreateBankTransactionsOperator(
        task_id="post", records_uri=write(tmp_path, [charge(0)]), ledger=render(LEDGER)
    )
    hook = FakeHook()
    operator.get_hook = lambda: hook
    assert operator.execute(make_context())["upserted"] == 1


def test_accounts_are_checked_before_anything_is_written():
    config = LedgerConfig.from_dict(
        {
            **LEDGER,
            "currencies": {
                "usd": {"clearing": "200", "fees": "404"},
                "eur": {"clearing": "096", "fees": "404"},
            },
        }
    )
    with pytest.raises(ValueError) as raised:
        check_accounts(config, ACCOUNTS)
    assert str(raised.value) == (
        "The Xero ledger configuration does not match the chart of accounts: usd clearing account 200 must be "
        "a USD bank account, it is REVENUE in None; eur clearing account 096 does not exist"
    )
