"""Sign-ups from the platform: reading the JSON Lines drop and turning one into Stripe parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow_provider_stripe_sync.records import read_records, storage_path
from airflow_provider_stripe_sync.stripe.windows import Window, to_epoch


def _files(uri: str) -> list[Any]:
    path = storage_path(uri)
    if path.is_dir():
        return sorted(path.glob("*.jsonl"), key=str)
    if not path.exists():
        raise FileNotFoundError(
            f"signups_uri {uri!r} is neither a sign-ups file nor a folder of *.jsonl files."
        )
    return [path]


def _problem(signup: dict[str, Any]) -> str | None:
    if not str(signup.get("signup_id") or "").strip():
        return "missing_signup_id"
    email = str(signup.get("email") or "").strip()
    if not email:
        return "missing_email"
    if "@" not in email or " " in email:
        return "invalid_email"
    trial_days = signup.get("trial_days")
    if trial_days not in (None, "") and not (str(trial_days).isdigit() and not isinstance(trial_days, bool)):
        return "invalid_trial_days"
    return None


def read_signups(uri: str, window: Window) -> Iterator[tuple[dict[str, Any], str | None]]:
    """
    Yield each sign-up whose ``signed_up_at`` is in ``window``, with the reason it is unusable or None.

    A sign-up without a valid ``signed_up_at`` cannot be placed in any window: it is yielded with the
    reason ``invalid_signed_up_at`` by every run, so it shows up in reports instead of vanishing.
    """
    for path in _files(uri):
        for signup in read_records(path):
            try:
                signed_up_at = to_epoch(signup.get("signed_up_at"), field="signed_up_at")
            except (TypeError, ValueError):
                yield signup, "invalid_signed_up_at"
                continue
            if window.start <= signed_up_at < window.end:
                yield signup, _problem(signup)


def customer_params(signup: dict[str, Any]) -> dict[str, Any]:
    """Return the customer create parameters for a sign-up; the same sign-up gives the same bytes."""
    params: dict[str, Any] = {
        "email": str(signup["email"]).strip().lower(),
        "metadata": {"signup_id": str(signup["signup_id"])},
    }
    if signup.get("name"):
        params["name"] = str(signup["name"]).strip()
    return params


def subscription_params(signup: dict[str, Any], customer_id: str, price_id: str) -> dict[str, Any]:
    """
    Return the subscription create parameters for a sign-up.

    With ``trial_days`` the subscription starts in a trial; without, it is created
    ``default_incomplete`` so that no payment is attempted before a payment method exists.
    """
    params: dict[str, Any] = {
        "customer": customer_id,
        "items": [{"price": price_id}],
        "metadata": {"signup_id": str(signup["signup_id"])},
    }
    trial_days = signup.get("trial_days")
    if trial_days:
        params["trial_period_days"] = int(trial_days)
    else:
        params["payment_behavior"] = "default_incomplete"
    return params
