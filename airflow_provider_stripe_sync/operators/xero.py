"""Operators for Xero: Stripe balance transactions into the ledger."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_stripe_sync.context import safe_part
from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_stripe_sync.hooks.xero import XeroHook
    from airflow_provider_stripe_sync.mapping.xero import Entry, LedgerConfig, PlannedBankTransaction
    from airflow_provider_stripe_sync.records import ReportWriter

#: Reasons this operator adds to the mapping's.
REASON_XERO_REJECTED = "xero_rejected"
REASON_PAYOUT_MISMATCH = "payout_amount_differs_from_its_balance_transactions"


def _batch_size(value: Any, maximum: int) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"batch_size must be an integer from 1 to {maximum}, got {value!r}.") from None
    if not 1 <= size <= maximum:
        raise ValueError(f"batch_size must be from 1 to {maximum}, got {size}.")
    return size


def _chunks(items: Sequence[PlannedBankTransaction], size: int) -> Iterator[Sequence[PlannedBankTransaction]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ledger_mapping(value: Any) -> Any:
    """The ledger as rendered: a mapping, JSON text, or (without native rendering) a dict's repr."""
    if not isinstance(value, str):
        return value
    import ast
    import json

    try:
        return json.loads(value)
    except json.JSONDecodeError:
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError(f"ledger must be a mapping or its JSON text, got {value[:200]!r}.") from None


def check_accounts(config: LedgerConfig, accounts: Sequence[Mapping[str, Any]]) -> None:
    """Fail before writing when a configured account is missing, or a bank account has another currency."""
    by_code = {account["code"]: account for account in accounts}
    problems = []
    codes = {config.suspense, *config.categories.values(), *config.fee_accounts.values()}
    for currency, currency_accounts in config.currencies.items():
        codes.add(currency_accounts.fees)
        for role, code in (("clearing", currency_accounts.clearing), ("bank", currency_accounts.bank)):
            if code is None:
                continue
            account = by_code.get(code)
            if account is None:
                problems.append(f"{currency} {role} account {code} does not exist")
            elif account["type"] != "BANK" or str(account["currency"] or "").lower() != currency:
                problems.append(
                    f"{currency} {role} account {code} must be a {currency.upper()} bank account, "
                    f"it is {account['type']} in {account['currency']}"
                )
    problems += [f"account {code} does not exist" for code in sorted(codes) if code not in by_code]
    if problems:
        raise ValueError(
            "The Xero ledger configuration does not match the chart of accounts: " + "; ".join(problems)
        )


