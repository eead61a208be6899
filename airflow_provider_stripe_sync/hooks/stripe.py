"""Hook for Stripe with a secret or restricted API key."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_stripe_sync.connection_forms import STRIPE_CONNECTION_FORM
from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.hooks.base import api_base_url, connection_extras
from airflow_provider_stripe_sync.mapping.common import is_plausible_email
from airflow_provider_stripe_sync.stripe.listing import (
    drop_none,
    iter_pages,
    iter_window_pages,
    window_list_params,
)
from airflow_provider_stripe_sync.stripe.ratelimit import (
    DEFAULT_CONCURRENCY,
    DEFAULT_ENDPOINT_RATE,
    DEFAULT_RATE,
    MAX_CONCURRENCY,
    RateLimiter,
    shared_limiter,
)
from airflow_provider_stripe_sync.stripe.resources import listable
from airflow_provider_stripe_sync.stripe.retry import RetryPolicy

if TYPE_CHECKING:
    from stripe import StripeClient

    from airflow_provider_stripe_sync.stripe.windows import Window

STRIPE_API_BASE = "https://api.stripe.com"

#: The extras a ``stripe`` connection may carry, with their types.
STRIPE_EXTRAS: dict[str, type | tuple[type, ...]] = {
    "stripe_account": str,
    "stripe_version": str,
    "max_network_retries": int,
    "requests_per_second": (int, float),
    "max_concurrency": int,
    "allow_insecure_host": bool,
}

_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]+$")


def check_api_key(key: str | None, *, conn_id: str) -> str:
    """
    Return ``key`` when it is a secret (``sk_``) or restricted (``rk_``) key, else raise saying why.

    A publishable key (``pk_``) is meant for browsers and cannot read or write server-side objects.
    """
    key = (key or "").strip()
    if not key:
        raise ValueError(
            f"Connection {conn_id!r} has no API key: put the secret or restricted key in Password."
        )
    if key.startswith("pk_"):
        raise ValueError(
            f"Connection {conn_id!r} holds a publishable key (pk_…), which cannot call the API from a "
            "server. Use a secret key (sk_…) or, better, a restricted key (rk_…)."
        )
    if not key.startswith(("sk_", "rk_")):
        raise ValueError(
            f"Connection {conn_id!r}: the password is not a Stripe secret (sk_…) "
            "or restricted (rk_…) key."
        )
    return key


def _mask(secret: str) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


def _was_replayed(obj: Any) -> bool:
    """Whether Stripe answered from its idempotency cache (the object existed already)."""
    headers = getattr(getattr(obj, "last_response", None), "headers", None) or {}
    return any(key.lower() == "idempotent-replayed" and value == "true" for key, value in headers.items())


def _response_time(obj: Any) -> float:
    """Stripe's time when it answered, from the ``Date`` header; the local time when there is none."""
    import time
    from email.utils import parsedate_to_datetime

    headers = getattr(getattr(obj, "last_response", None), "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == "date":
            try:
                return parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError):
                break
    return time.time()


def _quiet_sdk_request_log() -> None:
    # stripe-python logs every request URL at INFO, and list filters put customers' emails in URLs.
    # Task logs keep INFO, so raise the SDK's logger to WARNING unless someone has set it already.
    sdk_logger = logging.getLogger("stripe")
    if sdk_logger.level == logging.NOTSET:
        sdk_logger.setLevel(logging.WARNING)


