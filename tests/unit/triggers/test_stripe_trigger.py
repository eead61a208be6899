from __future__ import annotations

from airflow_provider_stripe_sync.triggers.stripe import StripeNewObjectsTrigger

KWARGS = {
    "stripe_conn_id": "stripe_default",
    "stripe_account": "acct_1X",
    "resource": "charges",
    "window_start": 1793232000,
    "window_end": None,
    "min_count": 2,
    "filters": {"customer": "cus_1"},
    "succeeded_only": True,
    "poke_interval": 30.0,
}


def test_serialize_is_exact_and_round_trips():
    trigger = StripeNewObjectsTrigger(**KWARGS)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_stripe_sync.triggers.stripe.StripeNewObjectsTrigger"
    assert kwargs == KWARGS
    assert StripeNewObjectsTrigger(**kwargs).serialize() == (path, kwargs)


def test_kwargs_hold_only_ids_flags_numbers_and_filters():
    _, kwargs = StripeNewObjectsTrigger(**KWARGS).serialize()
    assert all(isinstance(v, (str, int, float, bool, dict, type(None))) for v in kwargs.values())
