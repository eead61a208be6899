"""A test DAG: a deferrable sensor waiting for a new charge from ``params.window_start`` on."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_stripe_sync.sensors.stripe import StripeNewChargesSensor

with DAG(
    dag_id="stripe_sensor_wait",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    render_template_as_native_obj=True,
    params={"window_start": Param(None, type=["null", "integer"])},
):
    StripeNewChargesSensor(
        task_id="wait_for_charge",
        window_start="{{ params.window_start }}",
        deferrable=True,
        poke_interval=1,
        timeout=300,
    )
