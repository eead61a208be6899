"""What Airflow's UI and provider manager read from get_provider_info() matches the hooks."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import pytest

from airflow_provider_stripe_sync.get_provider_info import get_provider_info
from airflow_provider_stripe_sync.hooks.base import ALLOW_INSECURE_HOST
from airflow_provider_stripe_sync.hooks.hubspot import HUBSPOT_EXTRAS
from airflow_provider_stripe_sync.hooks.mailchimp import MAILCHIMP_EXTRAS
from airflow_provider_stripe_sync.hooks.stripe import STRIPE_EXTRAS, STRIPE_OAUTH_EXTRAS
from airflow_provider_stripe_sync.hooks.xero import XERO_EXTRAS

INFO = get_provider_info()
EXTRAS = {
    "stripe": STRIPE_EXTRAS,
    "stripe_oauth": STRIPE_OAUTH_EXTRAS,
    "hubspot": HUBSPOT_EXTRAS,
    "mailchimp": MAILCHIMP_EXTRAS,
    "xero": XERO_EXTRAS,
}


def load(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_info_validates_against_airflows_schema():
    import airflow

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(INFO, schema)


def test_entry_point_is_installed():
    points = [
        p
        for p in entry_points(group="apache_airflow_provider")
        if p.value.startswith("airflow_provider_stripe_sync")
    ]
    assert [p.value for p in points] == ["airflow_provider_stripe_sync.get_provider_info:get_provider_info"]


@pytest.mark.parametrize("declared", INFO["connection-types"], ids=lambda d: d["connection-type"])
def test_each_connection_type_matches_its_hook(declared):
    hook = load(declared["hook-class-name"])
    conn_type = declared["connection-type"]
    assert hook.conn_type == conn_type
    assert hook.hook_name == declared["hook-name"]
    assert hook.default_conn_name == f"{conn_type}_default"
    assert hook.conn_name_attr == f"{conn_type}_conn_id"
    # Every form field is an extra the hook accepts, and the other way round.
    assert set(declared["conn-fields"]) == set(EXTRAS[conn_type])
    for name, field in declared["conn-fields"].items():
        secret = "secret" in name or "token" in name
        assert (field["schema"].get("format") == "password") is secret, name
    assert ALLOW_INSECURE_HOST in declared["conn-fields"]


def test_declared_modules_import():
    for group in ("hooks", "operators", "sensors", "triggers"):
        for entry in INFO[group]:
            for module in entry["python-modules"]:
                importlib.import_module(module)


def test_every_stripe_operator_module_is_declared():
    (stripe,) = [entry for entry in INFO["operators"] if entry["integration-name"] == "Stripe"]
    assert stripe["python-modules"] == [
        "airflow_provider_stripe_sync.operators.stripe",
        "airflow_provider_stripe_sync.operators.stripe_method",
        "airflow_provider_stripe_sync.operators.stripe_methods",
        "airflow_provider_stripe_sync.operators.stripe_updated",
        "airflow_provider_stripe_sync.operators.cleanup",
    ]
    # Every module holding a Stripe operator is there (a new one must be declared too).
    from pathlib import Path

    import airflow_provider_stripe_sync.operators as package

    on_disk = sorted(
        f"airflow_provider_stripe_sync.operators.{path.stem}"
        for path in Path(package.__file__).parent.glob("stripe*.py")
    )
    assert stripe["python-modules"][:-1] == on_disk
