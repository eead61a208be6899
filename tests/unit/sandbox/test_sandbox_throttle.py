"""The sandbox's latency, its two rate limits and its bulk seeding."""

from __future__ import annotations

import pytest
import stripe
from sandbox_helpers import B

from airflow_provider_stripe_sync.sandbox.app import Sandbox
from airflow_provider_stripe_sync.sandbox.cli import parse_args
from airflow_provider_stripe_sync.sandbox.common import SandboxRequest
from airflow_provider_stripe_sync.sandbox.throttle import Throttle

RATE_LIMIT_MESSAGE = "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits."


class FakeClock:
    def __init__(self):
        self.now = 50.0

    def __call__(self):
        return self.now


def request(path="/v1/charges", key="sk_test_x", account=None, method="GET"):
    headers = {"authorization": f"Bearer {key}"}
    if account:
        headers["stripe-account"] = account
    return SandboxRequest(method=method, path=path, query={}, form={}, json=None, headers=headers)


@pytest.fixture
def sandbox():
    sandbox = Sandbox()
    sandbox.throttle = Throttle(sandbox.stripe, clock=FakeClock())
    sandbox.state.register("throttle", sandbox.throttle)
    return sandbox


def statuses(sandbox, requests):
    return [sandbox.answer("stripe", req).status for req in requests]


def test_an_endpoint_over_its_rate_gets_stripes_429_and_recovers(sandbox):
    sandbox.throttle.configure({"endpoint_rate": 3})
    assert statuses(sandbox, [request() for _ in range(4)]) == [200, 200, 200, 429]
    # Other endpoints have budgets of their own; one second later the charges budget is back.
    assert statuses(sandbox, [request("/v1/customers")]) == [200]
    sandbox.throttle._clock.now += 1
    assert statuses(sandbox, [request() for _ in range(4)]) == [200, 200, 200, 429]

    refused = sandbox.answer("stripe", request())
    assert refused.body["error"]["type"] == "invalid_request_error"
    assert refused.body["error"]["code"] == "rate_limit"
    assert refused.body["error"]["message"] == RATE_LIMIT_MESSAGE
    assert refused.headers["Request-Id"].startswith("req_")
    assert sandbox.throttle.as_dict()["throttled"] == {"account": 0, "endpoint": 3}
    assert sandbox.state.requests[-1]["status"] == 429


def test_the_account_rate_covers_every_endpoint_per_account_and_mode(sandbox):
    sandbox.throttle.configure({"account_rate": 2, "endpoint_rate": 5})
    paths = ["/v1/charges", "/v1/customers", "/v1/subscriptions"]
    assert statuses(sandbox, [request(path) for path in paths]) == [200, 200, 429]
    # A connected account, and live mode, count apart.
    assert statuses(sandbox, [request(account="acct_1Other")] * 2) == [200, 200]
    assert statuses(sandbox, [request(key="sk_live_x")]) == [200]
    # A refused request used neither budget.
    sandbox.throttle._clock.now += 0.5
    assert statuses(sandbox, [request("/v1/customers"), request()]) == [200, 429]
    assert sandbox.throttle.as_dict()["throttled"] == {"account": 2, "endpoint": 0}


def test_retrieves_of_different_objects_share_one_endpoint(sandbox):
    sandbox.throttle.configure({"endpoint_rate": 1})
    answers = statuses(sandbox, [request("/v1/charges/ch_1"), request("/v1/charges/ch_2")])
    assert answers == [404, 429]


def test_latency_holds_back_stripe_answers_only(sandbox):
    sandbox.throttle.configure({"latency": 0.3})
    assert sandbox.answer("stripe", request()).delay == 0.3
    hubspot = SandboxRequest(
        method="GET", path="/crm/v3/objects/contacts", query={}, form={}, json=None, headers={}
    )
    assert sandbox.answer("hubspot", hubspot).delay == 0.0


