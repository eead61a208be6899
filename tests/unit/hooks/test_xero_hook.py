"""XeroHook's own logic: where the refresh token is kept, when it is re-read, how failures are sorted."""

from __future__ import annotations

import json

import pytest
from xero_python.exceptions import HTTPStatusException

from airflow_provider_stripe_sync.exceptions import DestinationError
from airflow_provider_stripe_sync.hooks import xero as xero_hooks
from airflow_provider_stripe_sync.hooks.xero import (
    MemoryTokenStore,
    XeroAuthError,
    XeroHook,
    XeroRequestError,
    token_key,
)

KEY = token_key("xero_default")


def connection(monkeypatch, **extra):
    fields = {"refresh_token": "rt-from-connection", **extra}
    monkeypatch.setenv(
        "AIRFLOW_CONN_XERO_DEFAULT",
        json.dumps(
            {
                "conn_type": "xero",
                "login": "client-id",
                "password": "client-secret",
                "host": "http://127.0.0.1:9",
                "extra": fields,
            }
        ),
    )


class FakeResponse:
    def __init__(self, status, body, headers=None):
        self.status = status
        self.reason = "reason"
        self.data = json.dumps(body).encode()
        self.headers = headers or {}

    def getheader(self, name, default=None):
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower(), default)

    def getheaders(self):
        return self.headers


def http_error(status, body=None, headers=None):
    return HTTPStatusException(http_resp=FakeResponse(status, body or {}, headers))


def hook_with_token_server(monkeypatch, answers, store=None):
    """A hook whose token requests answer from ``answers`` (refresh token -> token or error)."""
    hook = XeroHook(token_store=store if store is not None else MemoryTokenStore())
    sent = []

    def request_token(refresh_token):
        sent.append(refresh_token)
        answer = answers[refresh_token]
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(hook, "_request_token", request_token)
    return hook, sent


def token(refresh):
    return {"access_token": f"at-{refresh}", "refresh_token": refresh, "expires_in": 1800}


def test_the_first_refresh_uses_the_connections_token_and_saves_the_new_one(monkeypatch):
    connection(monkeypatch)
    store = MemoryTokenStore()
    hook, sent = hook_with_token_server(monkeypatch, {"rt-from-connection": token("rt-2")}, store)

    hook.renew_access_token()

    assert sent == ["rt-from-connection"]
    assert json.loads(store.get(KEY))["refresh_token"] == "rt-2"
    assert hook._access_token == "at-rt-2"


def test_later_refreshes_use_the_stored_token(monkeypatch):
    connection(monkeypatch)
    store = MemoryTokenStore()
    first, _ = hook_with_token_server(monkeypatch, {"rt-from-connection": token("rt-2")}, store)
    first.renew_access_token()
    second, sent = hook_with_token_server(monkeypatch, {"rt-2": token("rt-3")}, store)

    second.renew_access_token()

    assert sent == ["rt-2"]
    assert json.loads(store.get(KEY))["refresh_token"] == "rt-3"


def test_a_new_token_in_the_connection_reseeds_the_store(monkeypatch):
    connection(monkeypatch)
    store = MemoryTokenStore()
    first, _ = hook_with_token_server(monkeypatch, {"rt-from-connection": token("rt-2")}, store)
    first.renew_access_token()
    connection(monkeypatch, refresh_token="rt-reauthorised")
    second, sent = hook_with_token_server(monkeypatch, {"rt-reauthorised": token("rt-9")}, store)

    second.renew_access_token()

    assert sent == ["rt-reauthorised"]


def test_invalid_grant_rereads_the_store_once_and_uses_a_newer_token(monkeypatch):
    connection(monkeypatch)
    store = MemoryTokenStore()
    hook, sent = hook_with_token_server(
        monkeypatch, {"rt-from-connection": xero_hooks._InvalidGrant(), "rt-rotated": token("rt-4")}, store
    )
    reads = iter(["rt-from-connection", "rt-rotated"])
    monkeypatch.setattr(hook, "_stored_refresh_token", lambda: next(reads))

    hook.renew_access_token()

    assert sent == ["rt-from-connection", "rt-rotated"]
    assert json.loads(store.get(KEY))["refresh_token"] == "rt-4"


