"""Stripe Connect OAuth end to end against the sandbox: authorize, exchange, read, deauthorize."""

from __future__ import annotations

import http.client
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.hooks.stripe import StripeOAuthHook, stripe_hook
from airflow_provider_stripe_sync.operators.stripe import StripeListNewChargesOperator
from airflow_provider_stripe_sync.records import read_records
from tests.conftest import make_context

pytestmark = pytest.mark.integration

B = 1793232000
HOUR = 3600
CLIENT_ID = "ca_SandboxPlatform123"
PLATFORM_KEY = "sk_test_platform_oauth_secret"


def oauth_connection(monkeypatch, sandbox, conn_id="stripe_oauth_default", **extra):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {
                "conn_type": "stripe_oauth",
                "login": CLIENT_ID,
                "password": PLATFORM_KEY,
                "host": sandbox.url,
                "extra": json.dumps(extra),
            }
        ),
    )


def approve(url: str, *, account: str) -> dict[str, str]:
    """Play the account owner: open the authorize URL and read the redirect's query."""
    parts = urlsplit(url + f"&stripe_user_id={account}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    assert response.status == 302
    location = response.getheader("Location")
    assert location.startswith("http://127.0.0.1:9/callback?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_authorize_exchange_then_list_only_the_connected_accounts_charges(sandbox, monkeypatch, tmp_path):
    oauth_connection(monkeypatch, sandbox, redirect_uri="http://127.0.0.1:9/callback")
    platform = StripeOAuthHook()
    url, state = platform.authorize_url(scope="read_write")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{sandbox.url}/oauth/authorize?")
    assert {k: v[0] for k, v in query.items()} == {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "read_write",
        "state": state,
        "redirect_uri": "http://127.0.0.1:9/callback",
    }

    answer = approve(url, account="acct_1ConnectedShop")
    StripeOAuthHook.check_state(state, answer["state"])
    connected = platform.exchange_code(answer["code"])
    assert connected == {"stripe_user_id": "acct_1ConnectedShop", "livemode": False, "scope": "read_write"}
    with pytest.raises(StripeRequestError, match="Authorization code does not exist"):
        platform.exchange_code(answer["code"])

    sandbox.seed(
        stripe={"charges": [{"amount": 2500, "currency": "usd", "source": "tok_visa", "created": B + 10}]},
        account="acct_1ConnectedShop",
    )
    sandbox.seed(
        stripe={"charges": [{"amount": 9999, "currency": "usd", "source": "tok_visa", "created": B + 20}]}
    )

    # The account's own connection: the platform's credentials plus the connected account id.
    oauth_connection(monkeypatch, sandbox, conn_id="stripe_shop", stripe_user_id=connected["stripe_user_id"])
    sandbox.clear_requests()
    operator = StripeListNewChargesOperator(
        task_id="charges", stripe_conn_id="stripe_shop", output_uri=str(tmp_path)
    )
    result = operator.execute(make_context(interval=(B, B + HOUR)))

    assert [c["amount"] for c in read_records(result["uri"])] == [2500]
    [request] = [r for r in sandbox.requests() if r["path"] == "/v1/charges"]
    assert request["headers"]["stripe-account"] == "acct_1ConnectedShop"
    assert request["headers"]["authorization"].startswith("Bearer sk_test_")


def test_state_mismatch_is_refused():
    with pytest.raises(ValueError, match="state does not match"):
        StripeOAuthHook.check_state("expected", "forged")
    with pytest.raises(ValueError, match="state does not match"):
        StripeOAuthHook.check_state("expected", None)


def test_a_deauthorized_account_fails_at_once_with_stripes_message(sandbox, monkeypatch, tmp_path):
    oauth_connection(monkeypatch, sandbox)
    platform = StripeOAuthHook()
    url, state = platform.authorize_url(redirect_uri="http://127.0.0.1:9/callback")
    account = platform.exchange_code(approve(url, account="acct_1Leaving")["code"])["stripe_user_id"]
    assert platform.deauthorize(account) == "acct_1Leaving"

    oauth_connection(monkeypatch, sandbox, conn_id="stripe_leaving", stripe_user_id=account)
    sandbox.clear_requests()
    with pytest.raises(StripeRequestError) as caught:
        StripeListNewChargesOperator(
            task_id="charges", stripe_conn_id="stripe_leaving", output_uri=str(tmp_path)
        ).execute(make_context(interval=(B, B + HOUR)))
    assert caught.value.http_status == 403
    assert "does not have access to account 'acct_1Leaving'" in str(caught.value)
    assert [r["status"] for r in sandbox.requests() if r["path"] == "/v1/charges"] == [403]


def test_operators_pick_the_hook_by_connection_type(sandbox, monkeypatch):
    oauth_connection(monkeypatch, sandbox, stripe_user_id="acct_1Typed")
    hook = stripe_hook("stripe_oauth_default")
    assert type(hook) is StripeOAuthHook
    assert hook.request_options() == {"stripe_account": "acct_1Typed"}
    assert type(stripe_hook("stripe_default")).__name__ == "StripeHook"


def test_the_client_id_must_be_a_connect_client_id(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_OAUTH_DEFAULT",
        json.dumps(
            {"conn_type": "stripe_oauth", "login": "pk_test_1", "password": PLATFORM_KEY, "host": sandbox.url}
        ),
    )
    with pytest.raises(ValueError, match=r"the login must be the platform's Connect client id \(ca_…\)"):
        StripeOAuthHook().authorize_url()


def test_an_account_connection_without_secrets_uses_the_platforms(sandbox, monkeypatch, tmp_path):
    oauth_connection(monkeypatch, sandbox)
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_KEYLESS",
        json.dumps({"conn_type": "stripe_oauth", "extra": json.dumps({"stripe_user_id": "acct_1Keyless"})}),
    )
    sandbox.seed(
        stripe={"charges": [{"amount": 1500, "currency": "eur", "source": "tok_visa", "created": B + 1}]},
        account="acct_1Keyless",
    )
    hook = stripe_hook("stripe_keyless")
    assert (hook.base_url, hook.client_id, hook.stripe_account) == (sandbox.url, CLIENT_ID, "acct_1Keyless")
    result = StripeListNewChargesOperator(
        task_id="charges", stripe_conn_id="stripe_keyless", output_uri=str(tmp_path)
    ).execute(make_context(interval=(B, B + HOUR)))
    assert [c["amount"] for c in read_records(result["uri"])] == [1500]


def test_the_trigger_reads_the_platform_connection_asynchronously(sandbox, monkeypatch):
    import asyncio

    from airflow_provider_stripe_sync.triggers.stripe import StripeNewObjectsTrigger

    oauth_connection(monkeypatch, sandbox)
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_KEYLESS",
        json.dumps({"conn_type": "stripe_oauth", "extra": json.dumps({"stripe_user_id": "acct_1Keyless"})}),
    )
    [charge] = sandbox.seed(
        stripe={"charges": [{"amount": 1500, "currency": "eur", "source": "tok_visa", "created": B + 1}]},
        account="acct_1Keyless",
    )["stripe"]["charges"]
    trigger = StripeNewObjectsTrigger(
        stripe_conn_id="stripe_keyless",
        stripe_account=None,
        resource="charges",
        window_start=B,
        window_end=B + HOUR,
        poke_interval=0.1,
    )

    async def first():
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(asyncio.wait_for(first(), 20))
    assert (event["status"], event["newest_id"]) == ("success", charge["id"])


