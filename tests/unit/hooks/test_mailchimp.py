from __future__ import annotations

import json

import pytest
from mailchimp_marketing.api_client import ApiClientError

from airflow_provider_stripe_sync.hooks.mailchimp import (
    COMPLIANCE_STATE,
    FAKE_EMAIL,
    INVALID_RESOURCE,
    MEMBER_EXISTS,
    PERMANENTLY_DELETED,
    MailchimpHook,
    MailchimpRecordError,
    MailchimpRequestError,
    classify_problem,
)

KEY = "0123456789abcdef0123456789abcdef-us21"


def problem(status, title, detail):
    return json.dumps(
        {
            "type": "https://mailchimp.com/developer/",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": "i-1",
        }
    )


def hook_for(monkeypatch, **fields):
    monkeypatch.setenv("AIRFLOW_CONN_MAILCHIMP_DEFAULT", json.dumps({"conn_type": "mailchimp", **fields}))
    hook = MailchimpHook(max_retries=2)
    hook.sleep = lambda seconds: None
    return hook


@pytest.mark.parametrize(
    ("status", "title", "detail", "expected"),
    [
        (400, "Member Exists", "a@b.co is already a list member.", MEMBER_EXISTS),
        (
            400,
            "Invalid Resource",
            "x@test.com looks fake or invalid, please enter a real email address.",
            FAKE_EMAIL,
        ),
        (400, "Member In Compliance State", "a@b.co is in a compliance state.", COMPLIANCE_STATE),
        (400, "Forgotten Email Not Subscribed", "a@b.co was permanently deleted.", PERMANENTLY_DELETED),
        (400, "Invalid Resource", "Your merge fields were invalid.", INVALID_RESOURCE),
        (404, "Resource Not Found", "The requested resource could not be found.", None),
        (429, "Too Many Requests", "Too many connections.", None),
    ],
)
def test_classify_problem(status, title, detail, expected):
    assert classify_problem(status, {"title": title, "detail": detail}) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"password": KEY}, ("api_key", "us21", "https://us21.api.mailchimp.com", None)),
        (
            {"password": KEY, "extra": {"server": "us6", "list_id": "L1"}},
            ("api_key", "us6", "https://us6.api.mailchimp.com", "L1"),
        ),
        (
            {
                "password": "oauth-token",
                "host": "http://127.0.0.1:9000",
                "extra": {"auth": "oauth", "server": "us3"},
            },
            ("oauth", "us3", "http://127.0.0.1:9000", None),
        ),
    ],
)
def test_settings_from_the_connection(monkeypatch, fields, expected):
    settings = hook_for(monkeypatch, **fields)._settings
    assert (settings["auth"], settings["server"], settings["base_url"], settings["list_id"]) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "keywithoutdc"}, "no data centre"),
        ({"password": "token", "extra": {"auth": "oauth"}}, "no data centre"),
        ({"extra": {"server": "us1"}}, "has no credential"),
        ({"password": KEY, "extra": {"auth": "basic"}}, "must be 'api_key' or 'oauth'"),
        ({"password": KEY, "extra": {"apikey": "x"}}, "unknown extra field"),
        ({"password": KEY, "host": "http://10.0.0.5:8080"}, "plain http"),
    ],
)
def test_bad_connections_are_refused(monkeypatch, fields, message):
    with pytest.raises(ValueError, match=message):
        hook_for(monkeypatch, **fields)._settings


def test_client_points_at_the_host_with_the_key(monkeypatch):
    client = hook_for(monkeypatch, password=KEY, host="http://127.0.0.1:9000").client
    assert client.api_client.host == "http://127.0.0.1:9000/3.0"
    assert (client.api_client.api_key, client.api_client.server) == (KEY, "us21")


def test_transient_errors_retry_then_fail_with_the_problem(monkeypatch):
    hook = hook_for(monkeypatch, password=KEY)
    calls = []

    def failing():
        calls.append(1)
        raise ApiClientError(problem(503, "Service Unavailable", "try later"), 503)

    with pytest.raises(MailchimpRequestError) as caught:
        hook._call("ping", hook._send(failing))
    assert len(calls) == 3
    assert (
        str(caught.value)
        == "Mailchimp ping failed after 3 attempts: HTTP 503 Service Unavailable: try later (instance i-1)"
    )
    assert (caught.value.status, caught.value.attempts) == (503, 3)


def test_record_errors_are_not_retried(monkeypatch):
    hook = hook_for(monkeypatch, password=KEY)
    calls = []

    def refused():
        calls.append(1)
        raise ApiClientError(problem(400, "Member Exists", "a@b.co is already a list member."), 400)

    with pytest.raises(MailchimpRecordError) as caught:
        hook._call("upsert member", hook._send(refused))
    assert len(calls) == 1
    assert (caught.value.reason, caught.value.title) == (MEMBER_EXISTS, "Member Exists")


def test_connection_errors_are_transient(monkeypatch):
    hook = hook_for(monkeypatch, password=KEY)
    answers = [ApiClientError(ConnectionError("refused")), {"health_status": "Everything's Chimpy!"}]

    def flaky():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert hook._call("ping", hook._send(flaky)) == {"health_status": "Everything's Chimpy!"}


def test_test_connection_never_raises(monkeypatch):
    hook = hook_for(monkeypatch, password="nodc")
    ok, message = hook.test_connection()
    assert ok is False
    assert "no data centre" in message


def test_batch_status_is_polled_at_doubling_intervals(monkeypatch):
    from types import SimpleNamespace

    hook = hook_for(monkeypatch, password=KEY)
    sleeps = []
    hook.sleep = sleeps.append
    answers = [{"id": "b1", "status": "pending"}, {"id": "b1", "status": "started"}]
    answers.append(
        {"id": "b1", "status": "finished", "response_body_url": "https://archive.example/b1.tar.gz"}
    )
    sent = []
    batches = SimpleNamespace(start=lambda body: sent.append(body) or {"id": "b1", "status": "pending"})
    batches.status = lambda batch_id: answers.pop(0)
    hook.__dict__["client"] = SimpleNamespace(batches=batches)
    monkeypatch.setattr(hook, "_read_archive", lambda url: {"op-1": {"status_code": 200, "response": {}}})

    results = hook.run_batch(
        [{"method": "PUT", "path": "/lists/L/members/h", "operation_id": "op-1", "body": {"a": 1}}]
    )

    assert results == {"op-1": {"status_code": 200, "response": {}}}
    assert sleeps == [2.0, 4.0, 8.0]
    assert sent == [
        {
            "operations": [
                {"method": "PUT", "path": "/lists/L/members/h", "operation_id": "op-1", "body": '{"a": 1}'}
            ]
        }
    ]
