"""HubSpot: the connection type, and a hook for the CRM contact calls the sync makes."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_stripe_sync.connection_forms import HUBSPOT_CONNECTION_FORM
from airflow_provider_stripe_sync.environment import ENVIRONMENT_EXTRA, connection_environment
from airflow_provider_stripe_sync.exceptions import DestinationError
from airflow_provider_stripe_sync.hooks.base import ALLOW_INSECURE_HOST, api_base_url, connection_extras
from airflow_provider_stripe_sync.hooks.transport import guard_rest_client, request_timeout

if TYPE_CHECKING:
    from hubspot import HubSpot

T = TypeVar("T")

# The connection form (Airflow 3.2+ declarative) lives with the other forms, free of Airflow imports,
# for get_provider_info(); it is re-exported here next to the extras it describes.
__all__ = ["HUBSPOT_CONNECTION_FORM", "HubSpotHook", "HubSpotRecordError", "HubSpotRequestError"]

#: HubSpot's API, unless the connection's host points elsewhere (the sandbox).
DEFAULT_API_BASE_URL = "https://api.hubapi.com"

#: The most inputs one batch call takes.
MAX_BATCH_SIZE = 100

#: The extras a HubSpot connection accepts, with their types.
HUBSPOT_EXTRAS: dict[str, type | tuple[type, ...]] = {
    "client_id": str,
    "client_secret": str,
    "refresh_token": str,
    ENVIRONMENT_EXTRA: str,
    ALLOW_INSECURE_HOST: bool,
}

#: How ``classify_error`` sorts a failed request.
RATE_LIMITED = "rate_limited"
DAILY_LIMIT = "daily_limit"
TRANSIENT = "transient"
PERMANENT = "permanent"

#: HTTP statuses that mean HubSpot refused (some of) the records in a batch.
RECORD_ERROR_STATUSES = frozenset({400, 409, 207})


class HubSpotRequestError(DestinationError):
    """
    A HubSpot request failed for good: refused, or still failing after the last retry.

    :param message: what went wrong, with HubSpot's own message and correlation id.
    :param status: the HTTP status, when HubSpot answered.
    :param hubspot_message: HubSpot's ``message``, as is.
    :param category: HubSpot's ``category`` (``VALIDATION_ERROR``, ``CONFLICT``...).
    :param correlation_id: HubSpot's ``correlationId``, which its support asks for.
    :param attempts: how many requests were sent in all.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hubspot_message: str | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.hubspot_message = hubspot_message
        self.category = category
        self.correlation_id = correlation_id
        self.attempts = attempts


class HubSpotRecordError(HubSpotRequestError):
    """HubSpot refused records of a batch (validation, conflict, or per-input errors); the rest may land."""


