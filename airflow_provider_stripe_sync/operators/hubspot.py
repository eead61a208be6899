"""Operators for HubSpot: Stripe customers into CRM contacts."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError
from airflow_provider_stripe_sync.mapping.common import normalize_email
from airflow_provider_stripe_sync.mapping.hubspot import (
    CONTACT_PROPERTY_DEFINITIONS,
    CONTACT_PROPERTY_NAMES,
    REASON_CUSTOMER_DELETED,
    REASON_EMAIL_SHARED,
    REASON_NO_EMAIL,
    PlannedContact,
    held_by_newer_customer,
    properties_match,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_stripe_sync.hooks.hubspot import HubSpotHook
    from airflow_provider_stripe_sync.records import ReportWriter

#: HubSpot's batch calls take at most this many inputs.
MAX_BATCH_SIZE = 100

#: Reasons this operator adds to the mapping's.
REASON_HUBSPOT_REJECTED = "hubspot_rejected"

#: Reasons that say a record has no place in HubSpot, rather than that something went wrong.
EXPECTED_SKIPS = frozenset({REASON_NO_EMAIL, REASON_EMAIL_SHARED, REASON_CUSTOMER_DELETED})
REASON_EMAIL_TAKEN = "email_belongs_to_other_contact"

#: A write: the Stripe customer id it comes from, and the batch input sent to HubSpot.
_Write = tuple[str, dict[str, Any]]


def _batch_size(value: Any) -> int:
    """Validate ``batch_size`` once templates are rendered."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"batch_size must be an integer from 1 to {MAX_BATCH_SIZE}, got {value!r}."
        ) from None
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE}, got {size}.")
    return size