def test_invalid_grant_with_nothing_newer_asks_to_reauthorise(monkeypatch):
    connection(monkeypatch)
    hook, sent = hook_with_token_server(monkeypatch, {"rt-from-connection": xero_hooks._InvalidGrant()})

    with pytest.raises(XeroAuthError, match="Re-authorise the app"):
        hook.renew_access_token()
    assert sent == ["rt-from-connection"]


def test_client_credentials_store_nothing(monkeypatch):
    connection(monkeypatch, grant_type="client_credentials", refresh_token="")
    store = MemoryTokenStore()
    hook, sent = hook_with_token_server(
        monkeypatch, {None: {"access_token": "at-cc", "expires_in": 1800}}, store
    )

    hook.renew_access_token()

    assert sent == [None]
    assert store.values == {}


def test_an_app_without_a_refresh_token_is_a_clear_error(monkeypatch):
    connection(monkeypatch, refresh_token="")
    with pytest.raises(ValueError, match="has no refresh_token"):
        XeroHook(token_store=MemoryTokenStore())._settings


def test_the_variable_name_is_masked_by_airflow():
    assert "token" in token_key("any")


def ready_hook(monkeypatch):
    connection(monkeypatch, tenant_id="tenant-1")
    hook = XeroHook(token_store=MemoryTokenStore())
    hook._access_token, hook._expires_at = "at", float("inf")
    waits = []
    hook.sleep = waits.append
    return hook, waits


def failing(*errors, result="ok"):
    remaining = list(errors)

    def request():
        if remaining:
            raise remaining.pop(0)
        return result

    return request


def test_a_minute_limit_waits_retry_after(monkeypatch):
    hook, waits = ready_hook(monkeypatch)
    err = http_error(429, {}, {"X-Rate-Limit-Problem": "minute", "Retry-After": "7"})
    assert hook._call("read accounts", failing(err)) == "ok"
    assert len(waits) == 1 and 7 <= waits[0] <= 7.5


def test_a_day_limit_fails_at_once(monkeypatch):
    hook, waits = ready_hook(monkeypatch)
    err = http_error(429, {}, {"X-Rate-Limit-Problem": "day", "Retry-After": "40000"})
    with pytest.raises(DestinationError, match="daily limit"):
        hook._call("read accounts", failing(err))
    assert waits == []


def test_a_401_renews_the_token_once(monkeypatch):
    hook, _ = ready_hook(monkeypatch)
    renewals = []
    monkeypatch.setattr(
        hook, "renew_access_token", lambda: (renewals.append(1), setattr(hook, "_access_token", "new"))
    )
    assert hook._call("read accounts", failing(http_error(401))) == "ok"
    assert renewals == [1]


def test_a_403_is_not_retried_and_names_the_tenant(monkeypatch):
    hook, waits = ready_hook(monkeypatch)
    with pytest.raises(XeroRequestError, match="tenant id is missing or stale") as raised:
        hook._call("read accounts", failing(http_error(403, {"Detail": "AuthenticationUnsuccessful"})))
    assert raised.value.status == 403
    assert waits == []


def test_validation_messages_are_in_the_error(monkeypatch):
    hook, _ = ready_hook(monkeypatch)
    body = {
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "Bad code"}]}],
    }
    with pytest.raises(XeroRequestError, match="HTTP 400: Bad code"):
        hook._call("create", failing(http_error(400, body)))


def test_5xx_back_off_then_give_up(monkeypatch):
    hook, waits = ready_hook(monkeypatch)
    errors = [http_error(503) for _ in range(hook.max_retries + 1)]
    with pytest.raises(XeroRequestError, match="after 5 attempts"):
        hook._call("read accounts", failing(*errors))
    assert len(waits) == hook.max_retries


def test_each_hook_has_its_own_sdk_token(monkeypatch):
    # xero-python's Configuration() returns copies of the first one built, whatever it is given.
    from xero_python.api_client import Configuration

    Configuration(oauth2_token=None)
    connection(monkeypatch)
    first, second = XeroHook(token_store=MemoryTokenStore()), XeroHook(token_store=MemoryTokenStore())
    tokens = [first.api_client.configuration.oauth2_token, second.api_client.configuration.oauth2_token]
    assert None not in tokens
    assert tokens[0] is not tokens[1]
    assert tokens[0].client_id == "client-id"