class StripeHook(BaseHook):
    """
    Talk to Stripe with one ``stripe.StripeClient`` built from an Airflow connection.

    The connection's password is a secret or restricted key; its host, when set, replaces
    ``https://api.stripe.com`` (the local sandbox uses this). Requests go through one retry policy;
    the SDK's own retries are off so that retries never multiply.

    :param stripe_conn_id: the ``stripe`` connection to use.
    :param stripe_account: act for this connected account; overrides the connection's extra.
    """

    conn_name_attr = "stripe_conn_id"
    default_conn_name = "stripe_default"
    conn_type = "stripe"
    hook_name = "Stripe"
    extra_types = STRIPE_EXTRAS
    _account_extra = "stripe_account"
    #: Seconds each request may take, connecting and reading (stripe-python's own default, made
    #: explicit): a slower answer is a timeout, which the retry policy retries.
    request_timeout: float = 80.0

    def __init__(self, stripe_conn_id: str = default_conn_name, *, stripe_account: str | None = None) -> None:
        super().__init__()
        self.stripe_conn_id = stripe_conn_id
        self._stripe_account = stripe_account or None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return how the connection form shows the standard fields."""
        return STRIPE_CONNECTION_FORM["ui-field-behaviour"]

    @cached_property
    def extras(self) -> dict[str, Any]:
        """The connection's extras, checked against the allow-list."""
        return connection_extras(self.connection.extra, allowed=self.extra_types, conn_id=self.stripe_conn_id)

    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.stripe_conn_id)

    @property
    def credentials_connection(self) -> Any:
        """The connection whose key, host and port this hook uses: its own."""
        return self.connection

    @cached_property
    def api_key(self) -> str:
        source = self.credentials_connection
        key = check_api_key(source.password, conn_id=source.conn_id)
        _mask(key)
        return key

    @property
    def livemode(self) -> bool:
        """Whether the configured key is a live-mode key."""
        return "_live_" in (self.credentials_connection.password or "")

    @cached_property
    def stripe_account(self) -> str | None:
        """The connected account requests act for, or ``None`` for the account that owns the key."""
        account = self._stripe_account or self.extras.get(self._account_extra)
        if account and not _ACCOUNT_ID.match(account):
            raise ValueError(f"stripe_account {account!r} is not a Stripe account id such as 'acct_1A2b3C'.")
        return account

    @cached_property
    def api_version(self) -> str:
        """The Stripe API version every request is made at: the pinned one, or the SDK's."""
        import stripe

        return self.extras.get("stripe_version") or stripe.api_version

    @cached_property
    def base_url(self) -> str:
        source = self.credentials_connection
        return api_base_url(
            source.host,
            default=STRIPE_API_BASE,
            allow_insecure=bool(self.extras.get("allow_insecure_host")),
            conn_id=source.conn_id,
            port=source.port,
        )

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The one retry policy for this hook's requests."""
        retries = self.extras.get("max_network_retries", 5)
        if retries < 0:
            raise ValueError(f"Connection {self.stripe_conn_id!r}: max_network_retries must be 0 or more.")
        return RetryPolicy(max_retries=retries, on_rate_limited=lambda err: self.rate_limiter.slow_down())

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """
        The process-wide limiter for this account: ``requests_per_second`` from the connection, or
        20/s for test keys and 90/s for live keys (Stripe allows 25 and 100), and at most 23/s on
        any one endpoint (Stripe allows 25).
        """
        rate = self.extras.get("requests_per_second")
        if rate is None:
            rate = DEFAULT_RATE[self.livemode]
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(
                f"Connection {self.stripe_conn_id!r}: requests_per_second must be a number more than 0, "
                f"got {rate!r}; leave it empty for {DEFAULT_RATE[self.livemode]:g}/s."
            )
        # Keyed by connection, not by the key: a Stripe Apps key is fetched through this limiter.
        account = self.stripe_account or f"conn:{self.stripe_conn_id}"
        endpoint_rate = min(float(rate), DEFAULT_ENDPOINT_RATE)
        return shared_limiter(f"{self.base_url}|{account}", float(rate), endpoint_rate)

    @cached_property
    def max_concurrency(self) -> int:
        """
        How many requests one listing sends at once: ``max_concurrency`` from the connection (1 to
        32), or 6 for test keys and 12 for live keys; 1 reads windows with a plain page loop.
        """
        value = self.extras.get("max_concurrency")
        if value is None:
            return DEFAULT_CONCURRENCY[self.livemode]
        if not 1 <= value <= MAX_CONCURRENCY:
            raise ValueError(
                f"Connection {self.stripe_conn_id!r}: max_concurrency must be 1 to {MAX_CONCURRENCY}, "
                f"got {value!r}; leave it empty for {DEFAULT_CONCURRENCY[self.livemode]}."
            )
        return value

    def get_conn(self) -> StripeClient:
        """Return the hook's ``StripeClient``, built once."""
        return self.client

    @cached_property
    def client(self) -> StripeClient:
        from stripe import RequestsClient, StripeClient

        _quiet_sdk_request_log()
        base = self.base_url
        return StripeClient(
            self.api_key,
            stripe_version=self.api_version,
            base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
            # Retries happen in RetryPolicy only, so they never multiply.
            max_network_retries=0,
            http_client=RequestsClient(timeout=self.request_timeout),
        )

    @cached_property
    def async_client(self) -> StripeClient:
        """A ``StripeClient`` whose ``*_async`` methods run on httpx, for triggers."""
        from stripe import HTTPXClient, StripeClient

        _quiet_sdk_request_log()
        base = self.base_url
        return StripeClient(
            self.api_key,
            stripe_version=self.api_version,
            base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
            max_network_retries=0,
            http_client=HTTPXClient(timeout=self.request_timeout),
        )

    async def aload_connection(self, connection: Any = None) -> None:
        """
        Fetch the connection without blocking the event loop; call it first in a trigger.

        A trigger runs in the triggerer's event loop, where the sync connection lookup can deadlock.
        """
        from airflow.sdk.log import amask_secret

        self.connection = connection or await self.aget_connection(self.stripe_conn_id)
        await self._aload_credentials()
        source = self.credentials_connection
        key = check_api_key(source.password, conn_id=source.conn_id)
        await amask_secret(key)
        # Filling the cached property here keeps the sync mask_secret out of the event loop.
        self.api_key = key

    async def _aload_credentials(self) -> None:
        """Fetch, without blocking, any other connection the credentials come from (none here)."""

    def request_options(self, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Return the per-request options: the connected account and the idempotency key."""
        options: dict[str, Any] = {}
        if self.stripe_account:
            options["stripe_account"] = self.stripe_account
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    def service(self, resource: str) -> Any:
        """
        Return the ``StripeClient.v1`` service for ``resource`` (``charges``, ``customers``...).

        Catalog resources whose service sits deeper are found too (``checkout_sessions`` is
        ``v1.checkout.sessions``, ``invoiceitems`` is ``v1.invoice_items``).
        """
        from airflow_provider_stripe_sync.stripe.catalog import service_path

        service = self.client.v1
        try:
            for part in service_path(resource).split("."):
                service = getattr(service, part)
        except AttributeError:
            raise ValueError(f"StripeClient has no service {resource!r}.") from None
        return service

    def call(
        self,
        send: Callable[[dict[str, Any]], Any],
        *,
        description: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """
        Send one request through the retry policy and return the response as a plain dict.

        :param send: sends the request, given the request options.
        :param description: what the request does, for logs and errors ("create customer").
        :param idempotency_key: sent as the ``Idempotency-Key`` header, never in the parameters.
        """
        options = self.request_options(idempotency_key=idempotency_key)
        result = self.retry_policy.call(self._limited(lambda: send(options)), description=description)
        return result.to_dict(for_json=True) if hasattr(result, "to_dict") else dict(result)

    def _limited(self, send: Callable[..., Any], endpoint: str | None = None) -> Callable[..., Any]:
        def limited(*args: Any, **kwargs: Any) -> Any:
            self.rate_limiter.acquire(endpoint)
            return send(*args, **kwargs)

        return limited

    def _raw_list(self, path: str) -> Callable[[dict[str, Any]], Any]:
        """
        Send one list request to ``path`` and return its page as plain dicts.

        The request goes through the client's HTTP stack and pinned API version like any other, but
        the page is not turned into ``StripeObject`` instances: building them costs tens of milliseconds a
        page, more than the request itself at Stripe's rate limits, and the records are written as
        plain JSON anyway. Stripe's errors still raise the SDK's typed errors.
        """
        client = self.client
        options = self.request_options()
        endpoint = f"GET {path}"

        def fetch(page_params: dict[str, Any]) -> Any:
            self.rate_limiter.acquire(endpoint)
            return client.raw_request("get", path, **page_params, **options).data

        return fetch

    def iter_window(
        self,
        resource: str,
        window: Window,
        *,
        filters: Mapping[str, Any] | None = None,
        expand: Sequence[str] | None = None,
        limit: int = 100,
    ) -> Iterator[list[dict[str, Any]]]:
        """
        Yield the objects of ``resource`` created in ``window``, a page at a time.

        Windows larger than a few pages are split into sub-windows read by up to ``max_concurrency``
        threads under the account's rate limiter; pages then arrive in no fixed order across
        sub-windows, newest first within each (see ``iter_window_pages``).

        :param resource: a listable resource (``charges``, ``subscriptions``...).
        :param window: sent as ``created[gte]`` and ``created[lt]`` on every page.
        :param filters: extra list parameters; ``None`` values are dropped.
        :param expand: expansions written as for one object (``customer``); ``data.`` is added.
        :param limit: the page size, 1 to 100.
        """
        from airflow_provider_stripe_sync.stripe.catalog import catalog

        spec = listable(resource)
        params = window_list_params(
            window, filters=filters, expand=expand, limit=limit, default_filters=spec.default_filters
        )
        entry = catalog().get(f"{resource}.list")
        if entry is None:
            raise ValueError(f"The method catalog has no list endpoint for {resource!r}.")
        yield from iter_window_pages(
            self._raw_list(entry.path),
            params,
            window,
            retry=self.retry_policy,
            description=f"list {resource}",
            max_concurrency=self.max_concurrency,
        )

    def iter_events(
        self, window: Window, *, types: Sequence[str], limit: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """
        Yield the events of ``types`` created in ``window``, a page at a time, newest first.

        Stripe keeps events for 30 days. The first page's ``Date`` header gives Stripe's time (the
        worker's clock may be off), and a window older than the retention raises ``ValueError``
        before any event is yielded, rather than reading nothing.

        :param window: sent as ``created[gte]`` and ``created[lt]`` on every page.
        :param types: the event types (``types[]``, at most 20).
        :param limit: the page size, 1 to 100.
        """
        from airflow_provider_stripe_sync.stripe.events import check_retention

        params = window_list_params(window, filters={"types": list(types)}, limit=limit)
        service = self.client.v1.events
        options = self.request_options()
        stripe_times: list[float] = []

        def fetch(page_params: dict[str, Any]) -> Any:
            page = service.list(params=page_params, options=options)
            stripe_times.append(_response_time(page))
            return page

        pages = iter_pages(
            self._limited(fetch, "GET /v1/events"), params, retry=self.retry_policy, description="list events"
        )
        for number, page in enumerate(pages):
            if number == 0:
                check_retention(window, stripe_times[0])
            yield page

    def retrieve(self, resource: str, object_id: str, *, expand: Sequence[str] = ()) -> dict[str, Any] | None:
        """
        Fetch one object at the pinned API version; ``None`` when Stripe has no such object (404).

        A deleted customer comes back as Stripe's ``{"id", "object", "deleted": true}``.

        :param resource: the ``StripeClient.v1`` service (``charges``...).
        :param object_id: the object's id.
        :param expand: expansions written as for one object.
        """
        service = self.service(resource)
        params = {"expand": list(expand)} if expand else {}
        try:
            return self.call(
                lambda options: service.retrieve(object_id, params=params, options=options),
                description=f"retrieve {resource}",
            )
        except StripeRequestError as err:
            if err.http_status == 404 and err.code in (None, "resource_missing"):
                return None
            raise

    def iter_all(
        self, resource: str, params: Mapping[str, Any], *, description: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every object a list request returns, following pages; for lookups, not windows."""
        service = self.service(resource)
        options = self.request_options()
        pages = iter_pages(
            self._limited(lambda page_params: service.list(params=page_params, options=options)),
            {"limit": 100, **params},
            retry=self.retry_policy,
            description=description or f"list {resource}",
        )
        for page in pages:
            yield from page

    def _create_once(
        self, resource: str, params: dict[str, Any], *, scope: list[str] | None, business_key: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Create with a deterministic key; return the object and whether this call created it."""
        from airflow_provider_stripe_sync.stripe.idempotency import idempotency_key

        method = f"{resource}.create"
        key_scope = ["business-key", business_key] if business_key else list(scope or [])
        key = idempotency_key(scope=key_scope, method=method, params=params)
        service = self.service(resource)
        replayed = []

        def send(options: dict[str, Any]) -> Any:
            obj = service.create(params=params, options=options)
            replayed.append(_was_replayed(obj))
            return obj

        obj = self.call(send, description=f"create {resource.rstrip('s')}", idempotency_key=key)
        return obj, not replayed[-1]

    def ensure_customer(
        self,
        params: Mapping[str, Any],
        *,
        match_metadata_key: str | None = "signup_id",
        scope: list[str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """
        Return the customer for ``params``, creating it only when it does not exist yet.

        The email is trimmed and lower-cased. When ``metadata[match_metadata_key]`` is set, customers
        with that email are listed (the list endpoint, never Search) and one carrying the same value
        is returned; failing that, one with the same email and no value for that key is adopted.
        Otherwise the customer is created with a deterministic idempotency key.

        :returns: the customer and whether it was created now.
        """
        params = drop_none(dict(params))
        given_email = str(params.get("email") or "").strip()
        if given_email:
            params["email"] = given_email.lower()
            if not is_plausible_email(params["email"]):
                raise ValueError(
                    f"email {given_email!r} is not an email address (one '@' with text either side, no "
                    "spaces): fix it in the customer's parameters, or leave email out."
                )
        elif (params.get("metadata") or {}).get(match_metadata_key):
            raise ValueError(
                f"A customer identified by metadata.{match_metadata_key} needs an email: it is the only "
                "list filter that can find the customer again once Stripe has forgotten the idempotency "
                "key (24 hours), and Search lags."
            )
        # Stripe's email filter is case-sensitive: look under the address as given, too.
        lookups = [{"email": email} for email in dict.fromkeys([params.get("email"), given_email]) if email]
        return self._ensure("customers", params, match_metadata_key, scope, lookups, adopt_unmarked=True)

    def ensure_subscription(
        self,
        params: Mapping[str, Any],
        *,
        match_metadata_key: str | None = "signup_id",
        scope: list[str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """
        Return the subscription for ``params``, creating it only when it does not exist yet.

        When ``metadata[match_metadata_key]`` is set, the customer's subscriptions of every status are
        listed and one carrying the same value is returned.

        :returns: the subscription and whether it was created now.
        """
        params = drop_none(dict(params))
        if not params.get("customer"):
            raise ValueError("A subscription needs params['customer'], the Stripe customer id.")
        lookups = [{"customer": params["customer"], "status": "all"}]
        return self._ensure("subscriptions", params, match_metadata_key, scope, lookups, adopt_unmarked=False)

    def _ensure(
        self,
        resource: str,
        params: dict[str, Any],
        match_metadata_key: str | None,
        scope: list[str] | None,
        lookups: list[dict[str, Any]],
        *,
        adopt_unmarked: bool,
    ) -> tuple[dict[str, Any], bool]:
        business_key = str((params.get("metadata") or {}).get(match_metadata_key) or "") or None
        if business_key:
            for lookup in lookups:
                found = self._match_by_metadata(
                    resource, lookup, match_metadata_key, business_key, adopt_unmarked=adopt_unmarked
                )
                if found is not None:
                    return found, False
        scope_key = f"{resource}:{match_metadata_key}={business_key}" if business_key else None
        return self._create_once(resource, params, scope=scope, business_key=scope_key)

    def _match_by_metadata(
        self,
        resource: str,
        filters: dict[str, Any],
        key: str | None,
        value: str,
        *,
        adopt_unmarked: bool,
    ) -> dict[str, Any] | None:
        unmarked = None
        for obj in self.iter_all(resource, filters, description=f"look up {resource} by {key}"):
            marked = (obj.get("metadata") or {}).get(key)
            if marked == value:
                return obj
            if not marked and unmarked is None and not obj.get("deleted"):
                unmarked = obj
        return unmarked if adopt_unmarked else None

    def test_connection(self) -> tuple[bool, str]:
        """
        Check the key with the cheapest read it allows; never raises.

        A secret key reads ``/v1/account``. A restricted key may not, so it lists one customer; a 403
        there still proves the key is valid and is reported with the permission Stripe names.
        """
        try:
            if self.api_key.startswith("rk_"):
                self.call(
                    lambda options: self.client.v1.customers.list(params={"limit": 1}, options=options),
                    description="test connection (list customers)",
                )
                return True, "Connected with a restricted key; it can read customers."
            account = self.call(
                lambda options: self.client.v1.accounts.retrieve_current(options=options),
                description="test connection (retrieve account)",
            )
            return True, f"Connected to Stripe account {account.get('id')}."
        except StripeRequestError as err:
            if err.http_status == 403 and self.api_key.startswith("rk_"):
                return True, f"The restricted key is valid but cannot read customers: {err}"
            return False, str(err)
        except Exception as err:
            return False, f"{type(err).__name__}: {err}"


#: The extras a ``stripe_oauth`` connection may carry, with their types.
STRIPE_OAUTH_EXTRAS: dict[str, type | tuple[type, ...]] = {
    "stripe_user_id": str,
    "platform_conn_id": str,
    "refresh_token": str,
    "scope": str,
    "livemode": bool,
    "redirect_uri": str,
    "stripe_version": str,
    "max_network_retries": int,
    "requests_per_second": (int, float),
    "max_concurrency": int,
    "allow_insecure_host": bool,
}


#: Renew a Stripe Apps access token this many seconds before it expires.
APPS_EXPIRY_MARGIN = 300


def apps_token_key(conn_id: str) -> str:
    """The Airflow Variable holding a Stripe Apps install's current tokens (``token`` in it: masked)."""
    return f"stripe_apps_token__{conn_id}"


def default_token_store() -> Any:
    """Where Stripe Apps tokens are kept: Airflow Variables."""
    from airflow_provider_stripe_sync.token_store import VariableTokenStore

    return VariableTokenStore(
        "Stripe Apps access and refresh tokens, rotated by StripeOAuthHook. Do not edit."
    )


class StripeOAuthHook(StripeHook):
    """
    Stripe Connect with OAuth, for Standard accounts: a platform acting for the accounts it connected.

    The connection's login is the platform's client id (``ca_…``) and its password the platform's
    secret key; with ``stripe_user_id`` in its extras it is the connection of one connected account,
    and every request carries that account in the ``Stripe-Account`` header (an operator's
    ``stripe_account`` overrides it). Without it, the connection acts as the platform, and can run the
    OAuth steps: build the authorize URL, exchange the code the redirect brings back, deauthorize.

    Account-level credentials: a connected account's connection may hold its own client id and key
    (for instance a restricted key for that account); when its password is blank, the key, client id
    and host come from the platform connection named by ``platform_conn_id`` (default
    ``stripe_oauth_default``), so the platform's secret is stored once.

    Stripe Apps installs: with a ``refresh_token`` extra (from the install), requests use an access
    token that lasts an hour, refreshed with the app's secret key (the password) before it expires.
    Refresh tokens rotate, and tasks cannot write connections, so the newest pair lives in the
    Airflow Variable ``stripe_apps_token__<conn id>``, saved before the new access token is used; a
    hook that loses a refresh race to another worker (``invalid_grant``) re-reads it once. Changing
    the connection's refresh token (a re-install) re-seeds it. Triggers do not take such connections.

    :param stripe_conn_id: the ``stripe_oauth`` connection.
    :param stripe_account: act for this connected account; overrides the connection's ``stripe_user_id``.
    :param token_store: where Stripe Apps tokens are kept; Airflow Variables unless given.
    """

    conn_name_attr = "stripe_oauth_conn_id"
    default_conn_name = "stripe_oauth_default"
    conn_type = "stripe_oauth"
    hook_name = "Stripe Connect (OAuth)"
    extra_types = STRIPE_OAUTH_EXTRAS
    _account_extra = "stripe_user_id"

    def __init__(
        self,
        stripe_conn_id: str = default_conn_name,
        *,
        stripe_account: str | None = None,
        token_store: Any = None,
    ) -> None:
        super().__init__(stripe_conn_id, stripe_account=stripe_account)
        self._token_store = token_store

    @property
    def is_app_install(self) -> bool:
        """Whether this connection is a Stripe Apps install (it carries a refresh token)."""
        return bool(self.extras.get("refresh_token"))

    @cached_property
    def token_store(self) -> Any:
        return self._token_store if self._token_store is not None else default_token_store()

    @property
    def api_key(self) -> str:
        # Not a cached_property: before Python 3.12 those hold one lock across all instances while
        # computing, which would serialise (and here deadlock) hooks refreshing tokens in threads.
        if "_api_key" not in self.__dict__:
            if self.is_app_install:
                token = self._app_access_token()
                _mask(token)
            else:
                token = StripeHook.api_key.func(self)
            self.__dict__["_api_key"] = token
        return self.__dict__["_api_key"]

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.__dict__["_api_key"] = value

    @property
    def stripe_account(self) -> str | None:
        # An app's access token already acts for the account that installed it.
        return None if self.is_app_install else StripeHook.stripe_account.func(self)

    @cached_property
    def _app_client(self) -> StripeClient:
        """A client holding the app's own secret key, for the token endpoint."""
        from stripe import StripeClient

        source = self.credentials_connection
        secret = check_api_key(source.password, conn_id=source.conn_id)
        _mask(secret)
        base = self.base_url
        return StripeClient(secret, base_addresses={"api": base, "connect": base}, max_network_retries=0)

    def _stored_tokens(self) -> dict[str, Any] | None:
        import json

        text = self.token_store.get(apps_token_key(self.stripe_conn_id))
        return json.loads(text) if text else None

    def _refresh_app_tokens(self, refresh_token: str) -> dict[str, Any]:
        """Trade a refresh token for a new access token and the next refresh token."""
        response = self.retry_policy.call(
            self._limited(
                lambda: self._app_client.raw_request(
                    "post", "/v1/oauth/token", grant_type="refresh_token", refresh_token=refresh_token
                )
            ),
            description="refresh the Stripe Apps access token",
        )
        body = self._app_client.deserialize(response, api_mode="V1").to_dict()
        _mask(body["access_token"])
        _mask(body["refresh_token"])
        return body

    def _app_access_token(self) -> str:
        import json
        import time

        from airflow_provider_stripe_sync.token_store import fingerprint, lock_for

        key = apps_token_key(self.stripe_conn_id)
        seed = self.extras["refresh_token"]
        _mask(seed)
        with lock_for(key):
            stored = self._stored_tokens()
            if stored is None or stored.get("seeded_from") != fingerprint(seed):
                stored = {
                    "refresh_token": seed,
                    "access_token": None,
                    "expires_at": 0,
                    "seeded_from": fingerprint(seed),
                }
            if stored["access_token"] and stored["expires_at"] - time.time() > APPS_EXPIRY_MARGIN:
                return stored["access_token"]
            try:
                fresh = self._refresh_app_tokens(stored["refresh_token"])
            except StripeRequestError as err:
                if err.code != "invalid_grant":
                    raise
                # Another worker may have rotated the pair first: take what it saved, once.
                newer = self._stored_tokens()
                if newer and newer.get("refresh_token") != stored["refresh_token"]:
                    if newer["access_token"] and newer["expires_at"] - time.time() > APPS_EXPIRY_MARGIN:
                        return newer["access_token"]
                    fresh = self._refresh_app_tokens(newer["refresh_token"])
                else:
                    raise StripeRequestError(
                        f"Stripe refused the stored Stripe Apps refresh token of {self.stripe_conn_id!r} "
                        f"({err}); re-install the app and put its new refresh token in the connection.",
                        http_status=err.http_status,
                        code=err.code,
                    ) from err
            saved = {
                "access_token": fresh["access_token"],
                "refresh_token": fresh["refresh_token"],
                "expires_at": int(time.time()) + int(fresh.get("expires_in") or 3600),
                "seeded_from": stored["seeded_from"],
            }
            # Saved before use: a crash now loses nothing, the next worker starts from this pair.
            self.token_store.set(key, json.dumps(saved))
            return saved["access_token"]

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_stripe_sync.connection_forms import STRIPE_OAUTH_CONNECTION_FORM

        return STRIPE_OAUTH_CONNECTION_FORM["ui-field-behaviour"]

    @cached_property
    def credentials_connection(self) -> Any:
        """
        The connection the key and client id come from: this one when it holds a key, else the
        platform's (``platform_conn_id``, default ``stripe_oauth_default``), so that a connected
        account's connection needs no secret of its own.
        """
        if self.connection.password:
            return self.connection
        platform_id = self.extras.get("platform_conn_id") or self.default_conn_name
        if platform_id == self.stripe_conn_id:
            return self.connection
        return self.get_connection(platform_id)

    async def _aload_credentials(self) -> None:
        if self.is_app_install:
            raise ValueError(
                f"Connection {self.stripe_conn_id!r} is a Stripe Apps install: its tokens rotate through "
                "an Airflow Variable, which a trigger cannot update. Use the sensor with deferrable=False "
                "(mode='reschedule' frees the worker slot between checks)."
            )
        if not self.connection.password:
            platform_id = self.extras.get("platform_conn_id") or self.default_conn_name
            if platform_id != self.stripe_conn_id:
                self.credentials_connection = await self.aget_connection(platform_id)

    @cached_property
    def client_id(self) -> str:
        """The platform's Connect client id, from the login of the connection holding the key."""
        client_id = (self.credentials_connection.login or self.connection.login or "").strip()
        if not client_id.startswith("ca_"):
            raise ValueError(
                f"Connection {self.stripe_conn_id!r}: the login must be the platform's Connect client id "
                "(ca_…), from Dashboard → Settings → Connect → Onboarding options → OAuth."
            )
        return client_id

    def authorize_url(
        self, *, redirect_uri: str | None = None, scope: str | None = None, state: str | None = None
    ) -> tuple[str, str]:
        """
        Return the URL an account owner opens to connect their Standard account, and its ``state``.

        Keep ``state`` and compare it with :meth:`check_state` when the redirect comes back: it ties
        the answer to this request (no cross-site request forgery).
        """
        import secrets

        state = state or secrets.token_urlsafe(24)
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": scope or self.extras.get("scope") or "read_write",
            "state": state,
        }
        redirect = redirect_uri or self.extras.get("redirect_uri")
        if redirect:
            params["redirect_uri"] = redirect
        return self.client.oauth.authorize_url(params=params), state

    @staticmethod
    def check_state(expected: str, returned: str | None) -> None:
        """Raise unless the redirect brought back the ``state`` the authorize URL was built with."""
        import hmac

        if not returned or not hmac.compare_digest(expected, returned):
            raise ValueError("The OAuth redirect's state does not match the one sent: refusing the code.")

    def exchange_code(self, code: str) -> dict[str, Any]:
        """
        Exchange an authorization code for the connected account.

        Returns ``{"stripe_user_id", "livemode", "scope"}``: the access and refresh tokens Stripe sends
        along are dropped, since requests for a Standard account use the platform key and the
        ``Stripe-Account`` header; nothing secret is returned.
        """
        # Platform calls: no Stripe-Account header, whatever account the connection names.
        token = self.retry_policy.call(
            self._limited(
                lambda: self.client.oauth.token(params={"grant_type": "authorization_code", "code": code})
            ),
            description="exchange the OAuth code",
        )
        return {key: token.to_dict().get(key) for key in ("stripe_user_id", "livemode", "scope")}

    def deauthorize(self, stripe_user_id: str | None = None) -> str:
        """Disconnect an account from the platform; return its id."""
        account = stripe_user_id or self.stripe_account
        if not account:
            raise ValueError("deauthorize needs the connected account id (stripe_user_id).")
        answer = self.retry_policy.call(
            self._limited(
                lambda: self.client.oauth.deauthorize(
                    params={"client_id": self.client_id, "stripe_user_id": account}
                )
            ),
            description="deauthorize the connected account",
        )
        return str(answer["stripe_user_id"])


def stripe_hook(conn_id: str, *, stripe_account: str | None = None) -> StripeHook:
    """
    Return the hook for a ``stripe`` or a ``stripe_oauth`` connection, whichever ``conn_id`` is.

    Operators and sensors take either kind through the same ``stripe_conn_id`` argument.
    """
    connection = BaseHook.get_connection(conn_id)
    cls = StripeOAuthHook if connection.conn_type == StripeOAuthHook.conn_type else StripeHook
    hook = cls(conn_id, stripe_account=stripe_account)
    hook.connection = connection
    return hook


async def astripe_hook(conn_id: str, *, stripe_account: str | None = None) -> StripeHook:
    """The async twin of :func:`stripe_hook`, for triggers: no sync connection lookup."""
    connection = await BaseHook.aget_connection(conn_id)
    cls = StripeOAuthHook if connection.conn_type == StripeOAuthHook.conn_type else StripeHook
    hook = cls(conn_id, stripe_account=stripe_account)
    await hook.aload_connection(connection)
    return hook
