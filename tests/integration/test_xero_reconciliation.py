"""Stripe balance transactions into the sandbox's Xero ledger, with the real stripe and xero-python SDKs."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import defaultdict
from decimal import Decimal

import pytest

from airflow_provider_stripe_sync.hooks import xero as xero_hooks
from airflow_provider_stripe_sync.hooks.xero import MemoryTokenStore, XeroAuthError, XeroHook, token_key
from airflow_provider_stripe_sync.operators.stripe import StripeListNewBalanceTransactionsOperator
from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator
from airflow_provider_stripe_sync.records import read_records
from airflow_provider_stripe_sync.sandbox.xero_api import SEED_REFRESH_TOKEN
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000  # 2026-10-29T00:00:00Z
DAY = 86400

LEDGER = {
    "currencies": {
        "usd": {"clearing": "095", "fees": "404", "bank": "090"},
        "eur": {"clearing": "096", "fees": "404", "bank": "091"},
        "jpy": {"clearing": "097", "fees": "404"},
    },
    "categories": {"charge": "200", "refund": "200", "dispute": "480", "dispute_reversal": "480"},
    "fee_accounts": {"tax": "820"},
    "suspense": "999",
}


def xero_connection(url, refresh_token=SEED_REFRESH_TOKEN, **extra):
    return json.dumps(
        {
            "conn_type": "xero",
            "login": "sandbox-client-id",
            "password": "sandbox-client-secret",
            "host": url,
            "extra": {"refresh_token": refresh_token, "environment": "test", **extra},
        }
    )


@pytest.fixture
def xero(sandbox, monkeypatch):
    """The sandbox with ``xero_default``; refresh tokens kept in one in-process store."""
    store = MemoryTokenStore()
    monkeypatch.setattr(xero_hooks, "VariableTokenStore", lambda: store)
    monkeypatch.setenv("AIRFLOW_CONN_XERO_DEFAULT", xero_connection(sandbox.url))
    sandbox.store = store
    return sandbox


def xero_state(sandbox):
    with urllib.request.urlopen(sandbox.url + "/_sandbox/xero/state") as response:
        return json.loads(response.read())


def xero_admin(sandbox, path, body):
    request = urllib.request.Request(
        sandbox.url + "/_sandbox/xero/" + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def seed_days(sandbox):
    """Two days of every reporting category, settling in USD, EUR and JPY, with payouts."""
    charge = {"source": "tok_visa"}
    sandbox.seed(
        stripe={
            "charges": [
                {**charge, "id": "ch_usd_1", "amount": 10000, "currency": "usd", "created": B + 100},
                {**charge, "id": "ch_usd_2", "amount": 2500, "currency": "usd", "created": B + 200},
                {**charge, "id": "ch_eur_1", "amount": 5000, "currency": "eur", "created": B + 300},
                {**charge, "id": "ch_jpy_1", "amount": 5000, "currency": "jpy", "created": B + DAY + 400},
                {**charge, "id": "ch_gbp_1", "amount": 1000, "currency": "gbp", "created": B + DAY + 500},
            ],
            "refunds": [
                {"charge": "ch_usd_2", "created": B + 600},
                {"charge": "ch_eur_1", "amount": 1000, "created": B + DAY + 700},
            ],
            "balance_transactions": [
                bt("txn_usd_dispute", "adjustment", "dispute", -1500, "usd", B + 800, [("stripe_fee", 1500)]),
                bt("txn_usd_dispute_won", "adjustment", "dispute_reversal", 1500, "usd", B + DAY + 900),
                bt("txn_usd_billing_fee", "stripe_fee", "fee", -200, "usd", B + 1000),
                bt(
                    "txn_usd_charge_tax",
                    "charge",
                    "charge",
                    2000,
                    "usd",
                    B + 1100,
                    [("stripe_fee", 59), ("tax", 6)],
                    payout="po_usd_1",
                ),
                bt("txn_usd_topup", "topup", "topup", 5000, "usd", B + 1200, payout="po_usd_1"),
                bt("txn_usd_payout", "payout", "payout", -6935, "usd", B + DAY + 1300, payout="po_usd_1"),
                bt(
                    "txn_eur_charge",
                    "charge",
                    "charge",
                    3100,
                    "eur",
                    B + 1400,
                    [("stripe_fee", 100)],
                    payout="po_eur_1",
                ),
                bt("txn_eur_payout", "payout", "payout", -3000, "eur", B + DAY + 1500, payout="po_eur_1"),
                bt("txn_jpy_dispute", "adjustment", "dispute", -3000, "jpy", B + DAY + 1600),
            ],
        }
    )


def bt(txn_id, type_, category, amount, currency, created, fees=(), payout=None):
    item = {
        "id": txn_id,
        "type": type_,
        "reporting_category": category,
        "amount": amount,
        "currency": currency,
        "created": created,
        "fee_details": [{"type": kind, "amount": value} for kind, value in fees],
    }
    if type_ == "payout":
        item["source"] = payout
    if payout:
        item["payout"] = payout
    return item


def list_day(tmp_path, start, end):
    operator = StripeListNewBalanceTransactionsOperator(task_id="list", output_uri=str(tmp_path), lookback=0)
    return operator.execute(make_context(interval=(start, end), run_id=f"scheduled__{start}"))


def reconcile(summary, tmp_path, *, run_id, try_number=1, **kwargs):
    operator = XeroCreateBankTransactionsOperator(
        task_id="post", records_uri=summary, ledger=LEDGER, stripe_conn_id="stripe_default", **kwargs
    )
    return operator.execute(make_context(run_id=run_id, try_number=try_number))


def ledger_by_currency_and_account(state):
    """Each (currency, account code) with its signed total: money in positive, money out negative."""
    codes = {a["AccountID"]: a for a in state["accounts"]}
    totals = defaultdict(Decimal)
    for txn in state["bank_transactions"]:
        sign = 1 if txn["Type"] == "RECEIVE" else -1
        totals[(txn["CurrencyCode"], txn["BankAccount"]["Code"])] += sign * Decimal(str(txn["Total"]))
        for line in txn["LineItems"]:
            totals[(txn["CurrencyCode"], line["AccountCode"])] += sign * Decimal(str(line["LineAmount"]))
    for transfer in state["bank_transfers"]:
        currency = codes[transfer["FromBankAccount"]["AccountID"]]["CurrencyCode"]
        amount = Decimal(str(transfer["Amount"]))
        totals[(currency, transfer["FromBankAccount"]["Code"])] -= amount
        totals[(currency, transfer["ToBankAccount"]["Code"])] += amount
    return {key: str(value.quantize(Decimal("0.01"))) for key, value in sorted(totals.items()) if value}


EXPECTED_LEDGER = {
    ("EUR", "091"): "30.00",
    ("EUR", "096"): "38.25",
    ("EUR", "200"): "71.00",
    ("EUR", "404"): "-2.75",
    ("JPY", "097"): "1825.00",
    ("JPY", "200"): "5000.00",
    ("JPY", "404"): "-175.00",
    ("JPY", "480"): "-3000.00",
    ("USD", "090"): "69.35",
    ("USD", "095"): "78.77",
    ("USD", "200"): "120.00",
    ("USD", "404"): "-21.82",
    ("USD", "820"): "-0.06",
    ("USD", "999"): "50.00",
}


def stripe_balances(sandbox):
    with urllib.request.urlopen(
        urllib.request.Request(
            sandbox.url + "/v1/balance", headers={"Authorization": "Bearer sk_test_sandbox"}
        )
    ) as response:
        balance = json.loads(response.read())
    out = defaultdict(int)
    for bucket in ("available", "pending"):
        for entry in balance[bucket]:
            out[entry["currency"]] += entry["amount"]
    return dict(out)


def test_two_days_reconcile_to_exact_totals_and_the_stripe_balance(xero, tmp_path):
    seed_days(xero)
    days = [list_day(tmp_path, B, B + DAY), list_day(tmp_path, B + DAY, B + 2 * DAY)]
    assert [d["count"] for d in days] == [9, 7]

    first = reconcile(days[0], tmp_path, run_id="day1")
    second = reconcile(days[1], tmp_path, run_id="day2")

    assert (first["upserted"], first["unchanged"], first["rejected"]) == (9, 0, 0)
    assert (second["upserted"], second["unchanged"], second["rejected"]) == (6, 0, 1)
    assert first["totals"] == {
        "eur": {"charge": "78.25"},
        "usd": {
            "charge": "140.12",
            "dispute": "-30.00",
            "fee": "-2.00",
            "refund": "-25.00",
            "topup": "50.00",
        },
    }
    assert second["totals"] == {
        "eur": {"payout": "-30.00", "refund": "-10.00"},
        "jpy": {"charge": "4825.00", "dispute": "-3000.00"},
        "usd": {"dispute_reversal": "15.00", "payout": "-69.35"},
    }
    # The topup has no category account: posted to suspense and reported; GBP has no clearing account.
    first_report = [(r["id"], r["reason"], r["posted"]) for r in read_records(first["report_uri"])]
    assert first_report == [("txn_usd_topup", "unmapped_category_posted_to_suspense", True)]
    second_report = {
        (r["reason"], r["posted"], r.get("currency")) for r in read_records(second["report_uri"])
    }
    assert second_report == {("no_clearing_account_for_currency", False, "gbp")}

    state = xero_state(xero)
    assert ledger_by_currency_and_account(state) == EXPECTED_LEDGER
    assert len(state["bank_transactions"]) == 13
    assert sorted(t["Reference"] for t in state["bank_transfers"]) == ["txn_eur_payout", "txn_usd_payout"]
    balances = stripe_balances(xero)
    assert {c: balances[c] for c in ("usd", "eur", "jpy")} == {"usd": 7877, "eur": 3825, "jpy": 1825}
    assert Decimal(EXPECTED_LEDGER[("USD", "095")]) * 100 == balances["usd"]
    assert Decimal(EXPECTED_LEDGER[("EUR", "096")]) * 100 == balances["eur"]
    assert Decimal(EXPECTED_LEDGER[("JPY", "097")]) == balances["jpy"]


def test_rerunning_an_interval_writes_nothing(xero, tmp_path):
    seed_days(xero)
    day = list_day(tmp_path, B, B + DAY)
    reconcile(day, tmp_path, run_id="day1")
    before = xero_state(xero)

    again = reconcile(day, tmp_path, run_id="day1", try_number=2)

    assert (again["upserted"], again["unchanged"]) == (0, 9)
    after = xero_state(xero)
    assert len(after["bank_transactions"]) == len(before["bank_transactions"]) == 9
    assert after["balances"] == before["balances"]


def test_a_task_killed_after_half_the_batches_then_retried_posts_each_once(xero, tmp_path, monkeypatch):
    seed_days(xero)
    day = list_day(tmp_path, B, B + DAY)
    original = XeroHook.create_bank_transactions
    calls = []

    def dies_after_two_batches(self, entries, contact_id):
        if len(calls) == 2:
            raise SystemExit("worker killed")
        calls.append(len(entries))
        return original(self, entries, contact_id)

    monkeypatch.setattr(XeroHook, "create_bank_transactions", dies_after_two_batches)
    with pytest.raises(SystemExit):
        reconcile(day, tmp_path, run_id="day1", batch_size=2)
    assert calls == [2, 2]
    assert len(xero_state(xero)["bank_transactions"]) == 4

    monkeypatch.setattr(XeroHook, "create_bank_transactions", original)
    retried = reconcile(day, tmp_path, run_id="day1", try_number=2, batch_size=2)

    assert (retried["upserted"], retried["unchanged"]) == (5, 4)
    references = [t["Reference"] for t in xero_state(xero)["bank_transactions"]]
    assert len(references) == len(set(references)) == 9


def test_a_request_retried_with_its_idempotency_key_posts_once(xero, tmp_path):
    seed_days(xero)
    day = list_day(tmp_path, B, B + DAY)
    # The first create fails with a 503; the retry carries the same Idempotency-Key, so had Xero
    # saved the first, it would answer the retry from what it saved instead of posting again.
    xero.add_fault(api="xero", method="PUT", path="/api.xro/2.0/BankTransactions", status=503, times=1)
    summary = reconcile(day, tmp_path, run_id="day1")
    assert summary["upserted"] == 9
    keys = [
        r["headers"].get("idempotency-key")
        for r in xero.requests()
        if r["path"] == "/api.xro/2.0/BankTransactions" and r["method"] == "PUT"
    ]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("stripe-sync-bank_transactions-")
    assert len(xero_state(xero)["bank_transactions"]) == 9


def test_the_same_batch_sent_twice_is_saved_once(xero, tmp_path):
    from airflow_provider_stripe_sync.mapping.xero import LedgerConfig, plan_ledger

    seed_days(xero)
    plan = plan_ledger(read_records(list_day(tmp_path, B, B + DAY)["uri"]), LedgerConfig.from_dict(LEDGER))
    entries = [e for e in plan.entries if e.reference.startswith("txn_")][:3]
    hook = XeroHook()
    contact = hook.ensure_contact("Stripe")
    first = hook.create_bank_transactions(entries, contact)
    second = hook.create_bank_transactions(entries, contact)
    assert first == second
    assert len(xero_state(xero)["bank_transactions"]) == 3


def test_a_minute_limit_is_waited_out_and_a_day_limit_fails_clearly(xero, tmp_path):
    seed_days(xero)
    day = list_day(tmp_path, B, B + DAY)
    xero.add_fault(api="xero", path="/api.xro/2.0/Accounts", status=429, code="minute", times=1)
    assert reconcile(day, tmp_path, run_id="day1")["upserted"] == 9

    from airflow_provider_stripe_sync.exceptions import DestinationError

    xero.add_fault(api="xero", path="/api.xro/2.0/Accounts", status=429, code="day", times=1)
    with pytest.raises(DestinationError, match="daily limit"):
        reconcile(day, tmp_path, run_id="day1", try_number=2)


def test_two_workers_refreshing_at_once_both_succeed(xero, monkeypatch):
    # Two workers read the same stored refresh token at the same moment: separate stores, and no
    # shared lock (each gets its own, as in two processes), so both send the same token to Xero.
    monkeypatch.setattr(xero_hooks, "_lock_for", lambda key: threading.Lock())
    results = []

    def worker():
        hook = XeroHook(token_store=MemoryTokenStore())
        results.append(hook.test_connection())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [ok for ok, _ in results] == [True, True]
    refreshes = [r for r in xero.requests() if r["path"] == "/connect/token"]
    assert [(r["form"]["refresh_token"], r["status"]) for r in refreshes] == [(SEED_REFRESH_TOKEN, 200)] * 2


def test_a_refresh_token_used_after_the_grace_period_asks_to_reauthorise(xero):
    first = XeroHook(token_store=MemoryTokenStore())
    first.renew_access_token()
    xero.advance(31 * 60)

    late = XeroHook(token_store=MemoryTokenStore())
    with pytest.raises(XeroAuthError, match="Re-authorise"):
        late.renew_access_token()


def test_invalid_grant_rereads_the_stored_token_once(xero):
    # Another worker rotated the token and saved it; this one still holds the old one in hand.
    store = xero.store
    rotated = XeroHook()
    rotated.renew_access_token()
    newest = json.loads(store.get(token_key("xero_default")))["refresh_token"]
    xero.advance(31 * 60)

    stale = XeroHook()
    reads = []
    original = stale._stored_refresh_token

    def first_read_is_stale():
        reads.append(1)
        return SEED_REFRESH_TOKEN if len(reads) == 1 else original()

    stale._stored_refresh_token = first_read_is_stale
    stale.renew_access_token()
    assert len(reads) == 2
    saved = json.loads(store.get(token_key("xero_default")))["refresh_token"]
    assert saved not in (SEED_REFRESH_TOKEN, newest)


def test_client_credentials_need_no_refresh_token(xero, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_XERO_CC",
        json.dumps(
            {
                "conn_type": "xero",
                "login": "custom-client",
                "password": "custom-secret",
                "host": xero.url,
                "extra": {"grant_type": "client_credentials"},
            }
        ),
    )
    ok, message = XeroHook(xero_conn_id="xero_cc").test_connection()
    assert ok, message
    assert xero.store.values == {}


def test_a_wrong_tenant_is_reported_by_test_connection(xero, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_XERO_DEFAULT",
        xero_connection(xero.url, tenant_id="00000000-0000-0000-0000-000000000000"),
    )
    ok, message = XeroHook().test_connection()
    assert not ok
    assert "not one this app is connected to" in message


def test_the_authorize_helper_prints_a_connection_the_hook_can_use(xero, monkeypatch, capsys):
    from airflow_provider_stripe_sync import xero_authorize

    code = xero_admin(xero, "codes", {})["code"]
    monkeypatch.setenv("XERO_CLIENT_SECRET", "sandbox-client-secret")
    argv = [
        "--client-id",
        "sandbox-client-id",
        "--code",
        code,
        "--identity-url",
        xero.url,
        "--api-url",
        xero.url,
    ]
    assert xero_authorize.main(argv) == 0

    printed = capsys.readouterr().out
    assert "Organisation: Sandbox Trading Ltd (tenant id 3f6d9a2e-5b1c-4e8f-9a7d-0c2b4e6f8a10)" in printed
    extra = json.loads(printed.split("--conn-extra '")[1].split("'")[0])
    assert extra["tenant_id"] == "3f6d9a2e-5b1c-4e8f-9a7d-0c2b4e6f8a10"
    monkeypatch.setenv("AIRFLOW_CONN_XERO_DEFAULT", xero_connection(xero.url, **extra))
    assert XeroHook().test_connection()[0]
    # A code works once.
    with pytest.raises(SystemExit, match="refused the code"):
        xero_authorize.main(argv)


def test_the_sandbox_ledger_has_the_shapes_of_xeros_spec(xero, tmp_path):
    from tests import contract

    folder = contract.specs_dir()
    spec_file = None if folder is None else folder / "xero-accounting-openapi.yaml"
    if spec_file is None or not spec_file.is_file():
        pytest.skip("the Xero accounting spec is not in ../shared/specs")
    import jsonschema
    import yaml

    components = yaml.safe_load(spec_file.read_text())["components"]
    seed_days(xero)
    reconcile(list_day(tmp_path, B, B + 2 * DAY), tmp_path, run_id="both")
    state = xero_state(xero)
    objects = {
        "Account": state["accounts"],
        "Contact": state["contacts"],
        "BankTransaction": state["bank_transactions"],
        "BankTransfer": state["bank_transfers"],
    }
    for name, items in objects.items():
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        known = set(components["schemas"][name]["properties"])
        for item in items:
            jsonschema.validate(item, schema)
            assert set(item) <= known, (name, set(item) - known)
    line_keys = set(components["schemas"]["LineItem"]["properties"])
    for txn in state["bank_transactions"]:
        for line in txn["LineItems"]:
            assert set(line) <= line_keys, set(line) - line_keys


def test_a_payout_that_differs_from_its_balance_transactions_is_reported(xero, tmp_path):
    xero.seed(
        stripe={
            "balance_transactions": [
                bt(
                    "txn_in",
                    "charge",
                    "charge",
                    7000,
                    "usd",
                    B + 100,
                    [("stripe_fee", 65)],
                    payout="po_short",
                ),
                bt("txn_po", "payout", "payout", -7000, "usd", B + 200, payout="po_short"),
            ]
        }
    )
    summary = reconcile(list_day(tmp_path, B, B + DAY), tmp_path, run_id="day1")

    assert (summary["upserted"], summary["rejected"]) == (2, 0)
    rows = list(read_records(summary["report_uri"]))
    assert [(r["id"], r["reason"], r["payout"], r["difference"], r["posted"]) for r in rows] == [
        ("txn_po", "payout_amount_differs_from_its_balance_transactions", "po_short", "0.65", True)
    ]
