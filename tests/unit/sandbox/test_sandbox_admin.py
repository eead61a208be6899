"""Admin routes, the demo seed, the contract checks over the request log, the CLI and encoding."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from sandbox_helpers import B, make_client

from airflow_provider_stripe_sync.sandbox.encoding import decode_qs


def test_bracket_decoding():
    assert decode_qs(
        "created[gte]=1&expand[0]=data.customer&items[0][price]=p&items[1][price]=q&metadata[k]=v"
    ) == {
        "created": {"gte": "1"},
        "expand": ["data.customer"],
        "items": [{"price": "p"}, {"price": "q"}],
        "metadata": {"k": "v"},
    }
    assert decode_qs("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}


def test_clock_reset_and_request_log_redaction(sbx, client):
    assert sbx.clock() == B
    assert sbx.advance(30) == B + 30
    customer = client.v1.customers.create(
        params={"email": "a@example.com", "metadata": {"k": "v"}},
        options={"idempotency_key": "idem-1", "stripe_account": "acct_X"},
    )
    assert customer.created == B + 30
    [entry] = sbx.requests()
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v1/customers", 200)
    assert entry["form"] == {"email": "a@example.com", "metadata": {"k": "v"}}
    assert entry["headers"]["authorization"] == "Bearer sk_test_…"
    assert entry["headers"]["idempotency-key"] == "idem-1"
    assert entry["headers"]["stripe-account"] == "acct_X"
    assert entry["headers"]["stripe-version"]
    assert entry["body"]["id"] == customer.id
    sbx.reset()
    assert sbx.requests() == [] and sbx.state(account="acct_X")["stripe"]["customers"] == []
    assert abs(sbx.clock() - time.time()) < 5


def test_seed_with_explicit_ids_and_times_makes_derived_objects(sbx):
    made = sbx.seed(
        stripe={
            "customers": [{"id": "cus_x", "email": "x@example.com", "created": B - 100}],
            "charges": [
                {"id": "ch_x", "amount": 2000, "currency": "eur", "customer": "cus_x", "created": B - 50}
            ],
            "refunds": [{"charge": "ch_x", "created": B - 10}],
        }
    )
    assert made["stripe"]["charges"][0]["id"] == "ch_x"
    state = sbx.state()["stripe"]
    assert [(t["type"], t["amount"], t["fee"], t["created"]) for t in state["balance_transactions"]] == [
        ("refund", -2000, 0, B - 10),
        ("charge", 2000, 88, B - 50),
    ]
    assert [(e["type"], e["created"]) for e in state["events"]] == [
        ("charge.refunded", B - 10),
        ("refund.created", B - 10),
        ("charge.succeeded", B - 50),
        ("customer.created", B - 100),
    ]


def test_demo_seed_is_deterministic_and_varied(sbx, client):
    first = sbx.seed(scenario="demo", seed=7, end=B, days=30, customers=2000)
    newest = client.v1.customers.list(params={"limit": 3}).data
    state = sbx.state(resources=["customers", "charges", "subscriptions"])["stripe"]
    sbx.reset()
    again = sbx.seed(scenario="demo", seed=7, end=B, days=30, customers=2000)
    assert again == first
    assert [c.id for c in client.v1.customers.list(params={"limit": 3}).data] == [c.id for c in newest]
    counts = first["counts"]
    assert counts["customers"] == 2000 and counts["charges"] > 2000 and counts["subscriptions"] > 1000
    customers = state["customers"]
    emails = [c["email"] for c in customers if c["email"]]
    assert len(emails) < 2000
    assert len({e.lower() for e in emails}) < len(set(emails))
    assert all(B - 30 * 86400 <= c["created"] < B for c in customers)
    jpy = [c for c in state["charges"] if c["currency"] == "jpy"]
    assert jpy and all(c["amount"] >= 500 for c in jpy)
    assert {s["status"] for s in state["subscriptions"]} == {"active", "trialing", "canceled"}
    assert any(c["amount_refunded"] for c in state["charges"])


def test_logged_requests_pass_the_contract_and_keep_fixture_keys(sbx, client, specs):
    sbx.seed(scenario="demo", seed=3, end=B, days=5, customers=50)
    sbx.clear_requests()
    for name in (
        "customers",
        "products",
        "prices",
        "charges",
        "refunds",
        "subscriptions",
        "balance_transactions",
        "events",
    ):
        getattr(client.v1, name).list(params={"limit": 100})
    client.v1.subscriptions.list(
        params={"status": "all", "expand": ["data.customer", "data.items.data.price"]}
    )
    client.v1.charges.list(params={"expand": ["data.balance_transaction", "data.customer"]})
    customer = client.v1.customers.create(params={"email": "n@example.com"})
    client.v1.charges.create(params={"amount": 700, "currency": "usd", "customer": customer.id})
    client.v1.balance.retrieve()
    client.v1.accounts.retrieve_current()
    log = sbx.requests()
    assert specs.check_logged_requests(log) == []
    state = sbx.state()["stripe"]
    for resource, name in (
        ("customers", "customer"),
        ("charges", "charge"),
        ("subscriptions", "subscription"),
        ("balance_transactions", "balance_transaction"),
        ("events", "event"),
        ("refunds", "refund"),
        ("prices", "price"),
        ("products", "product"),
    ):
        for obj in state[resource][:20]:
            assert specs.check_fixture_keys(name, obj) == []
    assert specs.check_stripe_request("GET", "/v1/customers", {"emails": "x"}) == [
        "GET /v1/customers: unknown parameter emails"
    ]


def test_cli_prints_its_url_and_serves(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_stripe_sync.sandbox.cli", "--port", "0", "--clock", str(B)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url + "/_sandbox/clock") as response:
                    assert b'"now":%d' % B in response.read()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert make_client(url).v1.customers.list().data == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
