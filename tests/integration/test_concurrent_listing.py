"""Concurrent listing against the sandbox: a seeded window's ids, exactly, with and without 429s."""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.operators.stripe import StripeListNewChargesOperator
from airflow_provider_stripe_sync.records import read_header, read_records
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000  # 2026-10-29T00:00:00Z
DAY = 86400


def seed_window(sandbox):
    """1,500 charges in the day before B, and some just outside it on both sides."""
    sandbox.seed_bulk("charges", 1500, B - DAY, B, seed=11)
    sandbox.seed_bulk("charges", 40, B, B + 600, seed=12)
    sandbox.seed_bulk("charges", 40, B - DAY - 600, B - DAY, seed=13)
    charges = sandbox.state(resources=["charges"])["stripe"]["charges"]
    return sorted(c["id"] for c in charges if B - DAY <= c["created"] < B)


def use_concurrency(monkeypatch, sandbox, workers):
    connection = {
        "conn_type": "stripe",
        "password": "sk_test_sandbox",
        "host": sandbox.url,
        "extra": {"max_concurrency": workers},
    }
    monkeypatch.setenv("AIRFLOW_CONN_STRIPE_DEFAULT", json.dumps(connection))


def list_day(tmp_path):
    operator = StripeListNewChargesOperator(task_id="charges", lookback=0, output_uri=str(tmp_path))
    return operator.execute(make_context(interval=(B - DAY, B)))


def stripe_lists(sandbox):
    return [r for r in sandbox.requests() if r["path"] == "/v1/charges"]


def test_a_window_read_in_sub_windows_holds_exactly_the_sandboxs_objects(sandbox, tmp_path, monkeypatch):
    expected = seed_window(sandbox)
    use_concurrency(monkeypatch, sandbox, 6)
    sandbox.clear_requests()

    summary = list_day(tmp_path)

    ids = [record["id"] for record in read_records(summary["uri"])]
    assert len(ids) == 1500 == summary["count"]
    assert sorted(ids) == expected
    assert read_header(summary["uri"])["window"] == [B - DAY, B]
    sent = stripe_lists(sandbox)
    windows = {(r["query"]["created"]["gte"], r["query"]["created"]["lt"]) for r in sent}
    assert len(windows) > 1
    assert all(int(low) >= B - DAY and int(high) <= B for low, high in windows)
    assert all(r["query"]["limit"] == "100" and r["status"] == 200 for r in sent)
    assert not any("starting_after" in r["query"] and "ending_before" in r["query"] for r in sent)


def test_429s_from_the_rate_limits_and_injected_faults_lose_and_double_nothing(
    sandbox, tmp_path, monkeypatch
):
    expected = seed_window(sandbox)
    use_concurrency(monkeypatch, sandbox, 6)
    # The client allows itself 20/s in test mode; the sandbox lets 8/s through and refuses the rest.
    sandbox.set_limits(endpoint_rate=8)
    sandbox.add_fault("/v1/charges", 429, code="rate_limit", times=2)
    sandbox.add_fault("/v1/charges", 429, code="lock_timeout", times=1)
    sandbox.clear_requests()

    summary = list_day(tmp_path)

    ids = [record["id"] for record in read_records(summary["uri"])]
    assert len(ids) == 1500 == summary["count"]
    assert sorted(ids) == expected
    refused = [r for r in stripe_lists(sandbox) if r["status"] == 429]
    throttled = sandbox.limits()["throttled"]["endpoint"]
    assert len(refused) == throttled + 3
    assert throttled > 0


def test_one_thread_reads_the_window_with_a_plain_page_loop(sandbox, tmp_path, monkeypatch):
    expected = seed_window(sandbox)
    use_concurrency(monkeypatch, sandbox, 1)
    sandbox.clear_requests()

    summary = list_day(tmp_path)

    ids = [record["id"] for record in read_records(summary["uri"])]
    assert sorted(ids) == expected
    sent = stripe_lists(sandbox)
    assert len(sent) == 15
    assert {(r["query"]["created"]["gte"], r["query"]["created"]["lt"]) for r in sent} == {
        (str(B - DAY), str(B))
    }
    # Newest first, as Stripe lists them.
    created = [record["created"] for record in read_records(summary["uri"])]
    assert created == sorted(created, reverse=True)


def test_cut_short_reset_and_lost_pages_in_the_concurrent_phase_lose_and_double_nothing(
    sandbox, tmp_path, monkeypatch
):
    expected = seed_window(sandbox)
    use_concurrency(monkeypatch, sandbox, 6)
    # After the first three pages (the plain loop) the window is shared out: spoil pages read then.
    for after, kind in ((4, "truncated"), (6, "reset"), (8, "lost_response")):
        sandbox.add_fault("/v1/charges", 200, method="GET", kind=kind, after=after)
    sandbox.clear_requests()

    summary = list_day(tmp_path)

    ids = [record["id"] for record in read_records(summary["uri"])]
    assert len(ids) == 1500 == summary["count"]
    assert sorted(ids) == expected
    spoilt = sorted(r["fault"] for r in stripe_lists(sandbox) if r.get("fault"))
    assert spoilt == ["lost_response", "reset", "truncated"]


def test_a_listing_that_fails_part_way_leaves_no_record_file(sandbox, tmp_path, monkeypatch):
    seed_window(sandbox)
    connection = {
        "conn_type": "stripe",
        "password": "sk_test_sandbox",
        "host": sandbox.url,
        "extra": {"max_concurrency": 6, "max_network_retries": 0},
    }
    monkeypatch.setenv("AIRFLOW_CONN_STRIPE_DEFAULT", json.dumps(connection))
    sandbox.add_fault("/v1/charges", 500, method="GET", after=5, times=100)

    with pytest.raises(StripeRequestError, match="HTTP 500"):
        list_day(tmp_path)

    assert sorted(p.name for p in tmp_path.rglob("*.jsonl")) == []
    assert len([r for r in stripe_lists(sandbox) if r["status"] == 200]) == 5