def _chunks(items: Sequence[PlannedContact], size: int) -> Iterator[Sequence[PlannedContact]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class HubSpotUpsertContactsOperator(BaseOperator):
    """
    Upsert Stripe customers into HubSpot contacts, keyed by email.

    Records are Stripe customers, or customer profiles (a customer with its subscriptions and
    products). Emails are normalised and de-duplicated first; the custom ``stripe_*`` contact
    properties are created when missing; then, 100 at a time at most:

    - contacts are read by email and by ``stripe_customer_id``; a contact that already holds every
      value is left alone (``unchanged``), so running an interval again writes nothing;
    - a customer whose email changed updates the contact that carries its Stripe id, by contact id,
      unless the new email already belongs to another contact (then it is reported);
    - a contact that belongs to a more recently created Stripe customer with the same email is not
      taken over by an older one seen in another interval (reported, as within one run);
    - the rest are upserted by email;
    - a batch HubSpot refuses (a bad email, a unique value taken) is split in halves until the
      valid records land and each refused one is reported with HubSpot's message.

    Returns ``{"upserted": n, "unchanged": n, "rejected": n, "report_uri": uri_or_None}``; fails
    with ``AllRecordsRejectedError`` when there were records and every one was rejected, unless they
    were all customers that have no place in HubSpot (no email, an email a newer customer holds,
    deleted): a quiet day whose only new customer has no email is not a failure.

    :param records_uri: the record file to read, a list of them, or upstream summaries with a
        ``uri``. Templated.
    :param report_uri: where rejected records are written; default
        ``<output folder of the records>/reports/<dag_id>/<task_id>/<run_id>__try<n>.jsonl``, beside
        the records in the same store. Templated.
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param batch_size: contacts per HubSpot call, 1 to 100.
    """

    template_fields: Sequence[str] = ("records_uri", "report_uri")

    def __init__(
        self,
        *,
        records_uri: str | Sequence[str],
        report_uri: str | None = None,
        hubspot_conn_id: str = "hubspot_default",
        batch_size: int = MAX_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.records_uri = records_uri
        self.report_uri = report_uri
        self.hubspot_conn_id = hubspot_conn_id
        self.batch_size = batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.environment import check_records_environment
        from airflow_provider_stripe_sync.hooks.hubspot import HubSpotHook
        from airflow_provider_stripe_sync.mapping.hubspot import plan_contacts
        from airflow_provider_stripe_sync.records import ReportWriter, read_records, record_uris

        batch_size = _batch_size(self.batch_size)
        uris = record_uris(self.records_uri, field="records_uri")
        report_uri = self.report_uri or self._default_report_uri(uris[0], context)

        contacts, rejections = plan_contacts(itertools.chain.from_iterable(read_records(uri) for uri in uris))
        self.log.info(
            "Planned %d contacts from %d record file(s); %d records left out before sending.",
            len(contacts),
            len(uris),
            len(rejections),
        )

        hook = HubSpotHook(hubspot_conn_id=self.hubspot_conn_id)
        if contacts:
            # Before anything is sent: test-mode records never reach a live account, nor the reverse.
            check_records_environment(uris, hook.environment, conn_id=self.hubspot_conn_id)
        upserted = unchanged = 0
        with ReportWriter(report_uri) as report:
            for rejection in rejections:
                report.reject(rejection.customer_id, rejection.reason, **rejection.details)
            if contacts:
                hook.ensure_contact_properties(CONTACT_PROPERTY_DEFINITIONS)
            for number, batch in enumerate(_chunks(contacts, batch_size), start=1):
                started = time.monotonic()
                rejected_before = report.count
                written, same = self._sync_batch(hook, batch, report)
                upserted += written
                unchanged += same
                self.log.info(
                    "Batch %d: %d contacts, %d upserted, %d unchanged, %d rejected in %.2f s.",
                    number,
                    len(batch),
                    written,
                    same,
                    report.count - rejected_before,
                    time.monotonic() - started,
                )
            rejected = report.count
            summary = {
                "upserted": upserted,
                "unchanged": unchanged,
                "rejected": rejected,
                "report_uri": report.uri,
            }

        self.log.info(
            "HubSpot contacts: %d upserted, %d unchanged, %d rejected.", upserted, unchanged, rejected
        )
        # Customers with no email or an email a newer customer holds are outcomes, not failures: a
        # quiet day whose only customer has no email must not turn the DAG red.
        unexpected = sum(n for reason, n in report.reasons.items() if reason not in EXPECTED_SKIPS)
        if rejected and not upserted and not unchanged and unexpected:
            raise AllRecordsRejectedError(
                f"All {rejected} records were rejected; see the report at {summary['report_uri']}."
            )
        return summary

    def _default_report_uri(self, records_uri: str, context: Context) -> str:
        """Return ``<output folder>/reports/<dag_id>/<task_id>/<run_id>__try<n>.jsonl``."""
        from airflow_provider_stripe_sync.context import report_path
        from airflow_provider_stripe_sync.records import report_base

        return report_path(context, report_base(records_uri))

    def _sync_batch(
        self, hook: HubSpotHook, batch: Sequence[PlannedContact], report: ReportWriter
    ) -> tuple[int, int]:
        """Write one batch; return how many contacts were written and how many were already right."""
        names = list(CONTACT_PROPERTY_NAMES)
        by_email = {
            normalize_email(found["properties"].get("email")): found
            for found in _read(hook, "email", [contact.email for contact in batch], names)
        }
        by_customer = {
            found["properties"].get("stripe_customer_id"): found
            for found in _read(hook, "stripe_customer_id", [contact.customer_id for contact in batch], names)
        }

        # Customers of this batch whose contact moves to another email give their old email up.
        moving = {
            contact.customer_id
            for contact in batch
            if contact.customer_id in by_customer
            and normalize_email(by_customer[contact.customer_id]["properties"].get("email")) != contact.email
        }
        updates: list[_Write] = []
        later_updates: list[_Write] = []
        upserts: list[_Write] = []
        unchanged = 0
        for contact in batch:
            owner = by_customer.get(contact.customer_id)
            holder = by_email.get(contact.email)
            email_changed = (
                owner is not None and normalize_email(owner["properties"].get("email")) != contact.email
            )
            released = holder is not None and holder["properties"].get("stripe_customer_id") in moving
            if email_changed and released and holder["id"] != owner["id"]:
                # The email is freed by another move of this batch: take it once that move is done.
                later_updates.append(
                    (contact.customer_id, {"id": owner["id"], "properties": contact.properties})
                )
                continue
            if email_changed and holder is not None and holder["id"] != owner["id"]:
                report.reject(
                    contact.customer_id,
                    REASON_EMAIL_TAKEN,
                    contact_id=owner["id"],
                    other_contact_id=holder["id"],
                )
                continue
            winner = (
                None
                if email_changed or holder is None or released
                else held_by_newer_customer(contact, holder["properties"])
            )
            if winner is not None:
                report.reject(contact.customer_id, REASON_EMAIL_SHARED, winner=winner)
                continue
            target = owner if email_changed else (holder or owner)
            if target is not None and properties_match(contact.properties, target["properties"]):
                unchanged += 1
            elif email_changed:
                updates.append((contact.customer_id, {"id": owner["id"], "properties": contact.properties}))
            else:
                upserts.append((contact.customer_id, {"id": contact.email, "properties": contact.properties}))

        # Email changes first, so an email a customer gave up is free when another one takes it.
        written = _write_split(hook.update_contacts, updates, report)
        written += _write_split(hook.update_contacts, later_updates, report)
        written += _write_split(hook.upsert_contacts, upserts, report)
        return written, unchanged


def _read(hook: HubSpotHook, id_property: str, ids: list[str], names: list[str]) -> list[dict[str, Any]]:
    """Read contacts; a value HubSpot refuses to look up (400) counts as not found."""
    from airflow_provider_stripe_sync.hooks.hubspot import HubSpotRecordError

    try:
        return hook.read_contacts(id_property, ids, names)
    except HubSpotRecordError:
        if len(ids) == 1:
            return []
        middle = len(ids) // 2
        return _read(hook, id_property, ids[:middle], names) + _read(hook, id_property, ids[middle:], names)


def _write_split(
    write: Callable[[list[dict[str, Any]]], Any], items: list[_Write], report: ReportWriter
) -> int:
    """
    Send ``items`` in one call; when HubSpot refuses records, split in halves and try again.

    Returns how many were written; each refused record goes to the report with HubSpot's message.
    A batch with k bad records among n costs about ``2 k log2(n)`` calls more than one.
    """
    from airflow_provider_stripe_sync.hooks.hubspot import HubSpotRecordError

    if not items:
        return 0
    try:
        write([payload for _, payload in items])
    except HubSpotRecordError as err:
        if len(items) == 1:
            report.reject(
                items[0][0],
                REASON_HUBSPOT_REJECTED,
                message=err.hubspot_message or str(err),
                category=err.category,
                status=err.status,
                correlation_id=err.correlation_id,
            )
            return 0
        middle = len(items) // 2
        return _write_split(write, items[:middle], report) + _write_split(write, items[middle:], report)
    return len(items)
