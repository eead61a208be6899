"""The new-objects sensors and their trigger against the sandbox, over HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import stripe
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

from airflow_provider_stripe_sync.sensors.stripe import StripeNewChargesSensor, StripeNewSubscriptionsSensor
from airflow_provider_stripe_sync.triggers.stripe import StripeNewObjectsTrigger
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000
HOUR = 3600


def list_calls(sandbox, path="/v1/charges"):
    return [r for r in sandbox.requests() if r["method"] == "GET" and r["path"] == path]


def first_event(trigger, timeout=20.0):
    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(asyncio.wait_for(first(), timeout))


def trigger(**overrides):
    kwargs = {
        "stripe_conn_id": "stripe_default",
        "stripe_account": None,
        "resource": "charges",
        "window_start": B,
        "window_end": B + HOUR,
        "poke_interval": 0.1,
    }
    return StripeNewObjectsTrigger(**{**kwargs, **overrides})


def test_trigger_fires_for_a_charge_inside_the_window(sandbox):
    [charge] = sandbox.seed(
        stripe={"charges": [{"amount": 700, "currency": "eur", "source": "tok_visa", "created": B + 60}]}
    )["stripe"]["charges"]
    assert first_event(trigger()) == {
        "status": "success",
        "window": [B, B + HOUR],
        "count": 1,
        "newest_id": charge["id"],
        "has_more": False,
    }


def test_trigger_skips_a_closed_window_holding_only_charges_outside_it(sandbox):
    sandbox.seed(
        stripe={"charges": [{"amount": 700, "currency": "eur", "source": "tok_visa", "created": B + HOUR}]}
    )
    event = first_event(trigger())
    assert event["status"] == "skipped"
    assert "is closed and holds 0 charges" in event["message"]
    assert len(list_calls(sandbox)) == 1


def test_trigger_waits_in_an_open_window_until_a_charge_arrives(sandbox):
    start = int(time.time()) - 5
    sandbox.seed(
        stripe={"charges": [{"amount": 1, "currency": "usd", "source": "tok_visa", "created": start - 10}]}
    )
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url})

    async def scenario():
        task = asyncio.ensure_future(first_event_async(trigger(window_start=start, window_end=None)))
        await asyncio.sleep(1.0)
        assert not task.done()
        charge = await asyncio.to_thread(
            client.v1.charges.create, params={"amount": 5000, "currency": "jpy", "source": "tok_visa"}
        )
        return charge, await asyncio.wait_for(task, 20)

    charge, event = asyncio.run(scenario())
    assert event["status"] == "success"
    assert event["newest_id"] == charge.id
    assert event["window"][0] == start
    assert charge.created < event["window"][1] <= int(time.time())


async def first_event_async(trigger_):
    async for event in trigger_.run():
        return event.payload


def test_trigger_reports_a_refused_key_as_an_error_event(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_BAD",
        json.dumps({"conn_type": "stripe", "password": "sk_wrong_key", "host": sandbox.url}),
    )
    event = first_event(trigger(stripe_conn_id="stripe_bad"))
    assert event["status"] == "error"
    assert event["message"].startswith("Stripe list charges failed (HTTP 401, request req_")
    assert "Invalid API Key provided" in event["message"]


def test_trigger_reports_a_publishable_key_without_a_request(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_PK",
        json.dumps({"conn_type": "stripe", "password": "pk_test_1", "host": sandbox.url}),
    )
    sandbox.clear_requests()
    event = first_event(trigger(stripe_conn_id="stripe_pk"))
    assert event["status"] == "error" and "publishable key" in event["message"]
    assert list_calls(sandbox) == []


def test_closed_interval_with_no_charges_is_skipped_within_one_check(sandbox):
    sandbox.clear_requests()
    sensor = StripeNewChargesSensor(task_id="wait", poke_interval=0.1, timeout=30, mode="poke")
    with pytest.raises(
        AirflowSkipException, match=r"window \[1793232000, 1793235600\) is closed and holds 0"
    ):
        sensor.execute(make_context(interval=(B, B + HOUR)))
    assert len(list_calls(sandbox)) == 1


def test_closed_interval_with_a_subscription_succeeds_with_its_window(sandbox):
    sandbox.seed(
        stripe={
            "customers": [{"id": "cus_w", "email": "w@example.com", "created": B}],
            "products": [{"id": "prod_w", "name": "W", "created": B}],
            "prices": [
                {
                    "id": "price_w",
                    "product": "prod_w",
                    "currency": "usd",
                    "unit_amount": 100,
                    "recurring": {"interval": "month"},
                    "created": B,
                }
            ],
            "subscriptions": [
                {
                    "id": "sub_w",
                    "customer": "cus_w",
                    "items": [{"price": "price_w"}],
                    "created": B + 1,
                    "status": "canceled",
                    "canceled_at": B + 2,
                    "ended_at": B + 2,
                }
            ],
        }
    )
    sensor = StripeNewSubscriptionsSensor(task_id="wait", deferrable=True, poke_interval=0.1)
    # Decided by the first check: no deferral, and canceled subscriptions count (status=all).
    summary = sensor.execute(make_context(interval=(B, B + HOUR)))
    assert summary == {"window": [B, B + HOUR], "count": 1, "newest_id": "sub_w", "has_more": False}


def test_a_wait_of_n_checks_makes_n_list_calls(sandbox, monkeypatch):
    start = int(time.time())
    sensor = StripeNewChargesSensor(
        task_id="wait", window_start=start, poke_interval=0.2, timeout=1.5, mode="poke"
    )
    checks = []
    original = StripeNewChargesSensor.poke

    def counted(self, context):
        checks.append(1)
        return original(self, context)

    monkeypatch.setattr(StripeNewChargesSensor, "poke", counted)
    sandbox.clear_requests()
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute(make_context())
    assert len(checks) >= 3
    assert len(list_calls(sandbox)) == len(checks)
    for call in list_calls(sandbox):
        assert call["query"]["limit"] == "1"


def test_reschedule_mode_gives_the_slot_back_after_one_check(sandbox):
    from airflow.sdk.exceptions import AirflowRescheduleException

    sensor = StripeNewChargesSensor(
        task_id="wait", window_start=int(time.time()), poke_interval=60, mode="reschedule"
    )
    sandbox.clear_requests()
    context = make_context()
    # The task runner's TI answers this from the metadata database; a first try has none.
    context["ti"].get_first_reschedule_date = lambda context: None
    with pytest.raises(AirflowRescheduleException):
        sensor.execute(context)
    assert len(list_calls(sandbox)) == 1
