"""Xero: the connection type, and a hook for the accounting calls the reconciliation makes."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_stripe_sync.connection_forms import XERO_CONNECTION_FORM
from airflow_provider_stripe_sync.environment import ENVIRONMENT_EXTRA, connection_environment
from airflow_provider_stripe_sync.exceptions import DestinationError
from airflow_provider_stripe_sync.hooks.base import ALLOW_INSECURE_HOST, api_base_url, connection_extras
from airflow_provider_stripe_sync.hooks.transport import guard_rest_client, request_timeout
from airflow_provider_stripe_sync.token_store import MemoryTokenStore, TokenStore, fingerprint
from airflow_provider_stripe_sync.token_store import VariableTokenStore as _VariableTokenStore

if TYPE_CHECKING:
    from xero_python.accounting import AccountingApi
    from xero_python.api_client import ApiClient

    from airflow_provider_stripe_sync.mapping.xero import PlannedBankTransaction, PlannedTransfer

T = TypeVar("T")

__all__ = [
    "XERO_CONNECTION_FORM",
    "MemoryTokenStore",
    "VariableTokenStore",
    "XeroAuthError",
    "XeroHook",
    "XeroRequestError",
    "token_key",
]

#: Xero's identity and API hosts, unless the connection's host points elsewhere (the sandbox).
DEFAULT_IDENTITY_URL = "https://identity.xero.com"
DEFAULT_API_URL = "https://api.xero.com"

#: The scopes a refresh asks for unless the connection names its own.
DEFAULT_SCOPE = "offline_access accounting.transactions accounting.settings accounting.contacts"

AUTHORIZATION_CODE = "authorization_code"
CLIENT_CREDENTIALS = "client_credentials"

#: The extras a Xero connection accepts, with their types.
XERO_EXTRAS: dict[str, type | tuple[type, ...]] = {
    "tenant_id": str,
    "refresh_token": str,
    "grant_type": str,
    "scope": str,
    ENVIRONMENT_EXTRA: str,
    ALLOW_INSECURE_HOST: bool,
}

#: Xero allows at most five calls in flight per tenant; a bound per process keeps each worker under it.
MAX_CONCURRENT_CALLS = 5

#: Bank transactions per create call (Xero takes more, but smaller batches fail and retry cheaper).
MAX_BATCH_SIZE = 50

#: Renew the access token this many seconds before it expires.
EXPIRY_MARGIN = 60

_locks: dict[str, threading.Lock] = {}
_semaphores: dict[str, threading.BoundedSemaphore] = {}
_registry_lock = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _registry_lock:
        return _locks.setdefault(key, threading.Lock())


def _semaphore_for(tenant: str) -> threading.BoundedSemaphore:
    with _registry_lock:
        return _semaphores.setdefault(tenant, threading.BoundedSemaphore(MAX_CONCURRENT_CALLS))


def token_key(conn_id: str) -> str:
    """The Airflow Variable holding a connection's current refresh token (``token`` in it: masked)."""
    return f"xero_refresh_token__{conn_id}"


_fingerprint = fingerprint


class VariableTokenStore(_VariableTokenStore):
    """Keep the refresh token in an Airflow Variable (encrypted at rest with a Fernet key)."""

    def __init__(self) -> None:
        super().__init__("Xero refresh token, rotated by XeroHook. Do not edit.")