def test_limits_are_off_by_default_and_reset_turns_them_off(sandbox):
    assert statuses(sandbox, [request() for _ in range(200)]) == [200] * 200
    assert sandbox.throttle.as_dict()["requests"] == 200
    sandbox.throttle.configure({"latency": 1, "endpoint_rate": 1})
    sandbox.state.reset()
    assert sandbox.throttle.as_dict() == {
        "latency": 0.0,
        "account_rate": None,
        "endpoint_rate": None,
        "requests": 0,
        "throttled": {"account": 0, "endpoint": 0},
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rate": 5}, "unknown limit settings ['rate']; known: latency, account_rate, endpoint_rate"),
        ({"latency": -1}, "latency must be 0 or more, got -1"),
    ],
)
def test_bad_settings_are_refused(sandbox, settings, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        sandbox.throttle.configure(settings)


def test_admin_route_sets_and_shows_the_limits_and_the_sdk_sees_429s(sbx, client):
    assert sbx.set_limits(endpoint_rate=1, latency=0.01) == {
        "latency": 0.01,
        "account_rate": None,
        "endpoint_rate": 1.0,
        "requests": 0,
        "throttled": {"account": 0, "endpoint": 0},
    }
    client.v1.charges.list()
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.charges.list()
    assert caught.value.http_status == 429
    assert sbx.requests()[-1]["body"]["error"]["code"] == "rate_limit"
    assert sbx.limits()["throttled"] == {"account": 0, "endpoint": 1}
    assert sbx.limits()["requests"] == 2
    with pytest.raises(RuntimeError, match="400"):
        sbx.set_limits(endpoint_rate="fast")


def test_command_line_flags():
    args = parse_args(
        ["--latency", "0.3", "--account-rate", "100", "--endpoint-rate", "25", "--bulk", "charges=200000"]
        + ["--bulk", "customers=5", "--bulk-window", "100:200"]
    )
    assert (args.latency, args.account_rate, args.endpoint_rate) == (0.3, 100.0, 25.0)
    assert args.bulk == [("charges", 200000), ("customers", 5)]
    assert args.bulk_window == (100, 200)
    with pytest.raises(SystemExit):
        parse_args(["--bulk", "charges"])


@pytest.mark.parametrize("resource", ["charges", "customers", "subscriptions", "balance_transactions"])
def test_bulk_seeding_makes_distinct_listable_objects_in_the_window(sbx, client, resource):
    made = sbx.seed_bulk(resource, 250, B - 1000, B, seed=3)
    assert made == {"resource": resource, "account": None, "count": 250, "total": 250}

    listed = list(getattr(client.v1, resource).list(params={"limit": 100}).auto_paging_iter())
    ids = [obj.id for obj in listed]
    assert len(set(ids)) == 250
    assert all(B - 1000 <= obj.created < B for obj in listed)
    assert [obj.created for obj in listed] == sorted((obj.created for obj in listed), reverse=True)
    # The prototype's id was replaced everywhere: a copy's nested references name the copy.
    first = listed[0].to_dict()
    assert first["id"] in str(first) and str(first).count(first["id"]) >= 1
    if resource == "charges":
        assert first["receipt_url"].endswith(first["id"])
    # The same seed gives the same ids.
    sbx.reset()
    sbx.seed_bulk(resource, 250, B - 1000, B, seed=3)
    again = [obj.id for obj in getattr(client.v1, resource).list(params={"limit": 100}).auto_paging_iter()]
    assert again == ids


def test_bulk_seeding_refuses_what_it_cannot_make(sbx):
    with pytest.raises(RuntimeError, match="cannot bulk-seed 'refunds'"):
        sbx.seed_bulk("refunds", 10, B - 10, B)
    with pytest.raises(RuntimeError, match="count must be from 1 to 2000000, got 0"):
        sbx.seed_bulk("charges", 0, B - 10, B)
    with pytest.raises(RuntimeError, match=r"end \(5\) must be after start \(10\)"):
        sbx.seed_bulk("charges", 1, 10, 5)


def test_windowed_pages_of_a_large_list_follow_stripes_cursor_rules(sbx, client):
    sbx.seed_bulk("charges", 1000, B - 10_000, B)
    window = {"gte": B - 6000, "lt": B - 2000}
    pages = client.v1.charges.list(params={"limit": 100, "created": window}).auto_paging_iter()
    listed = [(c.created, c.id) for c in pages]
    everything = [(c.created, c.id) for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()]
    assert listed == [item for item in everything if B - 6000 <= item[0] < B - 2000]
    # ending_before walks back towards newer objects inside the window.
    middle = listed[len(listed) // 2][1]
    newer = client.v1.charges.list(params={"limit": 5, "created": window, "ending_before": middle})
    position = [item[1] for item in listed].index(middle)
    assert [c.id for c in newer.data] == [item[1] for item in listed[position - 5 : position]]
