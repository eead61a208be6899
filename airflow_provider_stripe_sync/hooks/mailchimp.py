"""Mailchimp Marketing: the connection type, and a hook for the audience-member calls the sync makes."""

from __future__ import annotations

import io
import json
import random
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_stripe_sync.connection_forms import MAILCHIMP_CONNECTION_FORM
from airflow_provider_stripe_sync.environment import ENVIRONMENT_EXTRA, connection_environment
from airflow_provider_stripe_sync.exceptions import DestinationError
from airflow_provider_stripe_sync.hooks.base import ALLOW_INSECURE_HOST, api_base_url, connection_extras
from airflow_provider_stripe_sync.hooks.transport import UnreadableResponseError, check_json_body

if TYPE_CHECKING:
    from mailchimp_marketing import Client

T = TypeVar("T")

__all__ = [
    "MAILCHIMP_CONNECTION_FORM",
    "MAILCHIMP_EXTRAS",
    "MailchimpHook",
    "MailchimpRecordError",
    "MailchimpRequestError",
    "classify_problem",
]

#: The extras a Mailchimp connection accepts, with their types.
MAILCHIMP_EXTRAS: dict[str, type | tuple[type, ...]] = {
    "server": str,
    "list_id": str,
    "auth": str,
    ENVIRONMENT_EXTRA: str,
    ALLOW_INSECURE_HOST: bool,
}

#: Mailchimp allows 10 simultaneous connections per account; the hook never opens more.
MAX_CONNECTIONS = 10

#: Why Mailchimp refused one member for good (``classify_problem``'s answers besides ``None``).
MEMBER_EXISTS = "member_exists"
FAKE_EMAIL = "fake_or_invalid_email"
COMPLIANCE_STATE = "compliance_state"
PERMANENTLY_DELETED = "permanently_deleted"
INVALID_RESOURCE = "invalid_resource"

#: Reasons that stay true for an email: the next run does not send it again.
PERMANENT_REASONS = frozenset({MEMBER_EXISTS, FAKE_EMAIL, COMPLIANCE_STATE, PERMANENTLY_DELETED})


class MailchimpRequestError(DestinationError):
    """
    A Mailchimp request failed for good: refused, or still failing after the last retry.

    :param message: what went wrong, with Mailchimp's title and detail.
    :param status: the HTTP status, when Mailchimp answered.
    :param title: the problem's ``title`` (``Member Exists``, ``Invalid Resource``...).
    :param detail: the problem's ``detail``.
    :param instance: the problem's ``instance`` id, which Mailchimp's support asks for.
    :param attempts: how many requests were sent in all.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        instance: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.detail = detail
        self.instance = instance
        self.attempts = attempts


class MailchimpRecordError(MailchimpRequestError):
    """
    Mailchimp refused one member for good (an existing member, a fake email, compliance state...).

    :param reason: one of the reasons ``classify_problem`` returns.
    """

    def __init__(self, message: str, *, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason


def parse_problem(body: Any) -> dict[str, Any]:
    """Return a problem+json body (text, bytes or dict) as a dict; ``{}`` when it is none."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, Mapping):
        return dict(body)
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {"detail": body.strip()[:500]}
    return parsed if isinstance(parsed, dict) else {}


def classify_problem(status: int | None, problem: Mapping[str, Any]) -> str | None:
    """
    Name the per-record reason a 400 answer gives, or ``None`` when it is not about one record.

    Mailchimp says why in the problem's ``title`` and ``detail`` only, so this reads those:
    ``Member Exists``, ``Member In Compliance State``, ``Forgotten Email Not Subscribed``, and
    ``Invalid Resource`` whose detail says the email "looks fake or invalid".
    """
    if status != 400:
        return None
    title = str(problem.get("title") or "").strip().lower()
    detail = str(problem.get("detail") or "").lower()
    if title == "member exists":
        return MEMBER_EXISTS
    if title == "member in compliance state" or "compliance state" in detail:
        return COMPLIANCE_STATE
    if title == "forgotten email not subscribed" or "permanently deleted" in detail:
        return PERMANENTLY_DELETED
    if "looks fake or invalid" in detail:
        return FAKE_EMAIL
    if title == "invalid resource":
        return INVALID_RESOURCE
    return None


