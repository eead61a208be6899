"""Operators for Mailchimp: Stripe customers who paid or subscribed into an audience, with tags."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_stripe_sync.context import default_output_uri, report_path, safe_part
from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError
from airflow_provider_stripe_sync.mapping.mailchimp import MemberRules, PlannedMember, member_matches

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_stripe_sync.hooks.mailchimp import MailchimpHook

#: A member whose tags could not be set although the member was written.
REASON_TAGS_FAILED = "tags_failed"

#: What one member's write came to: "upserted", "unchanged", or a rejection reason with details.
_Outcome = tuple[str, dict[str, Any]]


def _positive_int(value: Any, name: str, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.") from None
    if number < 1 or (maximum is not None and number > maximum):
        bound = f" from 1 to {maximum}" if maximum else " of at least 1"
        raise ValueError(f"{name} must be an integer{bound}, got {number}.")
    return number


def _tag_body(member: PlannedMember) -> list[dict[str, str]]:
    return [{"name": name, "status": "active"} for name in member.tags]


class MailchimpUpsertMembersOperator(BaseOperator):
    """
    Upsert the Stripe customers who paid or subscribed into a Mailchimp audience, with tags.

    Records are customer profiles plus the charges and subscriptions that triggered them (see
    ``airflow_provider_stripe_sync.mapping.mailchimp``). Each member is written with ``PUT`` on its
    subscriber hash and ``status_if_new``: ``transactional`` unless the consent source says the
    person opted in (then ``opt_in_status``); an existing member's status is never changed. Tags go
    through the member-tags endpoint.

    Below ``batch_threshold`` members, each is read first (a member already holding every value is
    ``unchanged``) and written with at most ``max_connections`` requests in flight; from it on,
    members and then tags go through the batch endpoint and its results archive is read back by
    operation id. Members Mailchimp refuses for good (an existing member, a fake-looking email, a
    compliance state, a permanently deleted contact) go to the report, and their emails to the
    audience's rejection ledger, so later runs do not send them again unless the email changes.

    Returns ``{"upserted": n, "unchanged": n, "rejected": n, "report_uri": uri_or_None}``; fails
    with ``AllRecordsRejectedError`` when there were members and every one was rejected.

    :param records_uri: record files (profiles, charges, subscriptions) or upstream summaries. Templated.
    :param list_id: the audience; default the connection's ``list_id``. Templated.
    :param consent_metadata_key: the Stripe customer metadata key holding marketing consent.
    :param opt_in_status: ``subscribed``, or ``pending`` for double opt-in.
    :param tags: tags every member gets.
    :param product_tag: tag for the current product (``{product}`` is replaced); ``None`` for none.
    :param payment_tag: tag for a customer with a succeeded charge in the window.
    :param first_payment_tag: tag for a customer whose first succeeded charge is in the window (needs
        profiles built with ``include_first_charge=True``).
    :param subscription_tag: tag for a customer with a new subscription in the window.
    :param product_merge_field: merge field for the product's name, when the audience has one.
    :param marketing_permission_ids: GDPR permissions to enable for people who opted in; ``None``
        reads the audience's own (all of them) when it has any.
    :param report_uri: folder for the report; default under AIRFLOW_HOME. Templated.
    :param ledger_uri: the rejection ledger file; default
        ``<AIRFLOW_HOME>/stripe_sync/mailchimp/<list_id>/rejected_emails.jsonl``. Templated.
    :param mailchimp_conn_id: the ``mailchimp`` connection.
    :param batch_threshold: from this many members on, the batch endpoint is used.
    :param max_connections: requests in flight at once, 1 to 10 (Mailchimp's limit per account).
    """

    template_fields: Sequence[str] = ("records_uri", "list_id", "report_uri", "ledger_uri")

    def __init__(
        self,
        *,
        records_uri: Any,
        list_id: str | None = None,
        consent_metadata_key: str | None = None,
        opt_in_status: str = "subscribed",
        tags: Sequence[str] = ("customer",),
        product_tag: str | None = "product:{product}",
        payment_tag: str | None = "paid",
        first_payment_tag: str | None = "first-payment",
        subscription_tag: str | None = "subscriber",
        product_merge_field: str | None = None,
        marketing_permission_ids: Sequence[str] | None = None,
        report_uri: str | None = None,
        ledger_uri: str | None = None,
        mailchimp_conn_id: str = "mailchimp_default",
        batch_threshold: int = 500,
        max_connections: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.records_uri = records_uri
        self.list_id = list_id
        self.consent_metadata_key = consent_metadata_key
        self.opt_in_status = opt_in_status
        self.tags = tags
        self.product_tag = product_tag
        self.payment_tag = payment_tag
        self.first_payment_tag = first_payment_tag
        self.subscription_tag = subscription_tag
        self.product_merge_field = product_merge_field
        self.marketing_permission_ids = marketing_permission_ids
        self.report_uri = report_uri
        self.ledger_uri = ledger_uri
        self.mailchimp_conn_id = mailchimp_conn_id
        self.batch_threshold = batch_threshold
        self.max_connections = max_connections

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.environment import check_records_environment
        from airflow_provider_stripe_sync.hooks.mailchimp import MAX_CONNECTIONS, MailchimpHook
        from airflow_provider_stripe_sync.mapping.mailchimp import plan_members
        from airflow_provider_stripe_sync.records import ReportWriter, read_records, record_uris

        threshold = _positive_int(self.batch_threshold, "batch_threshold")
        connections = _positive_int(self.max_connections, "max_connections", MAX_CONNECTIONS)
        uris = record_uris(self.records_uri, field="records_uri")
        hook = MailchimpHook(mailchimp_conn_id=self.mailchimp_conn_id)
        check_records_environment(uris, hook.environment, conn_id=self.mailchimp_conn_id)
        list_id = self.list_id or hook.default_list_id
        if not list_id:
            raise ValueError("No audience: pass list_id or set the connection's list_id extra.")

        permissions = self.marketing_permission_ids
        discover = False
        if permissions is None and self.consent_metadata_key:
            permissions = hook.marketing_permission_ids(list_id)
            # An audience with permissions but no member yet: each write shows them.
            discover = permissions is None
        rules = MemberRules(
            consent_metadata_key=self.consent_metadata_key,
            opt_in_status=self.opt_in_status,
            tags=_tags(self.tags),
            product_tag=self.product_tag,
            payment_tag=self.payment_tag,
            first_payment_tag=self.first_payment_tag,
            subscription_tag=self.subscription_tag,
            product_merge_field=self.product_merge_field,
            marketing_permission_ids=tuple(permissions or ()),
        )
        members, rejections = plan_members(
            itertools.chain.from_iterable(read_records(uri) for uri in uris), rules
        )
        ledger = _Ledger(self.ledger_uri or _default_ledger_uri(list_id))
        known = [member for member in members if member.subscriber_hash in ledger.entries]
        members = [member for member in members if member.subscriber_hash not in ledger.entries]
        self.log.info(
            "Planned %d members from %d record file(s); %d records left out; %d emails skipped as "
            "refused for good on an earlier run (see %s).",
            len(members),
            len(uris),
            len(rejections),
            len(known),
            ledger.uri,
        )

        if len(members) >= threshold:
            if discover:
                self.log.warning(
                    "Audience %s has marketing permissions but no member to read their ids from; a batch "
                    "cannot set them: pass marketing_permission_ids.",
                    list_id,
                )
            outcomes = self._write_batched(hook, list_id, members)
        else:
            outcomes = self._write_each(hook, list_id, members, connections, discover)

        counts = {"upserted": 0, "unchanged": 0}
        with ReportWriter(report_path(context, self.report_uri or default_output_uri())) as report:
            for rejection in rejections:
                report.reject(rejection.customer_id, rejection.reason, **rejection.details)
            for member, (outcome, details) in zip(members, outcomes, strict=True):
                if outcome in counts:
                    counts[outcome] += 1
                    continue
                permanent = details.pop("permanent", False)
                report.reject(member.customer_id, outcome, email=member.email, **details)
                if permanent:
                    ledger.add(member, outcome)
            rejected = report.count
            summary = {**counts, "rejected": rejected, "report_uri": report.uri}
        ledger.save()

        self.log.info(
            "Mailchimp members: %d upserted, %d unchanged, %d rejected.",
            counts["upserted"],
            counts["unchanged"],
            rejected,
        )
        if rejected and not counts["upserted"] and not counts["unchanged"]:
            raise AllRecordsRejectedError(
                f"All {rejected} records were rejected; see the report at {report.uri}."
            )
        return summary

    def _write_each(
        self,
        hook: MailchimpHook,
        list_id: str,
        members: list[PlannedMember],
        connections: int,
        discover: bool = False,
    ) -> list[_Outcome]:
        """Read, then write what differs, with at most ``connections`` requests in flight."""
        if not members:
            return []
        with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="mailchimp") as pool:
            return list(pool.map(lambda member: _write_one(hook, list_id, member, discover), members))

    def _write_batched(
        self, hook: MailchimpHook, list_id: str, members: list[PlannedMember]
    ) -> list[_Outcome]:
        """Members through one batch, then the tags of those written through another."""
        from airflow_provider_stripe_sync.hooks.mailchimp import PERMANENT_REASONS, classify_problem

        member_ops = [
            {
                "method": "PUT",
                "path": f"/lists/{list_id}/members/{member.subscriber_hash}",
                "operation_id": f"member-{number}",
                "body": member.body,
            }
            for number, member in enumerate(members)
        ]
        results = hook.run_batch(member_ops)
        outcomes: list[_Outcome] = []
        for number in range(len(members)):
            result = results.get(f"member-{number}") or {"status_code": 0, "response": {}}
            status, problem = result["status_code"], result["response"]
            if 200 <= status < 300:
                outcomes.append(("upserted", {}))
                continue
            reason = classify_problem(status, problem) or "mailchimp_rejected"
            outcomes.append(
                (
                    reason,
                    {
                        "status": status or None,
                        "title": problem.get("title"),
                        "detail": problem.get("detail") or "no result in the batch archive",
                        "operation_id": f"member-{number}",
                        "permanent": reason in PERMANENT_REASONS,
                    },
                )
            )

        tag_ops = [
            {
                "method": "POST",
                "path": f"/lists/{list_id}/members/{member.subscriber_hash}/tags",
                "operation_id": f"tags-{number}",
                "body": {"tags": _tag_body(member)},
            }
            for number, member in enumerate(members)
            if outcomes[number][0] == "upserted" and member.tags
        ]
        tag_results = hook.run_batch(tag_ops) if tag_ops else {}
        for op in tag_ops:
            number = int(op["operation_id"].split("-", 1)[1])
            result = tag_results.get(op["operation_id"]) or {"status_code": 0, "response": {}}
            if not 200 <= result["status_code"] < 300:
                outcomes[number] = (
                    REASON_TAGS_FAILED,
                    {
                        "status": result["status_code"] or None,
                        "detail": result["response"].get("detail"),
                        "operation_id": op["operation_id"],
                    },
                )
        return outcomes


def _write_one(
    hook: MailchimpHook, list_id: str, member: PlannedMember, discover_permissions: bool = False
) -> _Outcome:
    """
    Write one member and its tags unless Mailchimp already holds them.

    With ``discover_permissions``, a member who opted in gets the marketing permissions its written
    record shows enabled by a second write (their ids could not be read before).
    """
    from airflow_provider_stripe_sync.hooks.mailchimp import PERMANENT_REASONS, MailchimpRecordError

    existing = hook.get_member(list_id, member.subscriber_hash)
    if existing is not None and member_matches(member, existing):
        return "unchanged", {}
    try:
        written = hook.set_member(list_id, member.subscriber_hash, member.body)
    except MailchimpRecordError as err:
        return err.reason, {
            "status": err.status,
            "title": err.title,
            "detail": err.detail,
            "permanent": err.reason in PERMANENT_REASONS,
        }
    granted = [
        {"marketing_permission_id": p["marketing_permission_id"], "enabled": True}
        for p in written.get("marketing_permissions") or []
        if not p.get("enabled") and p.get("marketing_permission_id")
    ]
    if discover_permissions and member.opted_in and granted:
        hook.set_member(list_id, member.subscriber_hash, {**member.body, "marketing_permissions": granted})
    active = {tag.get("name") for tag in (existing or written).get("tags") or []}
    missing = [tag for tag in _tag_body(member) if tag["name"] not in active]
    if missing:
        try:
            hook.update_member_tags(list_id, member.subscriber_hash, missing)
        except MailchimpRecordError as err:
            return REASON_TAGS_FAILED, {"status": err.status, "title": err.title, "detail": err.detail}
    return "upserted", {}


def _tags(value: Any) -> tuple[str, ...]:
    """Return the tag names; a lone string would otherwise become one tag per character."""
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(tag, str) and tag.strip() for tag in value):
        raise TypeError(f"tags must be a list of tag names such as ['customer'], got {value!r}.")
    return tuple(value)


def _default_ledger_uri(list_id: str) -> str:
    return f"{default_output_uri().rstrip('/')}/mailchimp/{safe_part(list_id)}/rejected_emails.jsonl"


class _Ledger:
    """The emails an audience refused for good, by subscriber hash: JSON Lines, rewritten on save."""

    def __init__(self, uri: str) -> None:
        from airflow_provider_stripe_sync.records import storage_path

        self.path = storage_path(uri)
        self.entries: dict[str, dict[str, Any]] = {}
        self._changed = False
        if self.path.exists():
            with self.path.open("r", encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        entry = json.loads(line)
                        self.entries[entry["subscriber_hash"]] = entry

    @property
    def uri(self) -> str:
        return str(self.path)

    def add(self, member: PlannedMember, reason: str) -> None:
        self.entries[member.subscriber_hash] = {
            "subscriber_hash": member.subscriber_hash,
            "customer_id": member.customer_id,
            "reason": reason,
        }
        self._changed = True

    def save(self) -> None:
        if not self._changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", encoding="utf-8") as handle:
            for key in sorted(self.entries):
                handle.write(json.dumps(self.entries[key], sort_keys=True) + "\n")
