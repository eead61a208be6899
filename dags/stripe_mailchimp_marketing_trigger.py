"""
Marketing trigger: customers who paid or subscribed in the interval become Mailchimp members, tagged.

Each run covers one hour, its data interval ``[start, end)``:

1. two sensors decide whether there is anything to do: ``wait_for_charges`` counts
   ``charge.succeeded`` events in the window, ``wait_for_subscriptions`` new subscriptions. A
   scheduled run starts after its window closed, so one check each decides: a sensor whose window
   is empty is skipped at once, and the list task behind it is skipped with it;
2. the charges and subscriptions created in each sensor's window are listed to record files;
3. ``gather_trigger_records`` keeps the lists that ran (it runs when at least one did and none
   failed; when both sensors skipped, the rest of the run is skipped and nothing is written);
4. every customer with a succeeded charge or a new subscription gets a profile;
5. the customers are upserted into the Mailchimp audience and tagged (``customer``, ``paid``,
   ``first-payment``, ``subscriber``, ``product:<name>``). New members are ``transactional``
   unless the Stripe customer's ``marketing_opt_in`` metadata says yes, then ``subscribed``; an existing member's status is never
   changed, so nobody who unsubscribed is mailed again.

A manual run with no data interval reads the ``window_start``/``window_end`` params, or the last
full hour before the run. Re-running an interval writes nothing new.

Connections: ``stripe_default`` and ``mailchimp_default`` (its ``list_id`` extra names the
audience). Pools: ``stripe_api`` and ``mailchimp_api`` (10 slots, one per Mailchimp connection; the
upsert task takes 4). Parsing this file imports no SDK and looks
up no connection.

Record files and reports (they hold customers' emails and names) are removed by the stand-alone
``remove_expired_files`` task once older than the Variable ``stripe_sync_retention_days`` (30 days).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, task

from airflow_provider_stripe_sync.operators.cleanup import RETENTION_DAYS_TEMPLATE, StripeSyncCleanupOperator
from airflow_provider_stripe_sync.operators.mailchimp import MailchimpUpsertMembersOperator
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCustomerProfilesOperator,
    StripeListNewChargesOperator,
    StripeListNewSubscriptionsOperator,
)
from airflow_provider_stripe_sync.sensors.stripe import StripeNewChargesSensor, StripeNewSubscriptionsSensor

WINDOW = {"window_start": "{{ params.window_start }}", "window_end": "{{ params.window_end }}"}
MAILCHIMP_CONNECTIONS = 4
SENSOR = {"pool": "stripe_api", "mode": "reschedule", "poke_interval": 60, "timeout": 3600}


def seen_window(sensor_id: str) -> dict[str, str]:
    """The exact window a sensor saw, for the list task behind it."""
    return {
        "window_start": f"{{{{ ti.xcom_pull(task_ids='{sensor_id}')['window'][0] }}}}",
        "window_end": f"{{{{ ti.xcom_pull(task_ids='{sensor_id}')['window'][1] }}}}",
    }


with DAG(
    dag_id="stripe_mailchimp_marketing_trigger",
    description="Stripe customers who paid or subscribed into a Mailchimp audience, one hour per run.",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 1, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "window_start": Param(None, type=["null", "string"], description="Override: ISO-8601 start."),
        "window_end": Param(None, type=["null", "string"], description="Override: ISO-8601 end."),
    },
    tags=["stripe", "mailchimp", "example"],
    doc_md=__doc__,
) as dag:
    wait_for_charges = StripeNewChargesSensor(
        task_id="wait_for_charges", succeeded_only=True, **SENSOR, **WINDOW
    )
    wait_for_subscriptions = StripeNewSubscriptionsSensor(
        task_id="wait_for_subscriptions", **SENSOR, **WINDOW
    )
    new_charges = StripeListNewChargesOperator(
        task_id="list_new_charges", pool="stripe_api", **seen_window("wait_for_charges")
    )
    new_subscriptions = StripeListNewSubscriptionsOperator(
        task_id="list_new_subscriptions", pool="stripe_api", **seen_window("wait_for_subscriptions")
    )
    wait_for_charges >> new_charges
    wait_for_subscriptions >> new_subscriptions

    @task(trigger_rule="none_failed_min_one_success")
    def gather_trigger_records(charges: dict | None, subscriptions: dict | None) -> list[dict]:
        """Keep the summaries of the list tasks that ran (a skipped one has none)."""
        return [summary for summary in (charges, subscriptions) if summary]

    triggers = gather_trigger_records(new_charges.output, new_subscriptions.output)
    profiles = StripeCustomerProfilesOperator(
        task_id="build_customer_profiles", records_uris=triggers, include_first_charge=True, pool="stripe_api"
    )
    members = MailchimpUpsertMembersOperator(
        task_id="upsert_mailchimp_members",
        records_uri=(
            "{{ [ti.xcom_pull(task_ids='build_customer_profiles')]"
            " + ti.xcom_pull(task_ids='gather_trigger_records') }}"
        ),
        consent_metadata_key="marketing_opt_in",
        # One pool slot per connection: a 10-slot pool keeps every task together under Mailchimp's
        # limit of 10 simultaneous connections per account.
        max_connections=MAILCHIMP_CONNECTIONS,
        pool="mailchimp_api",
        pool_slots=MAILCHIMP_CONNECTIONS,
        outlets=[Asset(name="mailchimp_audience_members", uri="mailchimp://audience/members")],
    )
    triggers >> profiles >> members

    @task
    def summarize(triggers: list[dict], profiles: dict, members: dict) -> dict:
        """Say, for this interval, how many Stripe objects triggered and Mailchimp members were written."""
        counts = {summary["resource"]: summary["count"] for summary in triggers}
        windows = [summary["window"] for summary in triggers]
        summary = {
            "window": [min(w[0] for w in windows), max(w[1] for w in windows)],
            "stripe_charges_read": counts.get("charges", 0),
            "stripe_subscriptions_read": counts.get("subscriptions", 0),
            "customers_profiled": profiles["count"],
            "mailchimp_members_upserted": members["upserted"],
            "mailchimp_members_unchanged": members["unchanged"],
            "mailchimp_records_rejected": members["rejected"],
            "report_uri": members["report_uri"],
        }
        import logging

        logging.getLogger(__name__).info("Marketing trigger summary: %s", summary)
        return summary

    summarize(triggers, profiles.output, members.output)

    # Record files and reports hold customers' emails and names: they go after the retention period
    # (the Variable stripe_sync_retention_days, 30 days by default). The task stands alone, so it runs
    # whatever the sync does, and a failed sync never hides behind its success.
    StripeSyncCleanupOperator(task_id="remove_expired_files", retention_days=RETENTION_DAYS_TEMPLATE)
