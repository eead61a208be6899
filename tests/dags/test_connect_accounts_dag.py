"""A sync mapped over three connected accounts, one deauthorized: two complete, one is reported."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_stripe_sync.hooks.stripe import StripeOAuthHook
from scripts.local_airflow import LocalAirflow, sandbox_connections

pytestmark = pytest.mark.dags

DAG_ID = "stripe_connect_accounts_sync"
DAY = datetime(2026, 10, 29, tzinfo=timezone.utc)
B = int(DAY.timestamp())


@pytest.mark.timeout(600)
def test_three_accounts_one_deauthorized(sandbox_server, tmp_path, monkeypatch):
    sandbox = sandbox_server
    sandbox.reset()
    connections = sandbox_connections(sandbox.url)
    for account, amounts in {"acct_1Alpha": [100, 200], "acct_1Beta": [300], "acct_1Gone": [400]}.items():
        sandbox.seed(
            stripe={
                "charges": [
                    {"amount": amount, "currency": "usd", "source": "tok_visa", "created": B + 60 * n}
                    for n, amount in enumerate(amounts)
                ]
            },
            account=account,
        )
    sandbox.seed(
        stripe={"charges": [{"amount": 999, "currency": "usd", "source": "tok_visa", "created": B + 5}]}
    )
    monkeypatch.setenv("AIRFLOW_CONN_STRIPE_OAUTH_DEFAULT", json.dumps(connections["stripe_oauth_default"]))
    assert StripeOAuthHook().deauthorize("acct_1Gone") == "acct_1Gone"

    # Retention from the Variable: 10 days. Files of known ages, in and outside records/ and reports/.
    airflow = LocalAirflow(
        tmp_path / "airflow",
        connections=connections,
        extra_env={"AIRFLOW_VAR_STRIPE_SYNC_RETENTION_DAYS": "10"},
    )
    output_folder = airflow.home / "stripe_sync"
    aged = {
        "old_record": (output_folder / "records" / DAG_ID / "list_new_charges" / "map-0" / "old.jsonl", 11),
        "old_report": (
            output_folder / "reports" / "stripe_hubspot_crm_sync" / "upsert" / "r__try1.jsonl",
            12,
        ),
        "young_record": (output_folder / "records" / DAG_ID / "list_new_charges" / "young.jsonl", 9),
        "ledger": (output_folder / "mailchimp" / "aud_1" / "rejected_emails.jsonl", 400),
    }
    for path, age_days in aged.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")
        when = time.time() - age_days * 86400
        os.utime(path, (when, when))
    airflow.migrate()
    output = airflow.dags_test(DAG_ID, (DAY + timedelta(days=1)).isoformat())

    run = airflow.last_run(
        DAG_ID,
        xcom_tasks=("list_connected_accounts", "summarize", "remove_expired_files"),
    )
    assert run["state"] == "success"
    cleanup = run["xcom"]["remove_expired_files"]
    assert (cleanup["retention_days"], cleanup["removed"], cleanup["undated"]) == (10, 2, 0)
    assert {name for name, (path, _) in aged.items() if path.exists()} == {"young_record", "ledger"}
    assert run["task_states"]["remove_expired_files"] == "success"
    assert run["xcom"]["list_connected_accounts"] == ["acct_1Alpha", "acct_1Beta", "acct_1Gone"]
    assert run["xcom"]["summarize"] == {
        "synced": {"acct_1Alpha": 2, "acct_1Beta": 1},
        "skipped": ["acct_1Gone"],
    }

    # The platform's secret key is in no output, task log, XCom, rendered field or record file.
    secret = connections["stripe_oauth_default"]["password"]
    assert secret not in output
    needle = secret.encode()
    assert [p for p in airflow.home.rglob("*") if p.is_file() and needle in p.read_bytes()] == []
