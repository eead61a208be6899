from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.stripe.checks import NewObjectsCheck

S, E = 1000, 2000


def page(*ids, has_more=False):
    return {"data": [{"id": i} for i in ids], "has_more": has_more}


def test_closed_window_request_sends_both_bounds_and_a_small_limit():
    check = NewObjectsCheck(resource="subscriptions", window_start=S, window_end=E, min_count=3)
    assert check.request(now=5000) == (
        "subscriptions",
        {"status": "all", "created": {"gte": S, "lt": E}, "limit": 3},
    )


def test_open_window_reads_up_to_now():
    check = NewObjectsCheck(resource="charges", window_start=S, filters={"customer": "cus_1", "x": None})
    assert check.request(now=1500) == (
        "charges",
        {"customer": "cus_1", "created": {"gte": S, "lt": 1500}, "limit": 1},
    )


def test_succeeded_only_counts_charge_succeeded_events():
    check = NewObjectsCheck(resource="charges", window_start=S, window_end=E, succeeded_only=True)
    assert check.request(now=E) == (
        "events",
        {"type": "charge.succeeded", "created": {"gte": S, "lt": E}, "limit": 1},
    )
    event = {"id": "evt_1", "data": {"object": {"id": "ch_9"}}}
    result = check.evaluate({"data": [event], "has_more": False}, now=E)
    assert result.summary == {"window": [S, E], "count": 1, "newest_id": "ch_9", "has_more": False}


def test_enough_objects_succeed_with_the_exact_window_seen():
    check = NewObjectsCheck(resource="charges", window_start=S, min_count=2)
    result = check.evaluate(page("ch_new", "ch_old", has_more=True), now=1750)
    assert (result.done, result.skip) == (True, False)
    assert result.summary == {"window": [S, 1750], "count": 2, "newest_id": "ch_new", "has_more": True}


def test_closed_window_without_objects_is_skipped_once_it_has_ended():
    check = NewObjectsCheck(resource="charges", window_start=S, window_end=E)
    assert check.evaluate(page(), now=E - 1).skip is False
    result = check.evaluate(page(), now=E)
    assert (result.done, result.skip, result.summary) == (False, True, None)
    assert result.reason == "the window [1000, 2000) is closed and holds 0 charges, fewer than 1"


def test_open_window_keeps_waiting():
    check = NewObjectsCheck(resource="charges", window_start=S)
    result = check.evaluate(page(), now=10**9)
    assert (result.done, result.skip) == (False, False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_count": 0}, "min_count must be from 1 to 100"),
        ({"min_count": 101}, "min_count must be from 1 to 100"),
        ({"window_end": S}, "window_end (1000) must be after window_start (1000)"),
        ({"resource": "subscriptions", "succeeded_only": True}, "succeeded_only applies to charges only"),
        ({"filters": {"created": 1}}, "filters may not set created"),
        ({"resource": "widgets"}, "'widgets' is not a listable Stripe resource"),
    ],
)
def test_bad_checks_are_refused(kwargs, message):
    with pytest.raises(ValueError) as caught:
        NewObjectsCheck(**{"resource": "charges", "window_start": S, **kwargs})
    assert message in str(caught.value)
