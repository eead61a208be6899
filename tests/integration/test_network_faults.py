"""
Each hook through each network fault of the sandbox, with the real SDKs: the request is retried and
a write whose answer was late, cut short, reset or lost lands once.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from airflow_provider_stripe_sync.hooks import xero as xero_hooks
from airflow_provider_stripe_sync.hooks.hubspot import HubSpotHook
from airflow_provider_stripe_sync.hooks.mailchimp import MailchimpHook
from airflow_provider_stripe_sync.hooks.stripe import StripeHook
from airflow_provider_stripe_sync.hooks.transport import UnreadableResponseError, check_json_body
from airflow_provider_stripe_sync.hooks.xero import MemoryTokenStore, XeroHook
from tests.integration.test_mailchimp_operator import mailchimp_admin
from tests.integration.test_xero_reconciliation import xero_connection, xero_state

pytestmark = pytest.mark.integration

KINDS = ["slow", "truncated", "reset", "lost_response"]
LIST_ID = "aud0001"
#: Client timeouts of these tests, below the slow fault's delay.
TIMEOUT = 0.5
SLOW = 1.5


def add_fault(sandbox, path, kind, *, api, method):
    sandbox.add_fault(path, api=api, method=method, kind=kind, delay=SLOW if kind == "slow" else 0)


def attempts(sandbox, path):
    return [(r["status"], r.get("fault")) for r in sandbox.requests() if r["path"].startswith(path)]


@pytest.fixture
def destinations(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAILCHIMP_DEFAULT",
        json.dumps(
            {
                "conn_type": "mailchimp",
                "password": "0123456789abcdef0123456789abcdef-us21",
                "host": sandbox.url,
                "extra": {"list_id": LIST_ID},
            }
        ),
    )
    mailchimp_admin(sandbox, "POST", "/seed", {"lists": [{"id": LIST_ID, "name": "Customers"}]})
    store = MemoryTokenStore()
    monkeypatch.setattr(xero_hooks, "VariableTokenStore", lambda: store)
    monkeypatch.setenv("AIRFLOW_CONN_XERO_DEFAULT", xero_connection(sandbox.url))
    sandbox.store = store
    return sandbox


@pytest.mark.parametrize("kind", KINDS)
def test_stripe_create_is_retried_with_its_idempotency_key_and_lands_once(sandbox, monkeypatch, kind):
    monkeypatch.setattr(StripeHook, "request_timeout", TIMEOUT)
    hook = StripeHook()
    hook.retry_policy.sleep = lambda seconds: None
    add_fault(sandbox, "/v1/customers", kind, api="stripe", method="POST")
    created = hook.call(
        lambda options: hook.client.v1.customers.create(
            params={"email": "once@example.com"}, options=options
        ),
        description="create customer",
        idempotency_key="signup-once",
    )
    stored = sandbox.state(resources=["customers"])["stripe"]["customers"]
    assert [(c["id"], c["email"]) for c in stored] == [(created["id"], "once@example.com")]
    assert attempts(sandbox, "/v1/customers") == [(200, kind), (200, None)]
    keys = [r["headers"]["idempotency-key"] for r in sandbox.requests()]
    assert keys == ["signup-once", "signup-once"]


@pytest.mark.parametrize("kind", KINDS)
def test_stripe_list_is_retried(sandbox, monkeypatch, kind):
    monkeypatch.setattr(StripeHook, "request_timeout", TIMEOUT)
    sandbox.seed(stripe={"customers": [{"email": "a@example.com", "created": 1793232000}]})
    hook = StripeHook()
    hook.retry_policy.sleep = lambda seconds: None
    add_fault(sandbox, "/v1/customers", kind, api="stripe", method="GET")
    listed = hook.call(lambda options: hook.client.v1.customers.list(options=options), description="list")
    assert [c["email"] for c in listed["data"]] == ["a@example.com"]
    assert attempts(sandbox, "/v1/customers") == [(200, kind), (200, None)]


@pytest.mark.parametrize("kind", KINDS)
def test_hubspot_upsert_is_retried_and_lands_once(sandbox, kind):
    hook = HubSpotHook(request_timeout=TIMEOUT)
    hook.sleep = lambda seconds: None
    path = "/crm/v3/objects/contacts/batch/upsert"
    add_fault(sandbox, path, kind, api="hubspot", method="POST")
    results = hook.upsert_contacts([{"id": "once@example.com", "properties": {"firstname": "Once"}}])
    contacts = sandbox.state()["hubspot"]["contacts"]
    assert [(c["id"], c["properties"]["email"]) for c in contacts] == [(results[0]["id"], "once@example.com")]
    assert attempts(sandbox, path) == [(200, kind), (200, None)]


@pytest.mark.parametrize("kind", KINDS)
def test_mailchimp_put_is_retried_and_lands_once(destinations, kind):
    hook = MailchimpHook(request_timeout=TIMEOUT)
    hook.sleep = lambda seconds: None
    digest = hashlib.md5(b"once@example.com").hexdigest()
    path = f"/3.0/lists/{LIST_ID}/members/{digest}"
    add_fault(destinations, path, kind, api="mailchimp", method="PUT")
    member = hook.set_member(
        LIST_ID, digest, {"email_address": "once@example.com", "status_if_new": "transactional"}
    )
    assert (member["id"], member["email_address"]) == (digest, "once@example.com")
    audience = next(a for a in mailchimp_admin(destinations, "GET", "/state")["lists"] if a["id"] == LIST_ID)
    assert [m["email_address"] for m in audience["members"]] == ["once@example.com"]
    assert attempts(destinations, path) == [(200, kind), (200, None)]


@pytest.mark.parametrize("kind", KINDS)
def test_xero_create_is_retried_with_its_idempotency_key_and_lands_once(destinations, kind):
    hook = XeroHook(request_timeout=TIMEOUT)
    hook.sleep = lambda seconds: None
    hook.accounts()
    path = "/api.xro/2.0/Contacts"
    add_fault(destinations, path, kind, api="xero", method="PUT")
    contact_id = hook.ensure_contact("Stripe")
    contacts = [c for c in xero_state(destinations)["contacts"] if c["Name"] == "Stripe"]
    assert [c["ContactID"] for c in contacts] == [contact_id]
    writes = [r for r in destinations.requests() if r["path"] == path and r["method"] == "PUT"]
    assert [(r["status"], r.get("fault")) for r in writes] == [(200, kind), (200, None)]
    assert len({r["headers"]["idempotency-key"] for r in writes}) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_xero_token_refresh_is_retried_and_a_rotated_token_is_not_lost(destinations, kind):
    hook = XeroHook(request_timeout=TIMEOUT)
    hook.sleep = lambda seconds: None
    add_fault(destinations, "/connect/token", kind, api="xero", method="POST")
    # The refresh whose answer is spoilt rotates the token; the retry sends the old one again,
    # which still works for its grace period, and the token it gets back is the one saved.
    assert len(hook.accounts()) > 0
    assert attempts(destinations, "/connect/token") == [(200, kind), (200, None)]
    stored = json.loads(destinations.store.get(xero_hooks.token_key("xero_default")))["refresh_token"]
    assert XeroHook(request_timeout=TIMEOUT)._stored_refresh_token() == stored
    assert len(XeroHook(request_timeout=TIMEOUT).accounts()) > 0


def test_xero_token_refresh_gives_up_naming_the_cause(destinations):
    hook = XeroHook(request_timeout=TIMEOUT, max_retries=2)
    hook.sleep = lambda seconds: None
    destinations.add_fault("/connect/token", api="xero", kind="slow", delay=SLOW, times=3)
    with pytest.raises(
        xero_hooks.XeroRequestError,
        match=r"token request for connection 'xero_default' "
        r"failed after 3 attempts: no answer \(.*timed out",
    ):
        hook.renew_access_token()


@pytest.mark.parametrize(
    "status, content_type, body, unreadable",
    [
        (200, "application/json", b'{"id": "cus_1"', True),
        (201, "application/json; charset=utf-8", b"[1, 2", True),
        (200, "application/problem+json", b'{"a": 1}', False),
        (200, "application/json", b"", False),
        (204, "application/json", None, False),
        (200, "text/html", b"<html", False),
        (500, "application/json", b"{", False),
    ],
)
def test_check_json_body(status, content_type, body, unreadable):
    if unreadable:
        with pytest.raises(UnreadableResponseError, match=f"HTTP {status} answer of {len(body)} bytes"):
            check_json_body(status, content_type, body)
    else:
        check_json_body(status, content_type, body)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_xero_token_refresh_retries_a_rate_limit_or_an_outage(destinations, status):
    hook = XeroHook(request_timeout=TIMEOUT)
    hook.sleep = lambda seconds: None
    destinations.add_fault("/connect/token", status, api="xero", method="POST", headers={"Retry-After": "0"})
    hook.renew_access_token()
    assert attempts(destinations, "/connect/token") == [(status, "status"), (200, None)]
