from __future__ import annotations

import json

import pytest
import urllib3.exceptions
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.properties import ApiException as PropertiesApiException

from airflow_provider_stripe_sync.exceptions import DestinationError
from airflow_provider_stripe_sync.hooks.hubspot import (
    DAILY_LIMIT,
    HUBSPOT_CONNECTION_FORM,
    HUBSPOT_EXTRAS,
    PERMANENT,
    RATE_LIMITED,
    TRANSIENT,
    HubSpotHook,
    HubSpotRecordError,
    HubSpotRequestError,
    classify_error,
)


def api_error(status, body=None, headers=None, cls=ContactsApiException):
    """An SDK exception as the SDK builds it from an HTTP answer."""
    err = cls(status=status, reason="reason")
    err.body = json.dumps(body).encode() if isinstance(body, dict) else body
    err.headers = headers or {}
    return err


def rate_limited(policy, headers=None):
    return api_error(
        429,
        {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "c0ffee00-0000-4000-8000-000000000429",
            "policyName": policy,
            "groupName": "publicapi:private-app:1234",
        },
        headers,
    )


VALIDATION = {
    "status": "error",
    "message": 'Property values were not valid: [{"isValid":false,"message":"Email address not-an-email is invalid"}]',
    "correlationId": "aaaa-bbbb",
    "category": "VALIDATION_ERROR",
}


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (rate_limited("TEN_SECONDLY_ROLLING"), RATE_LIMITED),
        (rate_limited("SECONDLY"), RATE_LIMITED),
        (rate_limited("DAILY"), DAILY_LIMIT),
        (api_error(429, None, {"x-hubspot-ratelimit-daily-remaining": "0"}), DAILY_LIMIT),
        (api_error(429, None, {"X-HubSpot-RateLimit-Daily-Remaining": "12"}), RATE_LIMITED),
        (api_error(429, b"not json"), RATE_LIMITED),
        (api_error(500), TRANSIENT),
        (api_error(502, cls=PropertiesApiException), TRANSIENT),
        (api_error(503), TRANSIENT),
        (urllib3.exceptions.MaxRetryError(None, "/crm", reason="refused"), TRANSIENT),
        (urllib3.exceptions.ProtocolError("Connection aborted."), TRANSIENT),
        (urllib3.exceptions.ReadTimeoutError(None, "/crm", "timed out"), TRANSIENT),
        (api_error(400, VALIDATION), PERMANENT),
        (api_error(401), PERMANENT),
        (api_error(403), PERMANENT),
        (api_error(404), PERMANENT),
        (api_error(409, cls=PropertiesApiException), PERMANENT),
        (api_error(0), PERMANENT),
    ],
)
def test_classify_error(err, expected):
    assert classify_error(err) == expected