class XeroCreateBankTransactionsOperator(BaseOperator):
    """
    Post Stripe balance transactions to Xero: bank transactions on clearing accounts, payouts as transfers.

    Reads the record files a ``StripeListNewBalanceTransactionsOperator`` wrote, maps each balance
    transaction (see :mod:`airflow_provider_stripe_sync.mapping.xero`), finds what Xero already holds
    by paging the bank transactions and transfers of the records' date range (a lookup by
    ``Reference``, the Stripe id, not one call per id), and posts the rest: bank transactions in
    batches with ``summarizeErrors=false`` and an idempotency key, so per-item errors go to the report
    while the rest land and a retried request posts once; transfers one at a time. Running an
    interval again, or retrying a task that died half way, leaves one Xero entry per Stripe id.

    Returns ``{"upserted", "unchanged", "rejected", "report_uri", "counts", "totals"}``: ``counts``
    and ``totals`` (decimal strings, how each entry moves its clearing account) per currency and
    reporting category, over every entry the ledger holds for these records after the run.

    :param records_uri: the record file to read, a list of them, or upstream summaries with a
        ``uri``. Templated.
    :param ledger: the accounts to post to, see ``LedgerConfig.from_dict``. Templated.
    :param report_uri: where rejected and suspense-posted records are written; default
        ``<records folder>/reports/<dag_id>/<task_id>/<run_id>__try<n>.jsonl``. Templated.
    :param xero_conn_id: the ``xero`` connection.
    :param stripe_conn_id: when set, each payout is compared with the sum of its balance
        transactions read from Stripe (``balance_transactions?payout=``); a mismatch is reported.
    :param batch_size: bank transactions per Xero call, 1 to 50.
    """

    template_fields: Sequence[str] = ("records_uri", "ledger", "report_uri")

    def __init__(
        self,
        *,
        records_uri: str | Sequence[str],
        ledger: Mapping[str, Any] | str,
        report_uri: str | None = None,
        xero_conn_id: str = "xero_default",
        stripe_conn_id: str | None = None,
        batch_size: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.records_uri = records_uri
        self.ledger = ledger
        self.report_uri = report_uri
        self.xero_conn_id = xero_conn_id
        self.stripe_conn_id = stripe_conn_id
        self.batch_size = batch_size

    def get_hook(self) -> XeroHook:
        """The Xero hook this task writes with."""
        from airflow_provider_stripe_sync.hooks.xero import XeroHook

        return XeroHook(xero_conn_id=self.xero_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.environment import check_records_environment
        from airflow_provider_stripe_sync.hooks.xero import MAX_BATCH_SIZE
        from airflow_provider_stripe_sync.mapping.xero import LedgerConfig, PlannedTransfer, plan_ledger
        from airflow_provider_stripe_sync.records import ReportWriter, read_records, record_uris

        batch_size = _batch_size(self.batch_size, MAX_BATCH_SIZE)
        config = LedgerConfig.from_dict(_ledger_mapping(self.ledger))
        uris = record_uris(self.records_uri, field="records_uri")
        report_uri = self.report_uri or self._default_report_uri(uris[0], context)

        payouts: dict[str, dict[str, Any]] = {}

        def records() -> Iterator[dict[str, Any]]:
            for record in itertools.chain.from_iterable(read_records(uri) for uri in uris):
                if record.get("reporting_category") == "payout":
                    payouts[str(record["id"])] = record
                yield record

        plan = plan_ledger(records(), config)
        transactions = [e for e in plan.entries if not isinstance(e, PlannedTransfer)]
        transfers = [e for e in plan.entries if isinstance(e, PlannedTransfer)]
        self.log.info(
            "Planned %d bank transactions and %d transfers from %d record file(s); %d records reported.",
            len(transactions),
            len(transfers),
            len(uris),
            len(plan.issues),
        )

        hook = self.get_hook()
        if plan.entries:
            # Before anything is sent: test-mode records never reach a live ledger, nor the reverse.
            check_records_environment(uris, hook.environment, conn_id=self.xero_conn_id)
        in_ledger: list[Entry] = []
        upserted = unchanged = rejected = 0
        with ReportWriter(report_uri) as report:
            for issue in plan.issues:
                report.reject(issue.record_id, issue.reason, posted=issue.posted, **issue.details)
                rejected += 0 if issue.posted else 1
            if plan.entries:
                check_accounts(config, hook.accounts())
                first = min(entry.date for entry in plan.entries)
                last = max(entry.date for entry in plan.entries)
                existing = hook.bank_transaction_references(first, last) if transactions else set()
                existing_transfers = hook.bank_transfer_references(first, last) if transfers else set()
                todo = [e for e in transactions if e.reference not in existing]
                todo_transfers = [e for e in transfers if e.reference not in existing_transfers]
                unchanged = len(plan.entries) - len(todo) - len(todo_transfers)
                in_ledger += [e for e in transactions if e.reference in existing]
                in_ledger += [e for e in transfers if e.reference in existing_transfers]
                contact_id = hook.ensure_contact(config.contact_name) if todo else ""

                for number, batch in enumerate(_chunks(todo, batch_size), start=1):
                    started = time.monotonic()
                    posted = self._post_batch(hook, batch, contact_id, report)
                    in_ledger += posted
                    upserted += len(posted)
                    rejected += len(batch) - len(posted)
                    self.log.info(
                        "Batch %d: %d bank transactions, %d posted, %d rejected in %.2f s.",
                        number,
                        len(batch),
                        len(posted),
                        len(batch) - len(posted),
                        time.monotonic() - started,
                    )
                for transfer in todo_transfers:
                    if self._post_transfer(hook, transfer, report):
                        in_ledger.append(transfer)
                        upserted += 1
                    else:
                        rejected += 1
                if self.stripe_conn_id and payouts:
                    self._check_payouts(payouts, report)
            summary = {
                "upserted": upserted,
                "unchanged": unchanged,
                "rejected": rejected,
                "report_uri": report.uri,
                **_totals(in_ledger),
            }

        self.log.info("Xero ledger: %d posted, %d already there, %d rejected.", upserted, unchanged, rejected)
        if rejected and not upserted and not unchanged:
            raise AllRecordsRejectedError(
                f"All {rejected} records were rejected; see the report at {summary['report_uri']}."
            )
        return summary

    def _post_batch(
        self, hook: XeroHook, batch: Sequence[PlannedBankTransaction], contact_id: str, report: ReportWriter
    ) -> list[PlannedBankTransaction]:
        from airflow_provider_stripe_sync.hooks.xero import XeroRequestError

        try:
            results = hook.create_bank_transactions(batch, contact_id)
        except XeroRequestError as err:
            if err.status != 400 or len(batch) == 1:
                if err.status != 400:
                    raise
                report.reject(batch[0].reference, REASON_XERO_REJECTED, posted=False, message=str(err))
                return []
            middle = len(batch) // 2
            first = self._post_batch(hook, batch[:middle], contact_id, report)
            return first + self._post_batch(hook, batch[middle:], contact_id, report)
        by_reference = {entry.reference: entry for entry in batch}
        posted = []
        for reference, transaction_id, errors in results:
            if transaction_id is None:
                report.reject(reference, REASON_XERO_REJECTED, posted=False, messages=errors)
            else:
                posted.append(by_reference[reference])
        return posted

    def _post_transfer(self, hook: XeroHook, transfer: Any, report: ReportWriter) -> bool:
        from airflow_provider_stripe_sync.hooks.xero import XeroRequestError

        try:
            hook.create_bank_transfer(transfer)
        except XeroRequestError as err:
            if err.status != 400:
                raise
            report.reject(transfer.reference, REASON_XERO_REJECTED, posted=False, message=str(err))
            return False
        return True

    def _check_payouts(self, payouts: Mapping[str, Mapping[str, Any]], report: ReportWriter) -> None:
        """Compare each payout with the balance transactions Stripe says it paid out."""
        from airflow_provider_stripe_sync.hooks.stripe import StripeHook
        from airflow_provider_stripe_sync.mapping.xero import payout_mismatch

        stripe = StripeHook(stripe_conn_id=self.stripe_conn_id)
        for txn_id, payout in payouts.items():
            paid_out = list(stripe.iter_all("balance_transactions", {"payout": payout.get("source")}))
            difference = payout_mismatch(payout, paid_out)
            if difference is not None:
                report.reject(
                    txn_id,
                    REASON_PAYOUT_MISMATCH,
                    posted=True,
                    payout=payout.get("source"),
                    difference=str(difference),
                    currency=payout.get("currency"),
                )

    def _default_report_uri(self, records_uri: str, context: Context) -> str:
        """Return ``<records folder>/reports/<dag_id>/<task_id>/<run_id>__try<n>.jsonl``."""
        from airflow_provider_stripe_sync.records import storage_path

        ti = context.get("ti")
        dag_id = getattr(ti, "dag_id", None) or self.dag_id
        task_id = getattr(ti, "task_id", None) or self.task_id
        run_id = context.get("run_id") or getattr(ti, "run_id", None) or "no_run"
        try_number = getattr(ti, "try_number", None) or 1
        folder = storage_path(records_uri).parent
        name = f"{safe_part(run_id)}__try{try_number}.jsonl"
        return str(folder / "reports" / safe_part(dag_id) / safe_part(task_id) / name)


def _totals(entries: Sequence[Entry]) -> dict[str, Any]:
    """Counts and clearing-account movements per currency and category, as JSON-safe values."""
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        currency = entry.currency.lower()
        counts.setdefault(currency, {}).setdefault(entry.category, 0)
        counts[currency][entry.category] += 1
        totals.setdefault(currency, {}).setdefault(entry.category, Decimal("0.00"))
        totals[currency][entry.category] += entry.clearing_change
    return {
        "counts": {c: dict(sorted(v.items())) for c, v in sorted(counts.items())},
        "totals": {c: {k: str(a) for k, a in sorted(v.items())} for c, v in sorted(totals.items())},
    }