APP_SECRET = "sk_test_app_developer_secret"


def install_app(sandbox, account: str) -> dict:
    """Install a Stripe App on ``account``: approve, then trade the code at /v1/oauth/token."""
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "response_type": "code", "stripe_user_id": account}
    )
    code = json.loads(urllib.request.urlopen(f"{sandbox.url}/oauth/authorize?{query}").read())["code"]
    request = urllib.request.Request(
        f"{sandbox.url}/v1/oauth/token",
        data=urllib.parse.urlencode({"grant_type": "authorization_code", "code": code}).encode(),
        headers={"Authorization": f"Bearer {APP_SECRET}"},
    )
    return json.loads(urllib.request.urlopen(request).read())


def app_connection(monkeypatch, sandbox, refresh_token, conn_id="stripe_app"):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {
                "conn_type": "stripe_oauth",
                "login": CLIENT_ID,
                "password": APP_SECRET,
                "host": sandbox.url,
                "extra": json.dumps({"refresh_token": refresh_token}),
            }
        ),
    )


def token_requests(sandbox):
    return [
        (r["form"].get("grant_type"), r["status"])
        for r in sandbox.requests()
        if r["path"] == "/v1/oauth/token"
    ]


def test_an_expired_app_access_token_is_refreshed_once_and_the_request_succeeds(
    sandbox, monkeypatch, tmp_path, caplog
):
    import time

    from airflow_provider_stripe_sync.hooks import stripe as stripe_hooks
    from airflow_provider_stripe_sync.token_store import MemoryTokenStore, fingerprint

    install = install_app(sandbox, "acct_1AppShop")
    app_connection(monkeypatch, sandbox, install["refresh_token"])
    store = MemoryTokenStore()
    # The stored access token expired an hour ago, here and in the sandbox.
    store.set(
        stripe_hooks.apps_token_key("stripe_app"),
        json.dumps(
            {
                "access_token": install["access_token"],
                "refresh_token": install["refresh_token"],
                "expires_at": int(time.time()) - 3600,
                "seeded_from": fingerprint(install["refresh_token"]),
            }
        ),
    )
    sandbox.advance(7200)
    monkeypatch.setattr(stripe_hooks, "default_token_store", lambda: store)
    sandbox.seed(
        stripe={"charges": [{"amount": 4200, "currency": "usd", "source": "tok_visa", "created": B + 3}]},
        account="acct_1AppShop",
    )
    sandbox.clear_requests()
    caplog.set_level("DEBUG")

    result = StripeListNewChargesOperator(
        task_id="charges", stripe_conn_id="stripe_app", output_uri=str(tmp_path)
    ).execute(make_context(interval=(B, B + HOUR)))

    assert [c["amount"] for c in read_records(result["uri"])] == [4200]
    assert token_requests(sandbox) == [("refresh_token", 200)]
    assert [r["status"] for r in sandbox.requests() if r["path"] == "/v1/charges"] == [200]
    saved = json.loads(store.get(stripe_hooks.apps_token_key("stripe_app")))
    assert saved["refresh_token"] != install["refresh_token"]
    assert saved["access_token"] != install["access_token"]
    assert saved["expires_at"] >= int(time.time()) + 3600 - 5
    # Nothing secret was logged at any level, nor returned to XCom.
    secrets = [
        APP_SECRET,
        install["access_token"],
        install["refresh_token"],
        saved["access_token"],
        saved["refresh_token"],
    ]
    assert [x for x in secrets if x in caplog.text or x in json.dumps(result)] == []