def _describe(status: int | None, problem: Mapping[str, Any]) -> str:
    title = problem.get("title") or "no title"
    detail = problem.get("detail") or ""
    instance = problem.get("instance")
    suffix = f" (instance {instance})" if instance else ""
    return f"HTTP {status if status is not None else '?'} {title}: {detail}{suffix}".rstrip(": ")


class _Failure(Exception):
    """One failed request, reduced to what deciding a retry needs."""

    def __init__(self, status: int | None, problem: dict[str, Any], retry_after: str | None) -> None:
        super().__init__(_describe(status, problem))
        self.status = status
        self.problem = problem
        self.retry_after = retry_after


class MailchimpHook(BaseHook):
    """
    Talk to a Mailchimp audience with an API key or an OAuth access token.

    The connection's password holds the API key (``…-us21``: the data centre comes from the key
    unless the ``server`` extra names it) or, with the extra ``auth`` set to ``oauth``, an OAuth
    access token, which needs ``server`` (the ``dc`` of Mailchimp's metadata endpoint). The extra
    ``list_id`` names the default audience. The connection's host (and port), when set, replaces
    ``https://<dc>.api.mailchimp.com``, which is how the local sandbox is reached.

    Every request goes through one retry loop: 429s, 5xx and connection errors back off
    (``Retry-After`` honoured), other 4xx never retry. Per-member refusals raise
    ``MailchimpRecordError`` with the reason read from the problem+json body.

    :param mailchimp_conn_id: the Airflow connection to use.
    :param max_retries: retries after a 429, a 5xx or a connection error.
    :param max_wait: the longest single wait in seconds.
    :param request_timeout: timeout of each request, in seconds.
    """

    conn_name_attr = "mailchimp_conn_id"
    default_conn_name = "mailchimp_default"
    conn_type = "mailchimp"
    hook_name = "Mailchimp"

    def __init__(
        self,
        *,
        mailchimp_conn_id: str = default_conn_name,
        max_retries: int = 5,
        max_wait: float = 30.0,
        request_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        self.mailchimp_conn_id = mailchimp_conn_id
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.request_timeout = request_timeout
        self.sleep: Callable[[float], None] = time.sleep

    @cached_property
    def _settings(self) -> dict[str, Any]:
        """Read the connection once: credential, data centre, API base URL, default audience."""
        from airflow.sdk.log import mask_secret

        conn_id = self.mailchimp_conn_id
        conn = self.get_connection(conn_id)
        extras = connection_extras(conn.extra, allowed=MAILCHIMP_EXTRAS, conn_id=conn_id)
        secret = (conn.password or "").strip()
        auth = str(extras.get("auth") or "api_key").strip().lower()
        if auth not in ("api_key", "oauth"):
            raise ValueError(
                f"Connection {conn_id!r}: extra 'auth' must be 'api_key' or 'oauth', got {auth!r}."
            )
        if not secret:
            raise ValueError(
                f"Connection {conn_id!r} has no credential: put the API key (or, with auth 'oauth', "
                "the access token) in its password field."
            )
        mask_secret(secret)
        server = str(extras.get("server") or "").strip()
        if not server and auth == "api_key":
            prefix, _, server = secret.rpartition("-")
            if not prefix:
                server = ""
        if not server or not server.isalnum():
            raise ValueError(
                f"Connection {conn_id!r}: no data centre. An API key ends with it ('…-us21'); "
                "otherwise set the extra 'server' (an OAuth token's 'dc')."
            )
        base_url = api_base_url(
            conn.host,
            default=f"https://{server}.api.mailchimp.com",
            allow_insecure=bool(extras.get(ALLOW_INSECURE_HOST)),
            conn_id=conn_id,
            port=conn.port,
        )
        return {
            "auth": auth,
            "secret": secret,
            "server": server,
            "base_url": base_url,
            "list_id": extras.get("list_id"),
            "environment": connection_environment(extras, conn.host, conn_id=conn_id),
        }

    @property
    def environment(self) -> str:
        """``test`` or ``live``: the ``environment`` extra, else ``test`` on a loopback host only."""
        return self._settings["environment"]

    @property
    def default_list_id(self) -> str | None:
        """The audience the connection names, if any."""
        return self._settings["list_id"]

    @property
    def base_url(self) -> str:
        """The API base URL (without ``/3.0``)."""
        return self._settings["base_url"]

    @cached_property
    def client(self) -> Client:
        """The one SDK client of this hook."""
        import mailchimp_marketing

        settings = self._settings
        config: dict[str, Any] = {"server": settings["server"], "timeout": self.request_timeout}
        config["access_token" if settings["auth"] == "oauth" else "api_key"] = settings["secret"]
        client = mailchimp_marketing.Client(config)
        # The SDK builds each URL from its host template, replacing "server" with the data centre.
        client.api_client.host = settings["base_url"] + "/3.0"
        return client

    def get_conn(self) -> Client:
        """Return the SDK client, built on first use."""
        return self.client

    def _wait(self, retry_number: int, failure: _Failure) -> float:
        if failure.retry_after is not None:
            try:
                return min(self.max_wait, max(0.0, float(failure.retry_after)) * random.uniform(1.0, 1.25))
            except ValueError:
                pass
        return min(self.max_wait, 0.5 * 2 ** (retry_number - 1)) * random.uniform(0.5, 1.0)

    def _call(self, description: str, request: Callable[[], T]) -> T:
        """
        Send ``request`` until it succeeds, fails for good, or its retries run out.

        :raises MailchimpRecordError: when Mailchimp refuses the record for a known reason.
        :raises MailchimpRequestError: on any other failure.
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                return _checked(request())
            except _Failure as failure:
                transient = failure.status is None or failure.status == 429 or failure.status >= 500
                if not transient or attempts > self.max_retries:
                    raise _final_error(failure, description, attempts) from failure
                wait = self._wait(attempts, failure)
                self.log.warning(
                    "[Try %d] Mailchimp %s failed (%s); retrying in %.2f s.",
                    attempts,
                    description,
                    failure,
                    wait,
                )
                self.sleep(wait)

    def _send(self, request: Callable[[], Any]) -> Callable[[], Any]:
        """Wrap an SDK call so its errors become ``_Failure``."""
        from mailchimp_marketing.api_client import ApiClientError

        def send() -> Any:
            try:
                return request()
            except ApiClientError as err:
                status = err.status_code if isinstance(err.status_code, int) else None
                problem = parse_problem(err.text) if status is not None else {"detail": str(err.text)}
                raise _Failure(status, problem, None) from err

        return send

    def test_connection(self) -> tuple[bool, str]:
        """Ping Mailchimp to check the credential and the host; never raises."""
        try:
            self._call("ping", self._send(self.client.ping.get))
        except Exception as err:
            return False, str(err)
        return True, "Connection to Mailchimp works: ping answered."

    def get_list(self, list_id: str) -> dict[str, Any]:
        """Return an audience (``GET /lists/{list_id}``)."""
        return self._call(f"read audience {list_id}", self._send(lambda: self.client.lists.get_list(list_id)))

    def marketing_permission_ids(self, list_id: str) -> list[str] | None:
        """
        Return the ids of an audience's marketing permissions (GDPR fields); ``[]`` when it has none.

        Mailchimp lists them only on members, so one member is read when the audience has them;
        ``None`` when it has them but no member yet (the first member written shows them).
        """
        audience = self.get_list(list_id)
        if not audience.get("marketing_permissions"):
            return []
        page = self._call(
            f"read one member of {list_id}",
            self._send(lambda: self.client.lists.get_list_members_info(list_id, count=1)),
        )
        members = page.get("members") or []
        if not members:
            return None
        permissions = members[0].get("marketing_permissions") or []
        return [str(p["marketing_permission_id"]) for p in permissions if p.get("marketing_permission_id")]

    def get_member(self, list_id: str, subscriber_hash: str) -> dict[str, Any] | None:
        """Return a member (archived ones too), or ``None`` when the audience has no such member."""
        try:
            return self._call(
                f"read member {subscriber_hash}",
                self._send(lambda: self.client.lists.get_list_member(list_id, subscriber_hash)),
            )
        except MailchimpRequestError as err:
            if err.status == 404:
                return None
            raise

    def set_member(self, list_id: str, subscriber_hash: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Add or update a member by subscriber hash (``PUT``); the body carries ``status_if_new``."""
        return self._call(
            f"upsert member {subscriber_hash}",
            self._send(lambda: self.client.lists.set_list_member(list_id, subscriber_hash, dict(body))),
        )

    def update_member_tags(
        self, list_id: str, subscriber_hash: str, tags: Sequence[Mapping[str, str]]
    ) -> None:
        """Set tags on a member: ``[{"name": ..., "status": "active"|"inactive"}]``."""
        self._call(
            f"tag member {subscriber_hash}",
            self._send(
                lambda: self.client.lists.update_list_member_tags(
                    list_id, subscriber_hash, {"tags": [dict(tag) for tag in tags]}
                )
            ),
        )

    def run_batch(
        self, operations: Sequence[Mapping[str, Any]], *, poll_interval: float = 2.0, timeout: float = 3600.0
    ) -> dict[str, dict[str, Any]]:
        """
        Run operations through the batch endpoint, wait for it, and read its results archive.

        Mailchimp runs a batch in the background; its status is read after ``poll_interval``
        seconds, then at doubling intervals up to a minute.

        :param operations: ``{"method", "path", "operation_id", "body"}`` each (``body`` a dict).
        :return: per ``operation_id``: ``{"status_code": n, "response": parsed body}``.
        """
        payload = {
            "operations": [
                {**op, "body": json.dumps(op["body"])} if isinstance(op.get("body"), Mapping) else dict(op)
                for op in operations
            ]
        }
        started = self._call(
            f"start a batch of {len(operations)} operations",
            self._send(lambda: self.client.batches.start(payload)),
        )
        batch_id = started["id"]
        deadline = time.monotonic() + timeout
        status = started
        wait = poll_interval
        while status.get("status") != "finished":
            if time.monotonic() > deadline:
                raise MailchimpRequestError(
                    f"Mailchimp batch {batch_id} did not finish within {timeout:.0f} s."
                )
            self.sleep(wait)
            wait = min(60.0, wait * 2)
            status = self._call(
                f"read batch {batch_id}", self._send(lambda: self.client.batches.status(batch_id))
            )
        self.log.info(
            "Mailchimp batch %s finished: %s operations, %s errored.",
            batch_id,
            status.get("finished_operations"),
            status.get("errored_operations"),
        )
        return self._read_archive(status.get("response_body_url") or "")

    def _read_archive(self, url: str) -> dict[str, dict[str, Any]]:
        """Download a batch's results archive (a gzipped tar of JSON arrays) and index it by operation."""
        import requests

        if not url:
            raise MailchimpRequestError("Mailchimp batch finished without a results archive.")

        def download() -> bytes:
            try:
                response = requests.get(url, timeout=self.request_timeout)
            except requests.RequestException as err:
                raise _Failure(None, {"detail": str(err)}, None) from err
            if not response.ok:
                raise _Failure(response.status_code, {"detail": response.text[:200]}, None)
            return response.content

        content = self._call("download the batch results", download)
        results: dict[str, dict[str, Any]] = {}
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
            for member in archive.getmembers():
                if not member.isfile() or not member.name.endswith(".json"):
                    continue
                handle = archive.extractfile(member)
                for entry in json.loads(handle.read()) if handle else []:
                    results[str(entry.get("operation_id"))] = {
                        "status_code": int(entry.get("status_code") or 0),
                        "response": parse_problem(entry.get("response")),
                    }
        return results


def _checked(result: Any) -> Any:
    """
    The SDK returns a bare ``requests.Response`` for empty bodies, failed ones included, and for
    JSON bodies it could not parse (an answer cut short), which fail here as a connection error would.
    """
    ok = getattr(result, "ok", None)
    if ok is False:
        raise _Failure(
            result.status_code, parse_problem(getattr(result, "text", "")), result.headers.get("Retry-After")
        )
    if ok is True:
        try:
            check_json_body(result.status_code, result.headers.get("content-type"), result.content)
        except UnreadableResponseError as err:
            raise _Failure(None, {"detail": str(err)}, None) from err
    return result


def _final_error(failure: _Failure, description: str, attempts: int) -> MailchimpRequestError:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    message = f"Mailchimp {description} failed{tries}: {failure}"
    fields = {
        "status": failure.status,
        "title": failure.problem.get("title"),
        "detail": failure.problem.get("detail"),
        "instance": failure.problem.get("instance"),
        "attempts": attempts,
    }
    reason = classify_problem(failure.status, failure.problem)
    if reason is not None:
        return MailchimpRecordError(message, reason=reason, **fields)
    return MailchimpRequestError(message, **fields)
