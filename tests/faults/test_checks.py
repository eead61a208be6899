"""The fault suite's own checks: they catch a loss, a duplicate and a stray, and fail the suite."""

from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.hooks.stripe import StripeHook
from tests.faults import suite
from tests.faults.scenarios import SignupsToStripe, compare


def test_compare_finds_losses_duplicates_strays_and_wrong_values():
    expected = {"a": 1, "b": 2, "c": 3, "d": 4}
    landed = [("a", 1), ("b", 2), ("b", 2), ("c", 30), ("z", 9)]
    check = compare(expected, landed)
    assert (check.records, check.losses, check.duplicates, check.strays) == (4, ["c", "d"], ["b"], ["z"])


def test_compare_of_everything_once_is_clean():
    check = compare({"a": 1, "b": 2}, [("b", 2), ("a", 1)])
    assert (check.records, check.losses, check.duplicates, check.strays) == (2, [], [], [])


@pytest.fixture
def signups(sandbox_server, tmp_path):
    sandbox_server.reset()
    scenario = SignupsToStripe(sandbox_server, tmp_path)
    with suite.environment(scenario.environment()), suite.sped_up():
        scenario.prepare()
        sandbox_server.clear_requests()
        yield scenario
    sandbox_server.clear_faults()


def lose_the_answer_to_the_first_create(sandbox):
    suite.queue(
        sandbox, [{"api": "stripe", "method": "POST", "path": "/v1/customers", "kind": "lost_response"}]
    )


def test_a_lost_answer_to_a_create_doubles_nothing(signups):
    lose_the_answer_to_the_first_create(signups.sandbox)
    row = suite.Row()
    assert suite.run_tries(signups, row) is True
    suite.record(signups, row, True, "signups")
    assert (row.scenarios, row.faults, row.records, row.losses, row.duplicates, row.bad) == (
        1,
        1,
        55,
        0,
        0,
        0,
    )


def test_without_idempotency_keys_the_suite_sees_the_duplicate(signups, monkeypatch):
    # A create retried without its key is created twice: the check must say so.
    options = StripeHook.request_options
    monkeypatch.setattr(
        StripeHook, "request_options", lambda self, idempotency_key=None: options(self, idempotency_key=None)
    )
    lose_the_answer_to_the_first_create(signups.sandbox)
    row = suite.Row()
    assert suite.run_tries(signups, row) is True
    suite.record(signups, row, True, "signups")
    assert (row.losses, row.duplicates, row.bad) == (0, 1, 1)
    assert row.problems == ["signups: doubled 1: customer su_000"]


def test_the_suite_exits_non_zero_on_a_duplicate(monkeypatch, tmp_path, capfd):
    options = StripeHook.request_options
    monkeypatch.setattr(
        StripeHook, "request_options", lambda self, idempotency_key=None: options(self, idempotency_key=None)
    )
    monkeypatch.setattr(
        suite,
        "fault_mix",
        lambda rng, scenario: [{"api": "stripe", "method": "POST", "path": "/v1/customers", "kind": "reset"}],
    )
    argv = ["--seeds", "1", "--only", "stripe_signups", "--no-kill", "--log", str(tmp_path / "log")]
    assert suite.main(argv) == 1
    out = capfd.readouterr().out
    assert "stripe_signups: stripe_signups seed 0: doubled 1: customer su_000" in out
    assert "FAILED: 1 losses, duplicates, strays or failures without a cause" in out
