"""
Stripe balance transactions onto a Xero ledger: bank transactions and bank transfers.

Each Stripe settlement currency has a clearing bank account in Xero (a Xero bank account holds one
currency) that mirrors the Stripe balance in that currency. Every balance transaction becomes one
Xero entry on it, with the Stripe id in ``Reference``:

- a payout (``reporting_category`` ``payout`` or ``payout_reversal``) becomes a bank transfer
  between the clearing account and the currency's bank account;
- anything else becomes one bank transaction whose total is the transaction's ``net``: a line for
  ``amount`` on the category's account, and a line per ``fee_details`` entry (Stripe's fee, tax on
  fees...) on the fees account, so gross and fees stay apart in the books;
- a category with no account configured posts to the suspense account and is reported; a currency
  with no clearing account is reported and not posted (Xero would need an invented exchange rate).

Amounts come from Stripe's minor units by Stripe's currency rules and are rounded per line, half up,
to Xero's two places. Pure functions over plain dicts: no Airflow, no SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from airflow_provider_stripe_sync.stripe.money import (
    UnknownCurrencyError,
    currency_exponent,
    from_minor_units,
    round_line,
)

#: Bank transaction types, as Xero names them.
RECEIVE = "RECEIVE"
SPEND = "SPEND"

#: Categories that move money between the clearing account and the bank account.
PAYOUT_CATEGORIES = frozenset({"payout", "payout_reversal"})

#: Reasons a balance transaction is reported.
REASON_UNMAPPED_CATEGORY = "unmapped_category_posted_to_suspense"
REASON_UNMAPPED_CURRENCY = "no_clearing_account_for_currency"
REASON_UNKNOWN_CURRENCY = "unknown_currency"
REASON_NO_BANK_ACCOUNT = "no_bank_account_for_payout_posted_to_suspense"
REASON_ZERO = "zero_amount_not_posted"
REASON_NOT_A_BALANCE_TRANSACTION = "not_a_balance_transaction"


@dataclass(frozen=True)
class CurrencyAccounts:
    """
    The Xero accounts of one settlement currency, by account code.

    :param clearing: the bank account that mirrors the Stripe balance in this currency.
    :param fees: the expense account Stripe's fees go to.
    :param bank: the bank account payouts arrive in; without one, payouts go to suspense.
    """

    clearing: str
    fees: str
    bank: str | None = None


@dataclass(frozen=True)
class LedgerConfig:
    """
    Where balance transactions go in Xero.

    :param currencies: lower-case settlement currency to its accounts.
    :param categories: ``reporting_category`` to the account code of its amount line; ``fee``
        defaults to the currency's fees account.
    :param suspense: the account of amounts no category maps.
    :param fee_accounts: ``fee_details`` type (``tax``, ``application_fee``...) to an account that
        replaces the currency's fees account for that type.
    :param contact_name: the Xero contact every entry names (Xero requires one).
    """

    currencies: Mapping[str, CurrencyAccounts]
    categories: Mapping[str, str]
    suspense: str
    fee_accounts: Mapping[str, str] = field(default_factory=dict)
    contact_name: str = "Stripe"

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> LedgerConfig:
        """
        Build the configuration from plain data (a DAG argument, rendered)::

            {"currencies": {"usd": {"clearing": "610", "fees": "404", "bank": "090"}},
             "categories": {"charge": "200", "refund": "200", "dispute": "210"},
             "suspense": "999"}
        """
        if not isinstance(value, Mapping):
            raise ValueError(
                f"The Xero ledger configuration must be a mapping, got {value!r}; give a dict such as "
                "{'currencies': {'usd': {'clearing': '095', 'fees': '404'}}, 'suspense': '999'}."
            )
        unknown = sorted(
            set(value) - {"currencies", "categories", "suspense", "fee_accounts", "contact_name"}
        )
        if unknown:
            raise ValueError(
                f"Unknown Xero ledger configuration key(s): {', '.join(unknown)}; accepted: categories, "
                "contact_name, currencies, fee_accounts, suspense."
            )
        currencies = {}
        for currency, accounts in dict(value.get("currencies") or {}).items():
            try:
                currency_exponent(str(currency))
            except UnknownCurrencyError:
                raise ValueError(
                    f"ledger['currencies'] names {currency!r}, which is not a Stripe currency: use the "
                    "three-letter ISO code Stripe settles in, such as 'usd' or 'eur'."
                ) from None
            if not isinstance(accounts, Mapping) or not accounts.get("clearing") or not accounts.get("fees"):
                raise ValueError(
                    f"ledger['currencies'][{currency!r}] needs at least 'clearing' and 'fees' account codes, "
                    "such as {'clearing': '095', 'fees': '404', 'bank': '090'}."
                )
            currencies[str(currency).lower()] = CurrencyAccounts(
                clearing=str(accounts["clearing"]),
                fees=str(accounts["fees"]),
                bank=str(accounts["bank"]) if accounts.get("bank") else None,
            )
        if not currencies:
            raise ValueError(
                "The Xero ledger configuration names no currency: give ledger['currencies'] the accounts of "
                "each settlement currency, such as {'usd': {'clearing': '095', 'fees': '404'}}."
            )
        if not value.get("suspense"):
            raise ValueError(
                "The Xero ledger configuration needs a 'suspense' account code (ledger['suspense']), where "
                "categories with no account of their own go."
            )
        return cls(
            currencies=currencies,
            categories={str(k): str(v) for k, v in dict(value.get("categories") or {}).items()},
            suspense=str(value["suspense"]),
            fee_accounts={str(k): str(v) for k, v in dict(value.get("fee_accounts") or {}).items()},
            contact_name=str(value.get("contact_name") or "Stripe"),
        )


@dataclass(frozen=True)
class Line:
    """One line of a bank transaction: positive amounts add to the transaction's total."""

    description: str
    account_code: str
    amount: Decimal


