"""The sandbox CLI says how to set the clock when it serves the dated demo data."""

from __future__ import annotations

from airflow_provider_stripe_sync.sandbox.cli import parse_args, startup_note


def test_demo_without_a_clock_says_how_to_pass_one():
    assert startup_note(parse_args(["--seed", "demo"])) == (
        "Demo data spans 2026-10-02 to 2026-11-01 (UTC); the sandbox clock is real time, so List Updated "
        "windows over it fail the 30-day event retention check. Start with --clock 1793491200 "
        '(2026-11-01T00:00:00Z), or POST /_sandbox/clock {"now": 1793491200}.'
    )


def test_no_note_with_a_clock_or_without_the_demo():
    assert startup_note(parse_args(["--seed", "demo", "--clock", "1793491200"])) is None
    assert startup_note(parse_args([])) is None