def _header(err: BaseException, name: str) -> str | None:
    headers = getattr(err, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def error_body(err: BaseException) -> dict[str, Any]:
    """Return HubSpot's JSON error body of a failed request, or ``{}``."""
    body = getattr(err, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, Mapping):
        return dict(body)
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {"message": body.strip()[:500]}
    return parsed if isinstance(parsed, dict) else {}


def _is_connection_error(err: BaseException) -> bool:
    import urllib3.exceptions

    return isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


def classify_error(err: BaseException) -> str:
    """
    Sort a failed request into what to do about it.

    - ``rate_limited``: a 429 of a short-window policy (``TEN_SECONDLY_ROLLING``, ``SECONDLY``, or
      none named): wait a moment and send again.
    - ``daily_limit``: a 429 of the ``DAILY`` policy (or with no daily requests left): waiting
      means hours, so fail at once.
    - ``transient``: a 5xx, or no answer at all (connection refused, reset, timed out): back off
      and send again.
    - ``permanent``: everything else (400, 401, 403, 404, 409, an SSL failure): never sent again.
    """
    if _is_connection_error(err):
        return TRANSIENT
    status = getattr(err, "status", None)
    if status == 429:
        policy = str(error_body(err).get("policyName") or "").upper()
        if policy == "DAILY":
            return DAILY_LIMIT
        if not policy and _header(err, "X-HubSpot-RateLimit-Daily-Remaining") == "0":
            return DAILY_LIMIT
        return RATE_LIMITED
    if isinstance(status, int) and status >= 500:
        return TRANSIENT
    return PERMANENT


def describe_error(err: BaseException) -> str:
    """Return one line naming the status, HubSpot's category, message and correlation id."""
    if _is_connection_error(err):
        return f"no answer ({type(err).__name__}: {err})"
    body = error_body(err)
    parts = [f"HTTP {getattr(err, 'status', '?')}"]
    for key in ("category", "policyName"):
        if body.get(key):
            parts.append(str(body[key]))
    message = body.get("message") or getattr(err, "reason", None) or "no message"
    correlation = body.get("correlationId")
    suffix = f" (correlation id {correlation})" if correlation else ""
    return f"{', '.join(parts)}: {message}{suffix}"


def _api_exceptions() -> tuple[type[BaseException], ...]:
    # Each SDK module generates its own ApiException; these are the two this hook calls.
    import urllib3.exceptions
    from hubspot.crm.contacts import ApiException as ContactsApiException
    from hubspot.crm.properties import ApiException as PropertiesApiException

    return (
        ContactsApiException,
        PropertiesApiException,
        urllib3.exceptions.HTTPError,
        ConnectionError,
        TimeoutError,
    )


def _results(response: Any) -> list[dict[str, Any]]:
    return [
        {"id": str(result.id), "properties": dict(result.properties or {})}
        for result in (getattr(response, "results", None) or [])
    ]


def _batch_errors(response: Any) -> list[dict[str, Any]]:
    errors = getattr(response, "errors", None) or []
    return [
        {"message": error.message, "category": error.category, "context": error.context or {}}
        for error in errors
    ]


class HubSpotHook(BaseHook):
    """
    Talk to HubSpot's CRM with a private app access token.

    The connection's password holds the token. Public OAuth apps may also store ``client_id``,
    ``client_secret`` and ``refresh_token`` extras; they are accepted and masked, but exchanging the
    refresh token for a new access token is not implemented yet, so the password must hold a
    current access token. The connection's host (and port), when set, replaces
    ``https://api.hubapi.com``, which is how the local sandbox is reached.

    Every request goes through one retry loop: short-window 429s (ten-secondly, secondly) wait
    ``Retry-After`` or about a second and try again, a daily-limit 429 fails at once, 5xx and
    connection errors back off exponentially, and other 4xx are never retried. The SDK's own
    urllib3 retries are switched off so retries never multiply.

    :param hubspot_conn_id: the Airflow connection to use.
    :param max_retries: retries after a 5xx or a connection error.
    :param max_rate_limit_retries: retries after short-window 429s.
    :param max_wait: the longest single wait in seconds, ``Retry-After`` included.
    :param request_timeout: connect and read timeout of each request, in seconds.
    """

    conn_name_attr = "hubspot_conn_id"
    default_conn_name = "hubspot_default"
    conn_type = "hubspot"
    hook_name = "HubSpot"

    def __init__(
        self,
        *,
        hubspot_conn_id: str = default_conn_name,
        max_retries: int = 4,
        max_rate_limit_retries: int = 10,
        max_wait: float = 10.0,
        request_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self.max_retries = max_retries
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_wait = max_wait
        self.request_timeout = request_timeout
        self.sleep: Callable[[float], None] = time.sleep

    @cached_property
    def _connection(self) -> tuple[Any, dict[str, Any]]:
        """The connection, read once, with its checked extras."""
        conn = self.get_connection(self.hubspot_conn_id)
        return conn, connection_extras(conn.extra, allowed=HUBSPOT_EXTRAS, conn_id=self.hubspot_conn_id)

    @cached_property
    def environment(self) -> str:
        """``test`` or ``live``: the ``environment`` extra, else ``test`` on a loopback host only."""
        conn, extras = self._connection
        return connection_environment(extras, conn.host, conn_id=self.hubspot_conn_id)

    @cached_property
    def _settings(self) -> tuple[str, str]:
        """Read the connection once: the access token and the API base URL."""
        from airflow.sdk.log import mask_secret

        conn, extras = self._connection
        for key in ("client_secret", "refresh_token"):
            if extras.get(key):
                mask_secret(extras[key])
        token = (conn.password or "").strip()
        if not token:
            raise ValueError(
                f"Connection {self.hubspot_conn_id!r} has no access token: put the private app token "
                "(or a current OAuth access token) in its password field."
            )
        mask_secret(token)
        base_url = api_base_url(
            conn.host,
            default=DEFAULT_API_BASE_URL,
            allow_insecure=bool(extras.get(ALLOW_INSECURE_HOST)),
            conn_id=self.hubspot_conn_id,
            port=conn.port,
        )
        return token, base_url

    @cached_property
    def client(self) -> HubSpot:
        """The one SDK client of this hook."""
        from hubspot import HubSpot
        from urllib3.util.retry import Retry

        token, base_url = self._settings
        # Retries happen in _call only; urllib3's would hide 5xx and connection errors from it.
        return HubSpot(access_token=token, host=base_url, retry=Retry(total=0, redirect=0))

    def get_conn(self) -> HubSpot:
        """Return the SDK client, built on first use."""
        return self.client

    @cached_property
    def _contacts_batch(self) -> Any:
        # Each SDK property access builds a new API client with its own connection pool: keep one.
        return self._guarded(self.client.crm.contacts.batch_api)

    @cached_property
    def _contacts_basic(self) -> Any:
        return self._guarded(self.client.crm.contacts.basic_api)

    @cached_property
    def _properties(self) -> Any:
        return self._guarded(self.client.crm.properties.core_api)

    def _guarded(self, api: Any) -> Any:
        # A cut-short answer otherwise reads as a batch with no results: make it an error to retry.
        guard_rest_client(api.api_client.rest_client, lambda: self._timeout)
        return api

    @property
    def _timeout(self) -> tuple[float, float]:
        return request_timeout(self.request_timeout)

    def _wait(self, kind: str, retry_number: int, err: BaseException) -> float:
        """Return how long to wait before retry ``retry_number`` (1-based) of a ``kind`` failure."""
        if kind == RATE_LIMITED:
            retry_after = _header(err, "Retry-After")
            try:
                base = float(retry_after) if retry_after is not None else 1.0
            except ValueError:
                base = 1.0
            return min(self.max_wait, max(0.0, base) * random.uniform(1.0, 1.25))
        backoff = min(self.max_wait, 0.5 * 2 ** (retry_number - 1))
        return backoff * random.uniform(0.5, 1.0)

    def _call(self, description: str, request: Callable[[], T]) -> T:
        """
        Send ``request`` until it succeeds, fails for good, or its retries run out.

        :param description: what the request does, for logs and errors ("upsert 100 contacts").
        :raises DestinationError: on a daily limit.
        :raises HubSpotRecordError: when HubSpot refuses records (400, 409).
        :raises HubSpotRequestError: on any other failure.
        """
        handled = _api_exceptions()
        attempts = 0
        retries = {RATE_LIMITED: 0, TRANSIENT: 0}
        limits = {RATE_LIMITED: self.max_rate_limit_retries, TRANSIENT: self.max_retries}
        while True:
            attempts += 1
            try:
                return request()
            except handled as err:
                kind = classify_error(err)
                if kind == DAILY_LIMIT:
                    raise DestinationError(
                        f"HubSpot daily limit reached while trying to {description} "
                        f"({describe_error(err)}). Waiting would take hours, so the task fails now; "
                        "run it again after the daily limit resets (midnight in the account's time zone)."
                    ) from err
                if kind == PERMANENT or retries[kind] >= limits[kind]:
                    raise _final_error(err, description, attempts) from err
                retries[kind] += 1
                wait = self._wait(kind, retries[kind], err)
                self.log.warning(
                    "[Try %d] HubSpot %s failed (%s); retrying in %.2f s.",
                    attempts,
                    description,
                    describe_error(err),
                    wait,
                )
                self.sleep(wait)

    def test_connection(self) -> tuple[bool, str]:
        """Read one contact to check the token and the host; never raises."""
        try:
            self._call(
                "read one contact",
                lambda: self._contacts_basic.get_page(
                    limit=1, archived=False, _request_timeout=self._timeout
                ),
            )
        except Exception as err:
            return False, str(err)
        return True, "Connection to HubSpot works: the token can read contacts."

    def ensure_contact_properties(self, definitions: Iterable[Mapping[str, Any]]) -> list[str]:
        """
        Create the custom contact properties that are missing; return the names created.

        Safe to run again and from parallel tasks: an existing property is left as it is, and a 409
        "already exists" from a concurrent create counts as done.

        :param definitions: HubSpot property definitions (``name``, ``label``, ``type``,
            ``fieldType``, ``groupName``, ``hasUniqueValue``...).
        """
        response = self._call(
            "list contact properties",
            lambda: self._properties.get_all(
                object_type="contacts", archived=False, _request_timeout=self._timeout
            ),
        )
        existing = {prop.name: prop for prop in (response.results or [])}
        created = []
        for definition in definitions:
            name = definition["name"]
            if name in existing:
                if definition.get("hasUniqueValue") and not existing[name].has_unique_value:
                    self.log.warning(
                        "HubSpot contact property %s exists without unique values; two contacts may "
                        "then carry the same value.",
                        name,
                    )
                continue
            try:
                # The definitions are HubSpot's JSON already; the SDK sends a dict body as it is.
                self._call(
                    f"create contact property {name}",
                    lambda definition=definition: self._properties.create(
                        object_type="contacts",
                        property_create=dict(definition),
                        _request_timeout=self._timeout,
                    ),
                )
            except HubSpotRequestError as err:
                if err.status != 409:
                    raise
                self.log.info("HubSpot contact property %s was created meanwhile.", name)
                continue
            created.append(name)
        if created:
            self.log.info("Created HubSpot contact properties: %s.", ", ".join(created))
        return created

    def read_contacts(
        self, id_property: str, ids: Sequence[str], properties: Sequence[str]
    ) -> list[dict[str, Any]]:
        """
        Read up to 100 contacts by a unique property; return those found.

        :param id_property: ``email``, a unique custom property such as ``stripe_customer_id``, or
            ``hs_object_id``.
        :param ids: the values to look up.
        :param properties: the properties to return.
        :return: ``[{"id": contact_id, "properties": {name: value_or_None}}]``, in HubSpot's order.
        """
        from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

        _check_batch(ids)
        if not ids:
            return []
        body = BatchReadInputSimplePublicObjectId(
            id_property=None if id_property == "hs_object_id" else id_property,
            inputs=[SimplePublicObjectId(id=value) for value in ids],
            properties=list(properties),
            properties_with_history=[],
        )
        response = self._call(
            f"read {len(ids)} contacts by {id_property}",
            lambda: self._contacts_batch.read(
                batch_read_input_simple_public_object_id=body, archived=False, _request_timeout=self._timeout
            ),
        )
        return _results(response)

    def upsert_contacts(
        self, inputs: Sequence[Mapping[str, Any]], *, id_property: str = "email"
    ) -> list[dict[str, Any]]:
        """
        Create or update up to 100 contacts keyed by a unique property.

        :param inputs: ``[{"id": value_of_id_property, "properties": {...}}]``.
        :param id_property: the unique property ``id`` holds; ``email`` unless given.
        :return: ``[{"id": contact_id, "properties": {...}}]``.
        :raises HubSpotRecordError: when HubSpot refuses any input; split the batch to find which.
        """
        from hubspot.crm.contacts import (
            BatchInputSimplePublicObjectBatchInputUpsert,
            SimplePublicObjectBatchInputUpsert,
        )

        _check_batch(inputs)
        body = BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=str(item["id"]), id_property=id_property, properties=dict(item["properties"])
                )
                for item in inputs
            ]
        )
        description = f"upsert {len(inputs)} contacts by {id_property}"
        response = self._call(
            description,
            lambda: self._contacts_batch.upsert(
                batch_input_simple_public_object_batch_input_upsert=body, _request_timeout=self._timeout
            ),
        )
        _raise_batch_errors(response, description)
        return _results(response)

    def update_contacts(self, inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """
        Update up to 100 contacts by their HubSpot id.

        :param inputs: ``[{"id": contact_id, "properties": {...}}]``.
        :return: ``[{"id": contact_id, "properties": {...}}]``.
        :raises HubSpotRecordError: when HubSpot refuses any input; split the batch to find which.
        """
        from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

        _check_batch(inputs)
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=str(item["id"]), properties=dict(item["properties"]))
                for item in inputs
            ]
        )
        description = f"update {len(inputs)} contacts by id"
        response = self._call(
            description,
            lambda: self._contacts_batch.update(
                batch_input_simple_public_object_batch_input=body, _request_timeout=self._timeout
            ),
        )
        _raise_batch_errors(response, description)
        return _results(response)