def test_two_workers_refreshing_at_once_both_succeed(sandbox, monkeypatch):
    import threading

    from airflow_provider_stripe_sync.hooks import stripe as stripe_hooks
    from airflow_provider_stripe_sync.token_store import MemoryTokenStore

    install = install_app(sandbox, "acct_1AppRace")
    app_connection(monkeypatch, sandbox, install["refresh_token"])
    store = MemoryTokenStore()
    # Two workers: no lock in common, one Variable in common; both refresh with the same token.
    monkeypatch.setattr("airflow_provider_stripe_sync.token_store.lock_for", lambda key: threading.Lock())
    barrier = threading.Barrier(2)
    real_refresh = StripeOAuthHook._refresh_app_tokens
    order = []

    def racing_refresh(self, refresh_token):
        barrier.wait(timeout=10)
        if order:
            time.sleep(0.3)  # the second worker arrives after the first one saved its pair
        order.append(refresh_token)
        return real_refresh(self, refresh_token)

    import time

    monkeypatch.setattr(StripeOAuthHook, "_refresh_app_tokens", racing_refresh)
    keys = {}

    def worker(name):
        keys[name] = StripeOAuthHook("stripe_app", token_store=store).api_key

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert keys["a"] == keys["b"]
    assert sorted(token_requests(sandbox)) == [
        ("authorization_code", 200),
        ("refresh_token", 200),
        ("refresh_token", 400),
    ]
    assert json.loads(store.get(stripe_hooks.apps_token_key("stripe_app")))["access_token"] == keys["a"]


def test_a_revoked_app_refresh_token_says_reinstall(sandbox, monkeypatch):
    from airflow_provider_stripe_sync.token_store import MemoryTokenStore

    install = install_app(sandbox, "acct_1AppGone")
    app_connection(monkeypatch, sandbox, install["refresh_token"])
    StripeOAuthHook("stripe_app", token_store=MemoryTokenStore()).api_key  # uses (and rotates) the token
    with pytest.raises(StripeRequestError, match="re-install the app and put its new refresh token"):
        StripeOAuthHook("stripe_app", token_store=MemoryTokenStore()).api_key