@dataclass(frozen=True)
class PlannedBankTransaction:
    """One balance transaction as a Xero bank transaction on the clearing account."""

    reference: str
    type: str
    bank_account: str
    currency: str
    date: date
    contact_name: str
    lines: tuple[Line, ...]
    category: str

    @property
    def total(self) -> Decimal:
        """What Xero shows as the transaction's total."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def clearing_change(self) -> Decimal:
        """How the clearing account's balance moves: the Stripe ``net``, rounded per line."""
        return self.total if self.type == RECEIVE else -self.total


@dataclass(frozen=True)
class PlannedTransfer:
    """One payout (or its reversal) as a Xero bank transfer."""

    reference: str
    from_account: str
    to_account: str
    currency: str
    date: date
    amount: Decimal
    category: str
    clearing_account: str

    @property
    def clearing_change(self) -> Decimal:
        """How the clearing account's balance moves."""
        return -self.amount if self.from_account == self.clearing_account else self.amount


Entry = PlannedBankTransaction | PlannedTransfer


@dataclass(frozen=True)
class Issue:
    """A balance transaction that was not posted as is: the reason, and whether it was posted at all."""

    record_id: str | None
    reason: str
    posted: bool
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LedgerPlan:
    """The entries to post and the issues to report, in the order of the records."""

    entries: list[Entry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _day(created: Any) -> date:
    return datetime.fromtimestamp(int(created), tz=timezone.utc).date()


def plan_entry(txn: Mapping[str, Any], config: LedgerConfig) -> tuple[Entry | None, list[Issue]]:
    """Map one balance transaction: its Xero entry (or ``None``) and what to report about it."""
    txn_id = txn.get("id")
    if txn.get("object") not in (None, "balance_transaction") or not str(txn_id or "").startswith("txn_"):
        return None, [Issue(txn_id, REASON_NOT_A_BALANCE_TRANSACTION, posted=False)]
    currency = str(txn.get("currency") or "").lower()
    category = str(txn.get("reporting_category") or txn.get("type") or "")
    try:
        amount = from_minor_units(int(txn["amount"]), currency)
        fees = [
            (detail, from_minor_units(int(detail["amount"]), currency))
            for detail in txn.get("fee_details") or []
        ]
        fee_total = from_minor_units(int(txn.get("fee") or 0), currency)
    except UnknownCurrencyError as err:
        return None, [Issue(txn_id, REASON_UNKNOWN_CURRENCY, posted=False, details={"error": str(err)})]
    accounts = config.currencies.get(currency)
    if accounts is None:
        details = {"currency": currency, "category": category, "net": str(amount - fee_total)}
        return None, [Issue(txn_id, REASON_UNMAPPED_CURRENCY, posted=False, details=details)]
    if not fees and fee_total:
        # fee_details missing (an unexpanded or trimmed record): the fee still counts, as one line.
        fees = [({"type": "stripe_fee", "description": "Stripe fees"}, fee_total)]
    if amount == 0 and fee_total == 0:
        return None, [Issue(txn_id, REASON_ZERO, posted=False, details={"category": category})]

    when = _day(txn.get("created", 0))
    if category in PAYOUT_CATEGORIES and not fees and accounts.bank:
        # A payout leaves the Stripe balance (negative amount); a reversal brings it back.
        source, target = (
            (accounts.clearing, accounts.bank) if amount < 0 else (accounts.bank, accounts.clearing)
        )
        transfer = PlannedTransfer(
            reference=str(txn_id),
            from_account=source,
            to_account=target,
            currency=currency.upper(),
            date=when,
            amount=round_line(abs(amount)),
            category=category,
            clearing_account=accounts.clearing,
        )
        return transfer, []

    issues: list[Issue] = []
    account = config.categories.get(category) or (accounts.fees if category == "fee" else None)
    if account is None:
        account = config.suspense
        reason = REASON_NO_BANK_ACCOUNT if category in PAYOUT_CATEGORIES else REASON_UNMAPPED_CATEGORY
        issues.append(
            Issue(txn_id, reason, posted=True, details={"category": category, "currency": currency})
        )
    description = str(txn.get("description") or category or "Stripe balance transaction")
    signed = [Line(description, account, amount)]
    for detail, fee in fees:
        fee_account = config.fee_accounts.get(str(detail.get("type"))) or accounts.fees
        fee_description = str(detail.get("description") or detail.get("type") or "Stripe fee")
        signed.append(Line(fee_description, fee_account, -fee))
    net = amount - fee_total
    kind = RECEIVE if net >= 0 else SPEND
    sign = 1 if kind == RECEIVE else -1
    lines = tuple(
        Line(line.description, line.account_code, round_line(line.amount * sign))
        for line in signed
        if line.amount
    )
    entry = PlannedBankTransaction(
        reference=str(txn_id),
        type=kind,
        bank_account=accounts.clearing,
        currency=currency.upper(),
        date=when,
        contact_name=config.contact_name,
        lines=lines,
        category=category,
    )
    return entry, issues


def plan_ledger(records: Iterable[Mapping[str, Any]], config: LedgerConfig) -> LedgerPlan:
    """Map balance transactions; each Stripe id is planned once, whatever the record files repeat."""
    plan = LedgerPlan()
    seen: set[str] = set()
    for txn in records:
        txn_id = str(txn.get("id"))
        if txn_id in seen:
            continue
        seen.add(txn_id)
        entry, issues = plan_entry(txn, config)
        if entry is not None:
            plan.entries.append(entry)
        plan.issues.extend(issues)
    return plan


def payout_mismatch(payout: Mapping[str, Any], paid_out: Iterable[Mapping[str, Any]]) -> Decimal | None:
    """
    Compare a payout with the balance transactions it paid out (``balance_transactions?payout=``).

    Returns the difference (payout amount minus the sum of the others' ``net``, in major units), or
    ``None`` when they agree. The payout's own balance transaction in the list is left out.

    :param payout: the payout's balance transaction (negative ``amount``) or the payout itself.
    :param paid_out: the balance transactions the payout includes.
    """
    currency = str(payout.get("currency") or "")
    payout_ids = {payout.get("id"), payout.get("source")}
    included = sum(
        (
            from_minor_units(int(txn["net"]), currency)
            for txn in paid_out
            if txn.get("id") not in payout_ids and txn.get("type") != "payout"
        ),
        Decimal(0),
    )
    paid = abs(from_minor_units(int(payout["amount"]), currency))
    difference = paid - included
    return None if difference == 0 else difference
