"""The sandbox's Xero: token rotation and expiry, limits, summarizeErrors, idempotency, dates."""

from __future__ import annotations

from datetime import date, timezone

import pytest
import requests
from xero_python.api_client.deserializer import deserialize

from airflow_provider_stripe_sync.sandbox.xero_api import SEED_REFRESH_TOKEN, TENANT_ID, parse_date

AUTH = ("client-id", "client-secret")


def refresh(url, token):
    return requests.post(
        url + "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=AUTH,
        timeout=10,
    )


def access_token(url):
    return refresh(url, SEED_REFRESH_TOKEN).json()["access_token"]


def api(url, token, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": TENANT_ID, **kwargs.pop("headers", {})}
    return requests.request(method, url + "/api.xro/2.0/" + path, headers=headers, timeout=10, **kwargs)


def limits(url, **values):
    return requests.post(url + "/_sandbox/xero/limits", json=values, timeout=10).json()


def test_a_used_refresh_token_works_for_thirty_minutes_then_fails(sbx):
    first = refresh(sbx.url, SEED_REFRESH_TOKEN)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope", "refresh_token"}
    assert body["refresh_token"] != SEED_REFRESH_TOKEN and body["expires_in"] == 1800

    sbx.advance(30 * 60)
    assert refresh(sbx.url, SEED_REFRESH_TOKEN).status_code == 200
    sbx.advance(1)
    late = refresh(sbx.url, SEED_REFRESH_TOKEN)
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})
    assert refresh(sbx.url, body["refresh_token"]).status_code == 200


def test_an_unused_refresh_token_expires_after_sixty_days(sbx):
    token = refresh(sbx.url, SEED_REFRESH_TOKEN).json()["refresh_token"]
    sbx.advance(60 * 86400 + 1)
    assert refresh(sbx.url, token).json() == {"error": "invalid_grant"}


def test_a_refresh_token_belongs_to_its_client(sbx):
    token = refresh(sbx.url, SEED_REFRESH_TOKEN).json()["refresh_token"]
    other = requests.post(
        sbx.url + "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=("another-app", "secret"),
        timeout=10,
    )
    assert other.json() == {"error": "invalid_grant"}


def test_access_tokens_expire_and_tenants_are_checked(sbx):
    token = access_token(sbx.url)
    assert api(sbx.url, token, "GET", "Accounts").status_code == 200
    wrong = api(sbx.url, token, "GET", "Accounts", headers={"xero-tenant-id": "other"})
    assert (wrong.status_code, wrong.json()["Detail"]) == (403, "AuthenticationUnsuccessful")
    sbx.advance(1800)
    assert api(sbx.url, token, "GET", "Accounts").status_code == 401


def test_the_minute_limit_answers_429_with_the_problem_and_retry_after(sbx):
    token = access_token(sbx.url)
    limits(sbx.url, minute=2)
    assert api(sbx.url, token, "GET", "Accounts").headers["X-MinLimit-Remaining"] == "1"
    api(sbx.url, token, "GET", "Accounts")
    limited = api(sbx.url, token, "GET", "Accounts")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    limits(sbx.url, minute=60, day=1)
    api(sbx.url, token, "GET", "Accounts")
    assert api(sbx.url, token, "GET", "Accounts").headers["X-Rate-Limit-Problem"] == "day"


def transaction(reference, code="200", amount=10.0):
    return {
        "Type": "RECEIVE",
        "Contact": {"Name": "Stripe"},
        "BankAccount": {"Code": "095"},
        "Date": "/Date(1793232000000+0000)/",
        "Reference": reference,
        "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "x", "AccountCode": code, "LineAmount": amount}],
    }


def test_summarize_errors_false_saves_the_valid_ones_and_true_saves_none(sbx):
    token = access_token(sbx.url)
    body = {"BankTransactions": [transaction("txn_ok"), transaction("txn_bad", code="nope")]}
    mixed = api(sbx.url, token, "PUT", "BankTransactions", params={"summarizeErrors": "false"}, json=body)
    assert mixed.status_code == 200
    results = mixed.json()["BankTransactions"]
    assert [r["StatusAttributeString"] for r in results] == ["OK", "ERROR"]
    assert results[1]["ValidationErrors"] == [{"Message": "Line 1: account nope could not be found"}]

    body = {"BankTransactions": [transaction("txn_two"), transaction("txn_bad", code="nope")]}
    refused = api(sbx.url, token, "PUT", "BankTransactions", json=body)
    assert (refused.status_code, refused.json()["Type"]) == (400, "ValidationException")
    references = [
        t["Reference"] for t in api(sbx.url, token, "GET", "BankTransactions").json()["BankTransactions"]
    ]
    assert references == ["txn_ok"]


def test_an_idempotency_key_replays_the_first_answer(sbx):
    token = access_token(sbx.url)
    body = {"BankTransactions": [transaction("txn_once")]}
    headers = {"Idempotency-Key": "key-1"}
    first = api(sbx.url, token, "PUT", "BankTransactions", json=body, headers=headers).json()
    second = api(sbx.url, token, "PUT", "BankTransactions", json=body, headers=headers).json()
    assert first == second
    found = api(sbx.url, token, "GET", "BankTransactions", params={"where": 'Reference=="txn_once"'})
    assert len(found.json()["BankTransactions"]) == 1


def test_where_filters_dates_and_pages_hold_100(sbx):
    token = access_token(sbx.url)
    body = {"BankTransactions": [transaction(f"txn_{n}") for n in range(120)]}
    assert api(sbx.url, token, "PUT", "BankTransactions", json=body).status_code == 200
    where = "Date >= DateTime(2026, 10, 29) && Date <= DateTime(2026, 10, 29)"
    pages = [
        api(sbx.url, token, "GET", "BankTransactions", params={"where": where, "page": page}).json()
        for page in (1, 2)
    ]
    assert [len(p["BankTransactions"]) for p in pages] == [100, 20]
    outside = api(
        sbx.url, token, "GET", "BankTransactions", params={"where": "Date > DateTime(2026, 10, 29)"}
    )
    assert outside.json()["BankTransactions"] == []
    assert pages[0]["Status"] == "OK" and pages[0]["DateTimeUTC"].startswith("/Date(")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Date(-80006400000+0000)/", date(1967, 6, 20)),
        ("/Date(1451988985943+1300)/", date(2016, 1, 5)),
        ("/Date(0+0000)/", date(1970, 1, 1)),
        ("/Date(1793232000000)/", date(2026, 10, 29)),
        ("2026-10-29", date(2026, 10, 29)),
        ("2026-10-29T00:00:00", date(2026, 10, 29)),
    ],
)
def test_inbound_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Date(-80006400000+0000)/", "1967-06-20T00:00:00+00:00"),
        ("/Date(1451988985943+1300)/", "2016-01-05T10:16:25.943000+00:00"),
        ("/Date(0+0000)/", "1970-01-01T00:00:00+00:00"),
    ],
)
def test_the_sdk_reads_xeros_date_forms(text, expected):
    # What the hook relies on when it reads dates back: the SDK's own deserializer.
    parsed = deserialize("datetime[ms-format]", text, None)
    assert parsed.astimezone(timezone.utc).isoformat() == expected