class Requests:
    """A request that fails with the given errors in turn, then answers ``"ok"``."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.fixture
def hook():
    hook = HubSpotHook(max_retries=3, max_rate_limit_retries=4, max_wait=10.0)
    hook.waits = []
    hook.sleep = hook.waits.append
    return hook


def test_ten_secondly_429s_are_waited_out(hook):
    request = Requests(rate_limited("TEN_SECONDLY_ROLLING"), rate_limited("TEN_SECONDLY_ROLLING"))
    assert hook._call("upsert 2 contacts", request) == "ok"
    assert request.calls == 3
    assert len(hook.waits) == 2
    assert all(1.0 <= wait <= 1.25 for wait in hook.waits)


def test_retry_after_sets_the_wait_and_is_capped(hook):
    request = Requests(
        rate_limited("SECONDLY", {"Retry-After": "3"}), rate_limited("SECONDLY", {"retry-after": "3600"})
    )
    assert hook._call("read", request) == "ok"
    assert 3.0 <= hook.waits[0] <= 3.75
    assert hook.waits[1] == 10.0


def test_rate_limit_retries_are_bounded(hook):
    request = Requests(*[rate_limited("TEN_SECONDLY_ROLLING") for _ in range(10)])
    with pytest.raises(
        HubSpotRequestError, match=r"after 5 attempts: HTTP 429, TEN_SECONDLY_ROLLING"
    ) as info:
        hook._call("upsert 1 contacts", request)
    assert request.calls == 5
    assert info.value.status == 429
    assert info.value.correlation_id == "c0ffee00-0000-4000-8000-000000000429"


def test_daily_limit_fails_at_once(hook):
    request = Requests(rate_limited("DAILY"))
    with pytest.raises(
        DestinationError, match="HubSpot daily limit reached while trying to upsert 3 contacts"
    ):
        hook._call("upsert 3 contacts", request)
    assert request.calls == 1
    assert hook.waits == []


def test_server_errors_back_off_then_fail_naming_attempts(hook):
    request = Requests(*[api_error(503, {"message": "Service Unavailable", "correlationId": "c-503"})] * 10)
    with pytest.raises(HubSpotRequestError) as info:
        hook._call("read 1 contacts by email", request)
    assert request.calls == 4
    assert str(info.value) == (
        "HubSpot read 1 contacts by email failed after 4 attempts: "
        "HTTP 503: Service Unavailable (correlation id c-503)"
    )
    assert not isinstance(info.value, HubSpotRecordError)
    # Exponential, jittered between half and all of 0.5, 1, 2 seconds.
    assert [0.25 <= hook.waits[0] <= 0.5, 0.5 <= hook.waits[1] <= 1.0, 1.0 <= hook.waits[2] <= 2.0] == [
        True
    ] * 3


def test_connection_errors_are_retried(hook):
    request = Requests(urllib3.exceptions.ProtocolError("Connection aborted."))
    assert hook._call("read", request) == "ok"
    assert request.calls == 2


@pytest.mark.parametrize("status", [400, 409])
def test_record_errors_are_not_retried_and_carry_hubspots_message(hook, status):
    request = Requests(api_error(status, VALIDATION))
    with pytest.raises(HubSpotRecordError) as info:
        hook._call("upsert 2 contacts by email", request)
    assert request.calls == 1
    assert info.value.status == status
    assert info.value.category == "VALIDATION_ERROR"
    assert info.value.correlation_id == "aaaa-bbbb"
    assert info.value.hubspot_message == VALIDATION["message"]
    assert "correlation id aaaa-bbbb" in str(info.value)


@pytest.mark.parametrize("status", [401, 403, 404])
def test_other_client_errors_are_not_retried(hook, status):
    request = Requests(api_error(status, {"message": "nope", "category": "INVALID_AUTHENTICATION"}))
    with pytest.raises(HubSpotRequestError) as info:
        hook._call("read", request)
    assert request.calls == 1
    assert not isinstance(info.value, HubSpotRecordError)
    assert str(info.value) == f"HubSpot read failed: HTTP {status}, INVALID_AUTHENTICATION: nope"


def test_unrelated_exceptions_pass_through(hook):
    request = Requests(KeyError("bug"))
    with pytest.raises(KeyError):
        hook._call("read", request)
    assert request.calls == 1


def _conn(monkeypatch, **fields):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps({"conn_type": "hubspot", **fields}))


def test_client_points_at_the_connection_host(monkeypatch):
    _conn(monkeypatch, password="pat-test-123", host="http://127.0.0.1", port=8765)
    hook = HubSpotHook()
    configuration = hook._contacts_batch.api_client.configuration
    assert configuration.host == "http://127.0.0.1:8765"
    assert configuration.access_token == "pat-test-123"
    assert hook._properties.api_client.configuration.host == "http://127.0.0.1:8765"
    assert hook.get_conn() is hook.client


def test_default_host_is_hubspot(monkeypatch):
    _conn(monkeypatch, password="pat-test-123")
    assert HubSpotHook()._settings == ("pat-test-123", "https://api.hubapi.com")


def test_plain_http_off_loopback_is_refused_unless_allowed(monkeypatch):
    _conn(monkeypatch, password="pat-test-123", host="http://sandbox:8000")
    with pytest.raises(ValueError, match="clear text"):
        HubSpotHook()._settings
    _conn(
        monkeypatch,
        password="pat-test-123",
        host="http://sandbox:8000",
        extra={"allow_insecure_host": "true"},
    )
    assert HubSpotHook()._settings[1] == "http://sandbox:8000"


def test_connection_checks(monkeypatch):
    _conn(monkeypatch, host="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="has no access token"):
        HubSpotHook()._settings
    _conn(monkeypatch, password="pat-test-123", extra={"api_key": "x"})
    with pytest.raises(ValueError, match="unknown extra field"):
        HubSpotHook()._settings


def test_oauth_secrets_are_masked(monkeypatch):
    from airflow.sdk.log import mask_secret  # noqa: F401  (the function the hook calls)

    masked = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda value, name=None: masked.append(value))
    _conn(
        monkeypatch,
        password="pat-test-123",
        extra={"client_id": "id-1", "client_secret": "cs-1", "refresh_token": "rt-1"},
    )
    HubSpotHook()._settings
    assert {"cs-1", "pat-test-123", "rt-1"} <= {value for value in masked if isinstance(value, str)}


def test_test_connection_never_raises(monkeypatch):
    _conn(monkeypatch, password="pat-test-123", host="http://127.0.0.1:1")
    hook = HubSpotHook(max_retries=1)
    hook.sleep = lambda seconds: None
    ok, message = hook.test_connection()
    assert ok is False
    assert message.startswith("HubSpot read one contact failed after 2 attempts: no answer")
    _conn(monkeypatch)
    assert HubSpotHook().test_connection()[0] is False


def test_batches_are_limited_to_100(hook):
    with pytest.raises(ValueError, match="at most 100 inputs, got 101"):
        hook.read_contacts("email", ["a@example.com"] * 101, ["email"])


def test_connection_form_matches_airflows_schema():
    import importlib.resources

    import jsonschema

    schema = json.loads(
        importlib.resources.files("airflow").joinpath("provider.yaml.schema.json").read_text()
    )
    item = schema["properties"]["connection-types"]["items"]["properties"]
    jsonschema.validate(HUBSPOT_CONNECTION_FORM["ui-field-behaviour"], item["ui-field-behaviour"])
    jsonschema.validate(HUBSPOT_CONNECTION_FORM["conn-fields"], item["conn-fields"])
    secret_fields = {
        name
        for name, field in HUBSPOT_CONNECTION_FORM["conn-fields"].items()
        if field["schema"].get("format") == "password"
    }
    assert secret_fields == {"client_secret", "refresh_token"}
    # The form offers exactly the extras the hook accepts.
    assert set(HUBSPOT_CONNECTION_FORM["conn-fields"]) == set(HUBSPOT_EXTRAS)


def test_hook_attributes():
    assert (
        HubSpotHook.conn_name_attr,
        HubSpotHook.default_conn_name,
        HubSpotHook.conn_type,
        HubSpotHook.hook_name,
    ) == (
        "hubspot_conn_id",
        "hubspot_default",
        "hubspot",
        "HubSpot",
    )