class XeroRequestError(DestinationError):
    """
    A Xero request failed for good: refused, or still failing after the last retry.

    :param message: what went wrong, with Xero's own message.
    :param status: the HTTP status, when Xero answered.
    :param attempts: how many requests were sent in all.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class XeroAuthError(XeroRequestError):
    """The stored refresh token no longer works: somebody has to authorise the app again."""


class _InvalidGrant(Exception):
    pass


def _header(err: BaseException, name: str) -> str | None:
    response = getattr(err, "http_resp", None)
    if response is None or not hasattr(response, "getheader"):
        return None
    return response.getheader(name)


def error_body(err: BaseException) -> Any:
    """Xero's JSON answer of a failed request, or ``{}``."""
    body = getattr(err, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return {"Detail": body.strip()[:500]}


def describe_error(err: BaseException) -> str:
    """One line: the status and Xero's message (validation messages first)."""
    status = getattr(err, "status", None)
    if status is None:
        return f"no answer ({type(err).__name__}: {err})"
    body = error_body(err)
    messages = []
    if isinstance(body, Mapping):
        for element in body.get("Elements") or []:
            messages += [str(v.get("Message")) for v in element.get("ValidationErrors") or []]
        messages = messages or [str(body.get(k)) for k in ("Message", "Detail", "error") if body.get(k)]
    return f"HTTP {status}: {'; '.join(messages[:5]) or getattr(err, 'reason', None) or 'no message'}"


def _api_exceptions() -> tuple[type[BaseException], ...]:
    import urllib3.exceptions
    from xero_python.exceptions import ApiException

    return (ApiException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)


class XeroHook(BaseHook):
    """
    Talk to Xero's accounting API for one organisation (tenant).

    The connection's login holds the app's client id and its password the client secret. Apps
    authorised by a user (``grant_type`` ``authorization_code``, the default) start from the
    ``refresh_token`` extra; Xero rotates refresh tokens on every use, and tasks cannot write
    connections, so the current one lives in the Airflow Variable ``xero_refresh_token__<conn id>``
    (masked, encrypted at rest), seeded from the connection and re-seeded when the connection's
    token changes (that is how a user re-authorises). Each refresh saves the new token before the
    new access token is used. Refreshes are serialised within a process by a lock; across workers,
    Xero's grace period lets two workers use one token, and an ``invalid_grant`` re-reads the
    stored token once (another worker may have rotated it) before failing with a message to
    re-authorise. Custom connections (``client_credentials``) need no refresh token.

    Every request goes through one retry loop: a 429 for the minute limit waits ``Retry-After``, a
    429 for the day limit fails at once, a 401 renews the access token once, 5xx and connection
    errors back off, and other answers (400, 403 for a wrong tenant) are never retried. At most
    five calls per tenant are in flight per process; the DAG's ``xero_api`` pool bounds the rest.

    :param xero_conn_id: the Airflow connection to use.
    :param token_store: where refresh tokens are kept; an Airflow Variable unless given.
    :param max_retries: retries after a 5xx or a connection error.
    :param max_rate_limit_retries: retries after minute-limit 429s.
    :param max_wait: the longest single wait in seconds, ``Retry-After`` included.
    :param request_timeout: connect and read timeout of each request, in seconds.
    """

    conn_name_attr = "xero_conn_id"
    default_conn_name = "xero_default"
    conn_type = "xero"
    hook_name = "Xero"

    def __init__(
        self,
        *,
        xero_conn_id: str = default_conn_name,
        token_store: TokenStore | None = None,
        max_retries: int = 4,
        max_rate_limit_retries: int = 5,
        max_wait: float = 65.0,
        request_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        self.xero_conn_id = xero_conn_id
        self.token_store: TokenStore = token_store if token_store is not None else VariableTokenStore()
        self.max_retries = max_retries
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_wait = max_wait
        self.request_timeout = request_timeout
        self.sleep: Callable[[float], None] = time.sleep
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._tenant_id: str | None = None

    # -- configuration ------------------------------------------------------------------------------

    @cached_property
    def _settings(self) -> dict[str, Any]:
        """Read the connection once."""
        from airflow.sdk.log import mask_secret

        conn = self.get_connection(self.xero_conn_id)
        extras = connection_extras(conn.extra, allowed=XERO_EXTRAS, conn_id=self.xero_conn_id)
        client_id = (conn.login or "").strip()
        client_secret = (conn.password or "").strip()
        if not client_id or not client_secret:
            raise ValueError(
                f"Connection {self.xero_conn_id!r} needs the Xero app's client id (login) and client "
                "secret (password)."
            )
        mask_secret(client_secret)
        grant_type = extras.get("grant_type") or AUTHORIZATION_CODE
        if grant_type not in (AUTHORIZATION_CODE, CLIENT_CREDENTIALS):
            raise ValueError(
                f"Connection {self.xero_conn_id!r}: grant_type must be {AUTHORIZATION_CODE!r} or "
                f"{CLIENT_CREDENTIALS!r}, got {grant_type!r}."
            )
        if extras.get("refresh_token"):
            mask_secret(extras["refresh_token"])
        if grant_type == AUTHORIZATION_CODE and not extras.get("refresh_token"):
            raise ValueError(
                f"Connection {self.xero_conn_id!r} has no refresh_token: authorise the app once "
                "(python -m airflow_provider_stripe_sync.xero_authorize) "
                "and put the refresh token in the connection."
            )
        allow_insecure = bool(extras.get(ALLOW_INSECURE_HOST))
        identity = api_base_url(
            conn.host,
            default=DEFAULT_IDENTITY_URL,
            allow_insecure=allow_insecure,
            conn_id=self.xero_conn_id,
            port=conn.port,
        )
        api = api_base_url(
            conn.host,
            default=DEFAULT_API_URL,
            allow_insecure=allow_insecure,
            conn_id=self.xero_conn_id,
            port=conn.port,
        )
        return {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": grant_type,
            "seed_refresh_token": extras.get("refresh_token"),
            "scope": extras.get("scope") or DEFAULT_SCOPE,
            "tenant_id": extras.get("tenant_id"),
            "identity_url": identity,
            "api_url": api,
            "environment": connection_environment(extras, conn.host, conn_id=self.xero_conn_id),
        }

    @property
    def environment(self) -> str:
        """``test`` or ``live``: the ``environment`` extra, else ``test`` on a loopback host only."""
        return self._settings["environment"]

    @cached_property
    def api_client(self) -> ApiClient:
        """The SDK's client; its token comes from this hook, which alone refreshes it."""
        from urllib3.util.retry import Retry
        from xero_python.api_client import ApiClient, Configuration
        from xero_python.api_client.oauth2 import OAuth2Token

        settings = self._settings
        # No refresh token and no expiry reach the SDK, so it never refreshes on its own.
        token = OAuth2Token(client_id=settings["client_id"], client_secret=settings["client_secret"])
        # Configuration() hands out copies of the first one ever built, ignoring its arguments:
        # set the token on this copy so that hooks of different connections never share one.
        configuration = Configuration()
        configuration.oauth2_token = token
        client = ApiClient(
            configuration,
            oauth2_token_getter=self._sdk_token,
            oauth2_token_saver=lambda _token: None,
        )
        # Retries happen in _call only: urllib3's would sleep a day-limit Retry-After in a worker slot.
        client.rest_client.pool_manager.connection_pool_kw["retries"] = Retry(
            total=0, redirect=0, respect_retry_after_header=False
        )
        # xero-python ignores a float _request_timeout (no timeout at all) and reads a cut-short
        # answer as a bare ValueError: every request, token ones included, gets a (connect, read)
        # timeout and an unreadable 2xx becomes an error _call retries.
        guard_rest_client(client.rest_client, lambda: request_timeout(self.request_timeout))
        return client

    def _sdk_token(self) -> dict[str, Any]:
        return {
            "access_token": self._access_token,
            "token_type": "Bearer",
            "scope": self._settings["scope"].split(),
            "expires_in": None,
        }

    @cached_property
    def accounting(self) -> AccountingApi:
        """The SDK's accounting API, aimed at the connection's host."""
        from xero_python.accounting import AccountingApi

        return AccountingApi(self.api_client, base_url=self._settings["api_url"] + "/api.xro/2.0")

    def get_conn(self) -> AccountingApi:
        """Return the accounting API, built on first use."""
        return self.accounting

    def _token_api(self) -> Any:
        from xero_python.api_client.oauth2 import TokenApi

        settings = self._settings
        token_api = TokenApi(self.api_client, settings["client_id"], settings["client_secret"])
        # The SDK keeps its token URLs as class attributes: aim this instance at the connection's host.
        token_url = settings["identity_url"] + "/connect/token"
        token_api.refresh_token_url = token_url
        token_api.client_credentials_token_url = token_url
        token_api.revoke_token_url = settings["identity_url"] + "/connect/revocation"
        return token_api

    # -- tokens -------------------------------------------------------------------------------------

    def _stored_refresh_token(self) -> str:
        """The current refresh token; the connection's when the Variable is new or was seeded from another."""
        seed = self._settings["seed_refresh_token"]
        raw = self.token_store.get(token_key(self.xero_conn_id))
        if raw:
            try:
                stored = json.loads(raw)
            except json.JSONDecodeError:
                stored = {}
            if stored.get("refresh_token") and stored.get("seed") == _fingerprint(seed):
                return str(stored["refresh_token"])
        return seed

    def _save_refresh_token(self, token: str) -> None:
        value = json.dumps(
            {"refresh_token": token, "seed": _fingerprint(self._settings["seed_refresh_token"])}
        )
        self.token_store.set(token_key(self.xero_conn_id), value)

    def _request_token(self, refresh_token: str | None) -> dict[str, Any]:
        """
        Ask Xero's identity service for tokens; ``invalid_grant`` raises ``_InvalidGrant``.

        A lost or late answer, a 429 and a 5xx are retried like any call. Sending the same refresh token
        again is safe: if Xero rotated it before the answer was lost, the old one still works for
        its 30-minute grace period.
        """
        import urllib3.exceptions
        from xero_python.exceptions import ApiException

        attempts = 0
        while True:
            attempts += 1
            try:
                return self._request_token_once(refresh_token)
            except (ApiException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as err:
                status = getattr(err, "status", None)
                if _token_refused(status):
                    raise
                if attempts > self.max_retries:
                    raise XeroRequestError(
                        f"Xero token request for connection {self.xero_conn_id!r} failed after "
                        f"{attempts} attempts: {describe_error(err)}.",
                        status=status if isinstance(status, int) else None,
                        attempts=attempts,
                    ) from err
                wait = self._wait(attempts, err, rate_limited=False)
                self.log.warning(
                    "[Try %d] Xero token request failed (%s); retrying in %.2f s.",
                    attempts,
                    describe_error(err),
                    wait,
                )
                self.sleep(wait)

    def _request_token_once(self, refresh_token: str | None) -> dict[str, Any]:
        from xero_python.exceptions import ApiException

        token_api = self._token_api()
        try:
            if refresh_token is None:
                return token_api.get_client_credentials_token(app_store_billing=False)
            return token_api.refresh_token(refresh_token, self._settings["scope"].split())
        except ApiException as err:
            if not _token_refused(err.status):
                raise
            body = error_body(err)
            if err.status == 400 and isinstance(body, Mapping) and body.get("error") == "invalid_grant":
                raise _InvalidGrant from err
            raise XeroAuthError(
                f"Xero refused the token request for connection {self.xero_conn_id!r}: "
                f"{describe_error(err)}. "
                "Check the client id and secret.",
                status=err.status,
            ) from err

    def renew_access_token(self) -> None:
        """Get a new access token (and, for user-authorised apps, rotate and save the refresh token)."""
        from airflow.sdk.log import mask_secret

        settings = self._settings
        with _lock_for(token_key(self.xero_conn_id)):
            if settings["grant_type"] == CLIENT_CREDENTIALS:
                token = self._request_token(None)
            else:
                used = self._stored_refresh_token()
                try:
                    token = self._request_token(used)
                except _InvalidGrant:
                    # Another worker may have rotated the token since we read it: read it once more.
                    again = self._stored_refresh_token()
                    if again == used:
                        raise self._reauthorise() from None
                    try:
                        token = self._request_token(again)
                    except _InvalidGrant:
                        raise self._reauthorise() from None
                mask_secret(token["refresh_token"])
                # Saved before the access token is used: a crash right after must not lose it.
                self._save_refresh_token(token["refresh_token"])
            mask_secret(token["access_token"])
            self._access_token = token["access_token"]
            self._expires_at = time.time() + float(token.get("expires_in") or 1800)
        self.log.info("Renewed the Xero access token of connection %s.", self.xero_conn_id)

    def _reauthorise(self) -> XeroAuthError:
        return XeroAuthError(
            f"Xero answered invalid_grant for the refresh token of connection {self.xero_conn_id!r}, and "
            f"the one stored in Variable {token_key(self.xero_conn_id)!r} too: "
            "it expired (60 days unused) or "
            "was used by another process more than 30 minutes ago. Re-authorise the app "
            "(python -m airflow_provider_stripe_sync.xero_authorize) "
            "and put the new refresh token in the connection.",
            status=400,
        )

    def _ensure_token(self) -> None:
        if self._access_token is None or time.time() > self._expires_at - EXPIRY_MARGIN:
            self.renew_access_token()

    @property
    def tenant_id(self) -> str:
        """The organisation's tenant id: the connection's, else the only one the app is connected to."""
        if self._tenant_id is None:
            configured = self._settings["tenant_id"]
            if configured:
                self._tenant_id = configured
            else:
                tenants = [c["tenantId"] for c in self.connections()]
                if len(tenants) != 1:
                    raise ValueError(
                        f"Connection {self.xero_conn_id!r} has no tenant_id and the app is connected to "
                        f"{len(tenants)} organisations; set tenant_id to one of: {', '.join(tenants)}."
                    )
                self._tenant_id = tenants[0]
        return self._tenant_id

    # -- the one retry loop -------------------------------------------------------------------------

    def _wait(self, retry_number: int, err: BaseException | None, rate_limited: bool) -> float:
        if rate_limited:
            try:
                base = float(_header(err, "Retry-After") or 1.0)
            except ValueError:
                base = 1.0
            return min(self.max_wait, max(0.0, base) + random.uniform(0.0, 0.5))
        return min(self.max_wait, 0.5 * 2 ** (retry_number - 1)) * random.uniform(0.5, 1.0)

    def _call(self, description: str, request: Callable[[], T], *, needs_tenant: bool = True) -> T:
        """
        Send ``request`` until it succeeds, fails for good, or its retries run out.

        :raises DestinationError: on the day limit.
        :raises XeroRequestError: on any other failure.
        """
        handled = _api_exceptions()
        if needs_tenant:
            # Resolved before taking a slot: finding it is a call of its own.
            _ = self.tenant_id
        attempts = 0
        retries = {"rate": 0, "transient": 0}
        renewed = False
        while True:
            attempts += 1
            self._ensure_token()
            try:
                with _semaphore_for(self._settings["tenant_id"] or self.xero_conn_id):
                    return request()
            except handled as err:
                status = getattr(err, "status", None)
                if status == 429:
                    problem = (_header(err, "X-Rate-Limit-Problem") or "minute").lower()
                    if problem == "day":
                        raise DestinationError(
                            f"Xero's daily limit (5,000 calls per organisation) was reached while trying to "
                            f"{description}. Waiting would take hours, so the task fails now; run it again "
                            "tomorrow."
                        ) from err
                    kind = "rate"
                elif status == 401 and not renewed:
                    renewed = True
                    self._access_token = None
                    continue
                elif status is None or (isinstance(status, int) and status >= 500):
                    kind = "transient"
                else:
                    raise self._final_error(err, description, attempts) from err
                limit = self.max_rate_limit_retries if kind == "rate" else self.max_retries
                if retries[kind] >= limit:
                    raise self._final_error(err, description, attempts) from err
                retries[kind] += 1
                wait = self._wait(retries[kind], err, kind == "rate")
                self.log.warning(
                    "[Try %d] Xero %s failed (%s); retrying in %.2f s.",
                    attempts,
                    description,
                    describe_error(err),
                    wait,
                )
                self.sleep(wait)

    def _final_error(self, err: BaseException, description: str, attempts: int) -> XeroRequestError:
        status = getattr(err, "status", None)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        hint = ""
        if status == 403:
            hint = (
                f" The tenant id is missing or stale for connection {self.xero_conn_id!r}: check it "
                "against test_connection()."
            )
        return XeroRequestError(
            f"Xero {description} failed{tries}: {describe_error(err)}.{hint}",
            status=status if isinstance(status, int) else None,
            attempts=attempts,
        )

    # -- calls --------------------------------------------------------------------------------------

    def connections(self) -> list[dict[str, Any]]:
        """The organisations the token may use: ``[{"tenantId", "tenantName", "tenantType"}]``."""
        from xero_python.identity import IdentityApi

        identity = IdentityApi(self.api_client, base_url=self._settings["api_url"])
        found = self._call("list connections", lambda: identity.get_connections(), needs_tenant=False)
        return [
            {"tenantId": str(c.tenant_id), "tenantName": c.tenant_name, "tenantType": c.tenant_type}
            for c in found or []
        ]

    def test_connection(self) -> tuple[bool, str]:
        """Get a token, check the tenant against ``/connections`` and read the accounts; never raises."""
        try:
            tenants = {c["tenantId"]: c["tenantName"] for c in self.connections()}
            tenant = self.tenant_id
            if tenant not in tenants:
                return False, (
                    f"Tenant {tenant} is not one this app is connected to ({', '.join(tenants) or 'none'}); "
                    "set the connection's tenant_id to one of them."
                )
            accounts = self.accounts()
        except Exception as err:
            return False, str(err)
        return True, f"Connection to Xero works: {tenants[tenant]}, {len(accounts)} accounts."

    def accounts(self) -> list[dict[str, Any]]:
        """The chart of accounts: ``[{"id", "code", "name", "type", "currency", "status"}]``."""
        found = self._call(
            "read accounts",
            lambda: self.accounting.get_accounts(self.tenant_id, _request_timeout=self.request_timeout),
        )
        return [
            {
                "id": str(a.account_id),
                "code": a.code,
                "name": a.name,
                "type": getattr(a.type, "value", a.type),
                "currency": getattr(a.currency_code, "value", a.currency_code),
                "status": getattr(a.status, "value", a.status),
            }
            for a in found.accounts or []
        ]

    def ensure_contact(self, name: str) -> str:
        """Return the id of the contact named ``name``, creating it when missing."""
        from xero_python.accounting import Contact, Contacts

        where = 'Name=="{}"'.format(name.replace('"', ""))
        found = self._call(
            f"find contact {name}",
            lambda: self.accounting.get_contacts(
                self.tenant_id, where=where, _request_timeout=self.request_timeout
            ),
        )
        for contact in found.contacts or []:
            if contact.name == name:
                return str(contact.contact_id)
        created = self._call(
            f"create contact {name}",
            lambda: self.accounting.create_contacts(
                self.tenant_id,
                Contacts(contacts=[Contact(name=name)]),
                idempotency_key=_key("contact", self.tenant_id, name),
                _request_timeout=self.request_timeout,
            ),
        )
        return str(created.contacts[0].contact_id)

    def bank_transaction_references(self, first_day: date, last_day: date) -> set[str]:
        """The ``Reference`` of every bank transaction dated from ``first_day`` to ``last_day``, paged."""
        where = f"Date >= DateTime({_ymd(first_day)}) && Date <= DateTime({_ymd(last_day)})"
        references: set[str] = set()
        page = 1
        while True:
            found = self._call(
                f"list bank transactions page {page}",
                lambda page=page: self.accounting.get_bank_transactions(
                    self.tenant_id,
                    where=where,
                    page=page,
                    page_size=100,
                    _request_timeout=self.request_timeout,
                ),
            )
            items = found.bank_transactions or []
            references.update(t.reference for t in items if t.reference)
            if len(items) < 100:
                return references
            page += 1

    def bank_transfer_references(self, first_day: date, last_day: date) -> set[str]:
        """The ``Reference`` of every bank transfer dated from ``first_day`` to ``last_day``."""
        where = f"Date >= DateTime({_ymd(first_day)}) && Date <= DateTime({_ymd(last_day)})"
        found = self._call(
            "list bank transfers",
            lambda: self.accounting.get_bank_transfers(
                self.tenant_id, where=where, _request_timeout=self.request_timeout
            ),
        )
        return {t.reference for t in found.bank_transfers or [] if t.reference}

    def create_bank_transactions(
        self, entries: Sequence[PlannedBankTransaction], contact_id: str
    ) -> list[tuple[str, str | None, list[str]]]:
        """
        Create up to 50 bank transactions in one call, with an idempotency key from their references.

        Per-item errors do not stop the others (``summarizeErrors=false``).

        :return: ``[(reference, bank_transaction_id or None, [validation messages])]``.
        """
        from xero_python.accounting import BankTransactions

        if len(entries) > MAX_BATCH_SIZE:
            raise ValueError(f"At most {MAX_BATCH_SIZE} bank transactions per call, got {len(entries)}.")
        if not entries:
            return []
        body = BankTransactions(bank_transactions=[_bank_transaction(entry, contact_id) for entry in entries])
        key = _key("bank_transactions", self.tenant_id, *(entry.reference for entry in entries))
        found = self._call(
            f"create {len(entries)} bank transactions",
            lambda: self.accounting.create_bank_transactions(
                self.tenant_id,
                body,
                summarize_errors=False,
                idempotency_key=key,
                _request_timeout=self.request_timeout,
            ),
        )
        results = []
        for entry, created in zip(entries, found.bank_transactions or [], strict=False):
            errors = [str(e.message) for e in created.validation_errors or []]
            results.append((entry.reference, None if errors else str(created.bank_transaction_id), errors))
        return results

    def create_bank_transfer(self, entry: PlannedTransfer) -> str:
        """Create one bank transfer (a payout); return its id."""
        from xero_python.accounting import Account, BankTransfer, BankTransfers

        transfer = BankTransfer(
            from_bank_account=Account(code=entry.from_account),
            to_bank_account=Account(code=entry.to_account),
            amount=entry.amount,
            date=entry.date,
            reference=entry.reference,
        )
        found = self._call(
            f"create bank transfer {entry.reference}",
            lambda: self.accounting.create_bank_transfer(
                self.tenant_id,
                BankTransfers(bank_transfers=[transfer]),
                idempotency_key=_key("bank_transfer", self.tenant_id, entry.reference),
                _request_timeout=self.request_timeout,
            ),
        )
        return str(found.bank_transfers[0].bank_transfer_id)


def _token_refused(status: Any) -> bool:
    """Whether a token request's status is a refusal (not a 429, a 5xx or no answer, which retry)."""
    return isinstance(status, int) and status < 500 and status != 429


def _ymd(day: date) -> str:
    return f"{day.year}, {day.month:02d}, {day.day:02d}"


def _key(kind: str, *parts: str) -> str:
    """A deterministic idempotency key (Xero takes up to 128 characters)."""
    return f"stripe-sync-{kind}-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def _bank_transaction(entry: PlannedBankTransaction, contact_id: str) -> Any:
    from xero_python.accounting import (
        Account,
        BankTransaction,
        Contact,
        CurrencyCode,
        LineAmountTypes,
        LineItem,
    )

    return BankTransaction(
        type=entry.type,
        contact=Contact(contact_id=contact_id),
        bank_account=Account(code=entry.bank_account),
        date=entry.date,
        reference=entry.reference,
        currency_code=CurrencyCode[entry.currency],
        line_amount_types=LineAmountTypes.NOTAX,
        line_items=[
            LineItem(
                description=line.description[:4000], account_code=line.account_code, line_amount=line.amount
            )
            for line in entry.lines
        ],
    )
