"""
The marketing trigger DAG end to end: real ``airflow dags test`` runs against the sandbox over HTTP.

Three hours: one with charges and a subscription, one with only a subscription (the charges sensor
skips and the run still writes the subscriber), one with nothing (both sensors skip, nothing is
written). Then the first hour again, which writes nothing.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timezone

import pytest

from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_ID = "stripe_mailchimp_marketing_trigger"
HOUR = 3600
B = int(datetime(2026, 10, 30, 10, tzinfo=timezone.utc).timestamp())
DAY = 24 * HOUR


def customer(cid, email, created, consent=None):
    return {
        "id": cid,
        "email": email,
        "name": f"{cid[4:].title()} Example",
        "created": created,
        "metadata": {"marketing_opt_in": consent} if consent else {},
    }


def charge(cid, created):
    return {"amount": 2500, "currency": "usd", "customer": cid, "source": "tok_visa", "created": created}


def subscription(sid, cid, created):
    return {"id": sid, "customer": cid, "items": [{"price": "price_gold"}], "created": created}


SEED = {
    "customers": [
        customer("cus_consent", "Consent.Payer@Example.com", B - DAY, consent="yes"),
        customer("cus_quiet", "quiet.payer@example.com", B - DAY),
        customer("cus_gone", "gone@example.com", B - DAY, consent="yes"),
        customer("cus_earlier", "earlier@example.com", B - DAY),
        customer("cus_later", "later@example.com", B + HOUR + 100),
    ],
    "products": [{"id": "prod_gold", "name": "Gold Plan", "created": B - DAY}],
    "prices": [
        {
            "id": "price_gold",
            "product": "prod_gold",
            "currency": "usd",
            "unit_amount": 2500,
            "recurring": {"interval": "month"},
            "created": B - DAY,
        }
    ],
    "charges": [
        charge("cus_earlier", B - 2 * HOUR),
        # Paid before: this hour's charge is not quiet's first payment.
        charge("cus_quiet", B - 3 * HOUR),
        charge("cus_consent", B + 60),
        charge("cus_quiet", B + 120),
        charge("cus_gone", B + 300),
    ],
    "subscriptions": [subscription("sub_later", "cus_later", B + HOUR + 200)],
}


@pytest.fixture(scope="module")
def airflow(sandbox_server, tmp_path_factory):
    local = LocalAirflow(
        tmp_path_factory.mktemp("airflow"), connections=sandbox_connections(sandbox_server.url)
    )
    local.migrate()
    return local


def admin(sandbox, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/mailchimp{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def audience(sandbox):
    lists = admin(sandbox, "GET", "/state")["lists"]
    members = next(a for a in lists if a["id"] == "aud_sandbox")["members"]
    return [(m["email_address"], m["status"], sorted(t["name"] for t in m["tags"])) for m in members]


def run_hour(airflow, sandbox, start):
    sandbox.set_clock(start + HOUR + 300)
    airflow.dags_test(DAG_ID, datetime.fromtimestamp(start + HOUR, tz=timezone.utc).isoformat())
    return airflow.last_run(DAG_ID, xcom_tasks=("summarize", "wait_for_charges", "wait_for_subscriptions"))


def mailchimp_writes(sandbox):
    return [
        (r["method"], r["path"])
        for r in sandbox.requests()
        if r["api"] == "mailchimp" and r["method"] in ("PUT", "POST")
    ]


@pytest.mark.timeout(1500)
def test_sensors_gate_the_run_and_the_audience_holds_exactly_the_payers(airflow, sandbox_server):
    sandbox = sandbox_server
    sandbox.reset()
    sandbox.seed(stripe=SEED)
    # Somebody who unsubscribed long ago pays again: tagged, never subscribed again.
    admin(
        sandbox,
        "POST",
        "/seed",
        {
            "members": [
                {"list_id": "aud_sandbox", "email_address": "gone@example.com", "status": "unsubscribed"}
            ]
        },
    )

    first = run_hour(airflow, sandbox, B)
    assert first["state"] == "success"
    assert first["xcom"]["wait_for_charges"]["window"] == [B, B + HOUR]
    assert first["xcom"]["wait_for_charges"]["count"] == 1  # one check, limit=min_count
    assert first["task_states"]["wait_for_subscriptions"] == "skipped"
    assert first["task_states"]["list_new_subscriptions"] == "skipped"
    summary = first["xcom"]["summarize"]
    assert {k: v for k, v in summary.items() if k != "report_uri"} == {
        "window": [B - 600, B + HOUR],
        "stripe_charges_read": 3,
        "stripe_subscriptions_read": 0,
        "customers_profiled": 3,
        "mailchimp_members_upserted": 3,
        "mailchimp_members_unchanged": 0,
        "mailchimp_records_rejected": 0,
    }
    assert audience(sandbox) == [
        ("consent.payer@example.com", "subscribed", ["customer", "first-payment", "paid"]),
        ("gone@example.com", "unsubscribed", ["customer", "first-payment", "paid"]),
        ("quiet.payer@example.com", "transactional", ["customer", "paid"]),
    ]

    second = run_hour(airflow, sandbox, B + HOUR)
    assert second["state"] == "success"
    assert second["task_states"]["wait_for_charges"] == "skipped"
    assert second["task_states"]["list_new_charges"] == "skipped"
    assert second["xcom"]["summarize"]["mailchimp_members_upserted"] == 1
    assert audience(sandbox) == [
        ("consent.payer@example.com", "subscribed", ["customer", "first-payment", "paid"]),
        ("gone@example.com", "unsubscribed", ["customer", "first-payment", "paid"]),
        ("later@example.com", "transactional", ["customer", "product:Gold Plan", "subscriber"]),
        ("quiet.payer@example.com", "transactional", ["customer", "paid"]),
    ]

    sandbox.clear_requests()
    third = run_hour(airflow, sandbox, B + 2 * HOUR)
    assert third["state"] == "success"
    assert {task: state for task, state in third["task_states"].items()} == {
        "wait_for_charges": "skipped",
        "wait_for_subscriptions": "skipped",
        "list_new_charges": "skipped",
        "list_new_subscriptions": "skipped",
        "gather_trigger_records": "skipped",
        "build_customer_profiles": "skipped",
        "upsert_mailchimp_members": "skipped",
        "summarize": "skipped",
        # Retention runs whatever the sync does.
        "remove_expired_files": "success",
    }
    assert mailchimp_writes(sandbox) == []

    # The first hour again: everything is already there.
    sandbox.clear_requests()
    again = run_hour(airflow, sandbox, B)
    assert again["xcom"]["summarize"]["mailchimp_members_unchanged"] == 3
    assert again["xcom"]["summarize"]["mailchimp_members_upserted"] == 0
    assert mailchimp_writes(sandbox) == []
