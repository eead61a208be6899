"""An operator that removes record files and reports once they are older than the retention period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

#: How long record files and reports are kept when a DAG says nothing else.
DEFAULT_RETENTION_DAYS = 30

#: The Airflow Variable the example DAGs read the retention from, so it changes without a deploy.
RETENTION_DAYS_VARIABLE = "stripe_sync_retention_days"

#: ``retention_days`` as the example DAGs pass it: the Variable, else 30 days.
RETENTION_DAYS_TEMPLATE = (
    "{{ var.value.get('" + RETENTION_DAYS_VARIABLE + "', " + str(DEFAULT_RETENTION_DAYS) + ") }}"
)


class StripeSyncCleanupOperator(BaseOperator):
    """
    Remove the record files and reports of every sync older than ``retention_days``.

    Record files and reports hold customers' emails and names, so they should not outlive their use:
    re-running an interval reads Stripe again, and a report matters until somebody has looked at it.
    Only ``*.jsonl`` files inside ``<output_uri>/records/`` and ``<output_uri>/reports/`` are removed,
    by their modification time, and on local disk the folders below those two that the removals left
    empty (see ``records.remove_expired``); nothing else is touched (the Mailchimp rejection ledger under
    ``<output_uri>/mailchimp/`` must outlive any run). Works on any fsspec URI, as the record files do.

    Returns ``{"uri", "retention_days", "removed", "kept", "undated"}``.

    :param output_uri: the folder the sync's operators write to (their ``output_uri``); default
        ``$AIRFLOW_HOME/stripe_sync``, as theirs. Templated.
    :param retention_days: keep files modified within this many days, 1 or more. Templated, e.g.
        ``"{{ var.value.get('stripe_sync_retention_days', 30) }}"``.
    """

    template_fields: Sequence[str] = ("output_uri", "retention_days")
    ui_color = "#f4f4f4"

    def __init__(
        self,
        *,
        output_uri: str | None = None,
        retention_days: int | str = DEFAULT_RETENTION_DAYS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_uri = output_uri
        self.retention_days = retention_days

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.context import default_output_uri
        from airflow_provider_stripe_sync.records import remove_expired, retention_days_value

        days = retention_days_value(self.retention_days)
        result = remove_expired(self.output_uri or default_output_uri(), retention_days=days)
        self.log.info(
            "Removed %d record files and reports older than %d days under %s; kept %d (%d undated).",
            result["removed"],
            days,
            result["uri"],
            result["kept"],
            result["undated"],
        )
        return result
