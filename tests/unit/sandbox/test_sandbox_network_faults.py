"""The sandbox's network faults, seen on the wire: slow, truncated, reset and lost answers to applied writes."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse

import pytest

AUTH = {"Authorization": "Bearer sk_test_sandbox", "Content-Type": "application/x-www-form-urlencoded"}


def connect(sbx, timeout=10.0) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(sbx.url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def create_customer(conn, email):
    conn.request("POST", "/v1/customers", body=urllib.parse.urlencode({"email": email}), headers=AUTH)
    return conn.getresponse()


def customer_emails(sbx):
    return sorted(c["email"] for c in sbx.state(resources=["customers"])["stripe"]["customers"])


def test_truncated_is_a_complete_http_answer_whose_json_is_cut_in_half(sbx):
    sbx.add_fault("/v1/customers", api="stripe", method="POST", kind="truncated")
    response = create_customer(connect(sbx), "cut@example.com")
    body = response.read()
    assert response.status == 200
    assert int(response.getheader("Content-Length")) == len(body)
    whole = sbx.requests()[-1]["body"]
    assert body == json.dumps(whole, separators=(",", ":")).encode()[: len(body)]
    assert len(body) == len(json.dumps(whole, separators=(",", ":"))) // 2
    with pytest.raises(ValueError):
        json.loads(body)
    assert customer_emails(sbx) == ["cut@example.com"]


def test_reset_sends_the_headers_and_half_the_body_then_resets(sbx):
    sbx.add_fault("/v1/customers", kind="reset")
    response = create_customer(connect(sbx), "reset@example.com")
    assert response.status == 200
    with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):
        response.read()
    assert customer_emails(sbx) == ["reset@example.com"]


def test_lost_response_applies_the_write_and_answers_nothing(sbx):
    sbx.add_fault("/v1/customers", kind="lost_response")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        create_customer(connect(sbx), "lost@example.com")
    assert customer_emails(sbx) == ["lost@example.com"]
    log = sbx.requests()
    assert [(r["method"], r["path"], r["status"], r["fault"]) for r in log] == [
        ("POST", "/v1/customers", 200, "lost_response")
    ]


def test_slow_answers_after_the_delay_so_a_shorter_client_timeout_fires(sbx):
    sbx.add_fault("/v1/customers", kind="slow", delay=1.5)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        create_customer(connect(sbx, timeout=0.3), "slow@example.com")
    assert time.monotonic() - started < 1.4
    assert customer_emails(sbx) == ["slow@example.com"]
    # The next request is answered at once, and a patient client gets the slow answer whole.
    assert create_customer(connect(sbx), "next@example.com").status == 200
    sbx.add_fault("/v1/customers", kind="slow", delay=0.4)
    response = create_customer(connect(sbx), "patient@example.com")
    assert (response.status, json.loads(response.read())["email"]) == (200, "patient@example.com")


def test_slow_without_delay_waits_the_default(sbx):
    assert sbx.add_fault("/v1/customers", kind="slow")[0]["delay"] == 5.0


def test_a_fault_hits_only_its_api_and_route_then_is_used_up(sbx):
    sbx.add_fault("/crm/v3/objects/contacts", api="hubspot", kind="lost_response")
    sbx.add_fault("/v1/charges", kind="reset")
    conn = connect(sbx)
    assert create_customer(conn, "a@example.com").read()
    assert [f["path"] for f in sbx.faults()] == ["/crm/v3/objects/contacts", "/v1/charges"]
    conn = connect(sbx)
    conn.request(
        "POST",
        "/crm/v3/objects/contacts/batch/upsert",
        body=json.dumps({"inputs": [{"id": "h@example.com", "idProperty": "email", "properties": {}}]}),
        headers={"Authorization": "Bearer pat-sandbox", "Content-Type": "application/json"},
    )
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        conn.getresponse()
    assert [f["path"] for f in sbx.faults()] == ["/v1/charges"]
    assert [c["properties"]["email"] for c in sbx.state()["hubspot"]["contacts"]] == ["h@example.com"]


def test_a_status_fault_is_logged_with_its_kind(sbx):
    sbx.add_fault("/v1/customers", 500)
    response = create_customer(connect(sbx), "x@example.com")
    assert response.status == 500
    assert sbx.requests()[-1]["fault"] == "status"
    assert customer_emails(sbx) == []


def test_an_unknown_kind_is_refused_naming_the_valid_ones(sbx):
    with pytest.raises(
        RuntimeError, match="kind must be one of lost_response, reset, slow, status, truncated"
    ):
        sbx.add_fault("/v1/customers", kind="flaky")


def test_after_lets_matching_requests_through_before_the_fault_starts(sbx):
    sbx.add_fault("/v1/customers", 503, method="POST", after=2, times=1)
    statuses = [create_customer(connect(sbx), f"n{n}@example.com").status for n in range(4)]
    assert statuses == [200, 200, 503, 200]
    assert sbx.faults() == []
