"""
The demo: the example DAGs against a seeded local sandbox, in a throwaway Airflow home.

Starts the sandbox with a month of demo data (the 30 days before 2026-11-01), runs
``airflow dags test stripe_hubspot_crm_sync`` for three consecutive days with the sandbox's clock
set just after each day ends (as a scheduler would run it), prints per day how many Stripe objects
(new and changed) were read and HubSpot contacts written, checks that HubSpot holds exactly one
contact per email of the Stripe customers those days touched, and stops the sandbox.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_provider_stripe_sync.sandbox.testing import SandboxAdmin  # noqa: E402
from scripts.local_airflow import BIN, REPO, LocalAirflow, sandbox_connections  # noqa: E402

DEMO_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAYS = [DEMO_END - timedelta(days=n) for n in (3, 2, 1)]
#: The scheduler starts a day's run shortly after the day ends.
RUN_DELAY = timedelta(minutes=5)


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    """Start the sandbox on a free loopback port with the demo data; return it and its URL."""
    process = subprocess.Popen(
        [str(BIN / "stripe-sync-sandbox"), "--host", "127.0.0.1", "--port", "0", "--seed", "demo"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        raise SystemExit(f"The sandbox did not start: {url!r}")
    return process, url


def run_day(airflow: LocalAirflow, sandbox: SandboxAdmin, day: datetime) -> dict:
    """Run the CRM sync for the day starting at ``day`` and return its summary."""
    day_end = day + timedelta(days=1)
    sandbox.set_clock(int((day_end + RUN_DELAY).timestamp()))
    # `dags test` infers the data interval as the last full day before its logical date.
    airflow.dags_test("stripe_hubspot_crm_sync", day_end.isoformat())
    return airflow.last_run("stripe_hubspot_crm_sync", xcom_tasks=("summarize",))["xcom"]["summarize"]


def run_marketing_day(airflow: LocalAirflow, sandbox: SandboxAdmin, day: datetime) -> dict:
    """Run the marketing trigger over the whole day starting at ``day`` and return its summary."""
    day_end = day + timedelta(days=1)
    sandbox.set_clock(int((day_end + RUN_DELAY).timestamp()))
    # The DAG is hourly; the params widen its window to the demo's day.
    conf = {"window_start": day.isoformat(), "window_end": day_end.isoformat()}
    airflow.dags_test("stripe_mailchimp_marketing_trigger", day_end.isoformat(), conf=conf)
    run = airflow.last_run("stripe_mailchimp_marketing_trigger", xcom_tasks=("summarize",))
    return run["xcom"]["summarize"]


def main() -> int:
    home = REPO / ".demo" / "airflow"
    shutil.rmtree(home, ignore_errors=True)
    process, url = start_sandbox()
    try:
        print(f"Sandbox running at {url} with demo data for the 30 days before {DEMO_END.date()}.")
        sandbox = SandboxAdmin(url)
        airflow = LocalAirflow(home, connections=sandbox_connections(url))
        print(f"Setting up Airflow in {home} ...")
        airflow.migrate()
        for day in DAYS:
            summary = run_day(airflow, sandbox, day)
            print(
                f"{day.date()}: read {summary['stripe_customers_read']} new Stripe customers and "
                f"{summary['stripe_subscriptions_read']} new subscriptions, "
                f"{summary['stripe_customers_changed']} customers and "
                f"{summary['stripe_subscriptions_changed']} subscriptions changed; HubSpot contacts written: "
                f"{summary['hubspot_contacts_upserted']} (unchanged {summary['hubspot_contacts_unchanged']}, "
                f"reported {summary['hubspot_records_rejected']})"
            )
        result = check(sandbox)
        for day in DAYS:
            summary = run_marketing_day(airflow, sandbox, day)
            print(
                f"{day.date()} marketing: {summary['stripe_charges_read']} charges and "
                f"{summary['stripe_subscriptions_read']} subscriptions read; Mailchimp members written: "
                f"{summary['mailchimp_members_upserted']} (unchanged {summary['mailchimp_members_unchanged']}, "
                f"reported {summary['mailchimp_records_rejected']})"
            )
        for day in DAYS:
            day_end = day + timedelta(days=1)
            sandbox.set_clock(int((day_end + RUN_DELAY).timestamp()))
            airflow.dags_test("stripe_xero_reconciliation", day_end.isoformat())
            run = airflow.last_run("stripe_xero_reconciliation", xcom_tasks=("summarize",))
            summary = run["xcom"]["summarize"]
            print(
                f"{day.date()} reconciliation: {summary['stripe_balance_transactions_read']} balance "
                f"transactions read; Xero entries posted: {summary['xero_entries_posted']} (unchanged "
                f"{summary['xero_entries_unchanged']}, reported {summary['xero_records_rejected']}); "
                f"clearing-account totals per currency and category: {summary['totals']}"
            )
        return result
    finally:
        process.terminate()
        process.wait(timeout=10)


def expected_contacts(state: dict, start: int, end: int) -> set[str]:
    """
    Return the emails HubSpot should hold after syncing ``[start, end)``.

    A run syncs the customers created or changed in its window and the customers of the
    subscriptions created or changed in it (an older customer who subscribes or cancels gets the new
    status); changes are Stripe's events of the window. Customers without an email cannot be contacts
    and are reported instead; deleted customers are left out.
    """
    customers = {c["id"]: c for c in state["stripe"]["customers"]}
    touched = {c["id"] for c in customers.values() if start <= c["created"] < end}
    touched |= {s["customer"] for s in state["stripe"]["subscriptions"] if start <= s["created"] < end}
    for event in state["stripe"]["events"]:
        obj = event["data"]["object"]
        if not start <= event["created"] < end:
            continue
        if obj["object"] == "customer" and event["type"].count(".") == 1:
            touched.add(obj["id"])
        elif obj["object"] == "subscription" and event["type"].startswith("customer.subscription."):
            touched.add(obj["customer"])
    return {
        customers[i]["email"].strip().lower() for i in touched if i in customers and customers[i].get("email")
    }


def check(sandbox: SandboxAdmin) -> int:
    """Compare HubSpot's contacts with the Stripe customers the demo days touched."""
    start, end = int(DAYS[0].timestamp()), int((DAYS[-1] + timedelta(days=1)).timestamp())
    state = sandbox.state()
    created = [c for c in state["stripe"]["customers"] if start <= c["created"] < end]
    expected = expected_contacts(state, start, end)
    contacts = [c["properties"]["email"] for c in state["hubspot"]["contacts"]]
    print(
        f"Stripe customers created in those days: {len(created)}; customers touched by them, by changes "
        f"and by subscriptions, with distinct emails: {len(expected)}; HubSpot contacts: {len(contacts)}."
    )
    if sorted(contacts) != sorted(expected):
        print(
            f"MISMATCH: missing {sorted(expected - set(contacts))[:5]}, extra {sorted(set(contacts) - expected)[:5]}"
        )
        return 1
    print("HubSpot holds exactly one contact per Stripe customer email the demo days touched.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
