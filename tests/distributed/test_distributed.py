"""
The example DAGs on a distributed Airflow: CeleryExecutor, PostgreSQL, Redis, record files on S3.

Runs are triggered through Airflow's REST API (v2, with a token from the API server's auth manager)
and read back from it; results are checked in the sandbox, in PostgreSQL and in the object store.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from decimal import Decimal

import stripe

from airflow_provider_stripe_sync.stripe.money import from_minor_units
from scripts.demo import expected_contacts
from tests.distributed.cluster import BUCKET, WORKERS
from tests.distributed.conftest import (
    CRM,
    DAYS,
    DEMO_END,
    FINISHED,
    HOUR,
    MARKETING,
    RECONCILIATION,
    RESULTS,
    SUMMARY,
    wait_until,
)

#: The clearing account of each settlement currency in the reconciliation DAG's default ledger.
CLEARING = {"usd": "095", "eur": "096", "jpy": "097", "gbp": "098"}


def test_runs_succeed_as_the_rest_api_reports(ran, api, cluster):
    for dag_id, run_id, day in ran:
        run = api.run(dag_id, run_id)
        states = {ti["task_id"]: ti["state"] for ti in api.task_instances(dag_id, run_id)}
        assert run["state"] == "success", (dag_id, run_id, states, cluster.tail("worker-1"))
        assert run["data_interval_start"].startswith(day.date().isoformat())
        assert set(states.values()) <= {"success", "skipped"}, states
    SUMMARY.append(
        f"{len(ran)} runs ({CRM} and {RECONCILIATION}, days {DAYS[0].date()} to {DAYS[-1].date()}) "
        f"triggered through the REST API: all success in {RESULTS['elapsed']:.0f} s"
    )


def test_hubspot_holds_one_contact_per_distinct_email(ran, api, cluster):
    state = cluster.sandbox.state()
    start, end = int(DAYS[0].timestamp()), int(DEMO_END.timestamp())
    expected = expected_contacts(state, start, end)
    emails = [c["properties"]["email"] for c in state["hubspot"]["contacts"]]
    assert len(emails) == len(set(emails))
    assert set(emails) == expected
    summaries = [api.xcom(CRM, run_id, "summarize") for dag_id, run_id, _ in ran if dag_id == CRM]
    created = [c for c in state["stripe"]["customers"] if start <= c["created"] < end]
    assert sum(s["stripe_customers_read"] for s in summaries) == len(created)
    SUMMARY.append(
        f"HubSpot: {len(emails)} contacts == {len(expected)} distinct emails of the customers the three "
        f"days touched ({len(created)} customers created in them)"
    )


def test_xero_clearing_accounts_move_by_the_stripe_nets(ran, api, cluster):
    # Balance transactions are read with a 600 s look-back; the overlap is found by Reference.
    start, end = int(DAYS[0].timestamp()) - 600, int(DEMO_END.timestamp())
    transactions = cluster.sandbox.state(resources=["balance_transactions"])["stripe"]["balance_transactions"]
    in_window = [t for t in transactions if start <= t["created"] < end]
    nets: dict[str, int] = defaultdict(int)
    for txn in in_window:
        nets[txn["currency"]] += txn["net"]
    summaries = [api.xcom(RECONCILIATION, run_id, "summarize") for d, run_id, _ in ran if d == RECONCILIATION]
    posted = sum(s["xero_entries_posted"] for s in summaries)
    assert posted == len(in_window) > 0
    assert sum(s["xero_records_rejected"] for s in summaries) == 0

    import requests

    balances = requests.get(cluster.sandbox_url + "/_sandbox/xero/state", timeout=30).json()["balances"]
    for currency, net in nets.items():
        assert Decimal(balances[CLEARING[currency]]) == from_minor_units(net, currency), currency
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for summary in summaries:
        for currency, by_category in summary["totals"].items():
            totals[currency] += sum(Decimal(v) for v in by_category.values())
    assert dict(totals) == {c: from_minor_units(n, c) for c, n in nets.items()}
    SUMMARY.append(
        f"Xero: {posted} entries for {len(in_window)} balance transactions; clearing totals "
        + ", ".join(f"{c} {totals[c]}" for c in sorted(totals))
        + " equal Stripe's nets"
    )


def test_postgres_holds_the_dag_runs(ran, cluster):
    import psycopg2

    with psycopg2.connect(cluster.pg_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT dag_id, run_id, state FROM dag_run WHERE run_id LIKE 'distributed__%%'")
        rows = {(dag_id, run_id): state for dag_id, run_id, state in cursor.fetchall()}
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    assert {(dag_id, run_id) for dag_id, run_id, _ in ran} <= set(rows)
    assert all(rows[(dag_id, run_id)] == "success" for dag_id, run_id, _ in ran)
    SUMMARY.append(f"{version} holds the {len(ran)} DAG runs, all success")


def worker_of(hostname):
    """The worker whose hostname_callable gave ``hostname`` (``<machine>-worker-N``)."""
    return next((w for w in WORKERS if hostname.endswith("-" + w)), None)


def test_both_celery_workers_ran_tasks(ran, api):
    hosts = Counter()
    per_run = {}
    for dag_id, run_id, _ in ran:
        tis = [ti for ti in api.task_instances(dag_id, run_id) if ti["state"] == "success"]
        per_run[(dag_id, run_id)] = {ti["task_id"]: ti["hostname"] for ti in tis}
        hosts.update(ti["hostname"] for ti in tis)
        for ti in tis:
            # The cluster policy's routing, seen in where each task ran.
            expected = "worker-1" if ti["task_id"].startswith("list_") else "worker-2"
            assert worker_of(ti["hostname"]) == expected, (ti["task_id"], ti["hostname"], ti["queue"])
    assert {worker_of(host) for host in hosts} == set(WORKERS), hosts
    RESULTS["hosts"] = per_run
    SUMMARY.append(
        "task instances per worker hostname: " + ", ".join(f"{h} {n}" for h, n in sorted(hosts.items()))
    )


def test_records_went_through_the_object_store(ran, api, cluster):
    crossed = 0
    for dag_id, run_id, _ in ran:
        task_id = "list_new_customers" if dag_id == CRM else "list_new_balance_transactions"
        summary = api.xcom(dag_id, run_id, task_id)
        # ObjectStoragePath may keep the connection id in the URI or not; the file is the same.
        prefix = f"{BUCKET}/sync/records/{dag_id}/{task_id}/"
        assert re.match(rf"s3://(aws_default@)?{re.escape(prefix)}", summary["uri"]), summary["uri"]
        key = summary["uri"].split(f"{BUCKET}/", 1)[1]
        body = cluster.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        lines = body.splitlines()
        assert json.loads(lines[0])["_stripe_sync"]["resource"] == summary["resource"]
        assert len(lines) == summary["count"] + 1
        hosts = RESULTS["hosts"][(dag_id, run_id)]
        reader = "build_customer_profiles" if dag_id == CRM else "post_to_xero"
        # Written on one worker, read on the other: nothing but the bucket connects them.
        assert worker_of(hosts[task_id]) != worker_of(hosts[reader])
        crossed += 1
    objects = cluster.s3.list_objects_v2(Bucket=BUCKET, Prefix="sync/")["KeyCount"]
    SUMMARY.append(
        f"object store: {objects} files under s3://{BUCKET}/sync/; {crossed} record files checked line by "
        f"line, each written on one worker and read on the other"
    )


def test_deferrable_sensor_waits_in_the_triggerer(seeded, api, cluster):
    sandbox = cluster.sandbox
    # An hour after the demo days: nothing else is created then.
    now = sandbox.set_clock(int(DEMO_END.timestamp()) + 2 * HOUR)
    window_start = datetime.fromtimestamp(now - 1, tz=timezone.utc).isoformat()
    run_id = "distributed__marketing__open_window"
    api.trigger(MARKETING, run_id, logical_date=None, conf={"window_start": window_start})

    def sensors_deferred():
        states = {ti["task_id"]: ti["state"] for ti in api.task_instances(MARKETING, run_id)}
        waiting = {states.get("wait_for_charges"), states.get("wait_for_subscriptions")}
        return states if waiting == {"deferred"} else None

    deferred = wait_until("both sensors to defer", sensors_deferred, cluster, timeout=300)
    # Let the scheduler take the executor's events for the deferrals before the triggers fire.
    time.sleep(10)
    client = stripe.StripeClient("sk_test_sandbox_demo", base_addresses={"api": cluster.sandbox_url})
    customer = client.v1.customers.create(
        params={"email": "deferred.buyer@example.com", "name": "Deferred Buyer"}
    )
    charge = client.v1.charges.create(
        params={"amount": 4200, "currency": "usd", "customer": customer.id, "source": "tok_visa"}
    )
    prices = client.v1.prices.list(params={"limit": 1, "type": "recurring"})
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": prices.data[0].id}]}
    )

    def finished():
        run = api.run(MARKETING, run_id)
        return run if run["state"] in FINISHED else None

    run = wait_until("the marketing run", finished, cluster, timeout=600)
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(MARKETING, run_id)}
    assert run["state"] == "success", (states, cluster.tail("triggerer"))
    seen = api.xcom(MARKETING, run_id, "wait_for_charges")
    assert seen["newest_id"] == charge.id
    assert api.xcom(MARKETING, run_id, "wait_for_subscriptions")["newest_id"] == subscription.id

    # The triggerer writes each trigger's log beside the task's, in its own folder.
    trigger_logs = [
        path
        for path in (cluster.homes["triggerer"].home / "logs").rglob("*")
        if path.is_file() and f"run_id={run_id}" in str(path) and "task_id=wait_for_charges" in str(path)
    ]
    assert trigger_logs, "no trigger log in the triggerer's folder"
    trigger_text = "\n".join(path.read_text(errors="replace") for path in trigger_logs)
    RESULTS["trigger_log"] = trigger_text
    assert "starting" in trigger_text and "trigger completed" in trigger_text, trigger_text[-3000:]

    audiences = cluster.sandbox._call("GET", "/mailchimp/state")["lists"]
    found = [
        member
        for audience in audiences
        for member in audience["members"]
        if member["email_address"] == "deferred.buyer@example.com"
    ]
    assert len(found) == 1, audiences
    tags = sorted(t["name"] if isinstance(t, dict) else t for t in found[0]["tags"])
    assert {"customer", "paid", "first-payment", "subscriber"} <= set(tags)
    SUMMARY.append(
        f"marketing run with an open window: both sensors {deferred['wait_for_charges']}, waited in the "
        f"triggerer ({trigger_logs[0].name} in its folder), resumed on charge {charge.id} and subscription "
        f"{subscription.id}; Mailchimp member {found[0]['email_address']} tagged {tags}"
    )