def _check_batch(items: Sequence[Any]) -> None:
    if len(items) > MAX_BATCH_SIZE:
        raise ValueError(f"HubSpot batch calls take at most {MAX_BATCH_SIZE} inputs, got {len(items)}.")


def _raise_batch_errors(response: Any, description: str) -> None:
    """Turn per-input errors of a 207 answer into the same error a refused batch gives."""
    errors = _batch_errors(response)
    if not errors:
        return
    messages = "; ".join(str(error["message"]) for error in errors[:5])
    raise HubSpotRecordError(
        f"HubSpot {description}: {len(errors)} input(s) refused: {messages}",
        status=207,
        hubspot_message=messages,
        category=errors[0]["category"],
    )


def _final_error(err: BaseException, description: str, attempts: int) -> HubSpotRequestError:
    """Build the error a failed request ends with: records refused, or the request itself failed."""
    body = error_body(err)
    status = getattr(err, "status", None)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    error_class = HubSpotRecordError if status in RECORD_ERROR_STATUSES else HubSpotRequestError
    return error_class(
        f"HubSpot {description} failed{tries}: {describe_error(err)}",
        status=status if isinstance(status, int) and status else None,
        hubspot_message=body.get("message"),
        category=body.get("category"),
        correlation_id=body.get("correlationId"),
        attempts=attempts,
    )
