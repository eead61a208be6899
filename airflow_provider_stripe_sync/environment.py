"""
Test and live data never mix: a destination connection says which environment it is.

Stripe keys are test-mode or live-mode keys; HubSpot, Xero and Mailchimp have no such mode, only
accounts used for testing (a HubSpot test account, Xero's Demo Company, a test audience) and the real
ones. Each destination connection therefore says which it is in its ``environment`` extra, ``test``
or ``live``, and a destination operator compares it with the Stripe mode its record files were read
in (their header's ``livemode``) before it sends anything.

When the extra is empty, a destination on a loopback host (the local sandbox, a mock: never a real
account) is ``test``, and any other is ``live``. An unlabelled connection to a real service is taken
for the real account, so test data never reaches it and a production sync from a live key keeps
working unchanged; a test account on the real service must say ``test``, and then a run with a live
key refuses to write to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_stripe_sync.exceptions import EnvironmentMismatchError
from airflow_provider_stripe_sync.hooks.base import _is_loopback

#: The extra naming a destination connection's environment.
ENVIRONMENT_EXTRA = "environment"
TEST = "test"
LIVE = "live"
ENVIRONMENTS = (TEST, LIVE)


def connection_environment(extras: Mapping[str, Any], host: str | None, *, conn_id: str) -> str:
    """
    Return ``test`` or ``live`` for a destination connection.

    :param extras: the connection's checked extras.
    :param host: the connection's host override, if any.
    :param conn_id: the connection's id, for error messages.
    """
    value = extras.get(ENVIRONMENT_EXTRA)
    if value is None or (isinstance(value, str) and not value.strip()):
        return TEST if host and _host_is_loopback(host) else LIVE
    text = str(value).strip().lower()
    if text not in ENVIRONMENTS:
        raise ValueError(
            f"Connection {conn_id!r}: extra {ENVIRONMENT_EXTRA!r} must be 'test' (an account used for "
            f"testing, the sandbox) or 'live' (the real account), got {value!r}."
        )
    return text


def _host_is_loopback(host: str) -> bool:
    text = host.strip()
    hostname = urlsplit(text if "://" in text else "//" + text).hostname or ""
    return _is_loopback(hostname)


def records_livemode(headers: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[bool | None, str | None]:
    """
    Return the Stripe mode record files were read in (``True`` live, ``False`` test, ``None`` unknown)
    and the first file that says so.

    :param headers: each file's URI with its header (``records.read_header``); a file with no
        ``livemode`` in its header (written by something else) says nothing.
    :raises EnvironmentMismatchError: when some files were read in live mode and others in test mode.
    """
    modes: dict[bool, str] = {}
    for uri, header in headers:
        livemode = header.get("livemode")
        if isinstance(livemode, bool):
            modes.setdefault(livemode, uri)
    if len(modes) > 1:
        raise EnvironmentMismatchError(
            f"The record files mix Stripe modes: {modes[True]} was read in live mode and {modes[False]} "
            "in test mode. Read every input with keys of one mode."
        )
    for livemode, uri in modes.items():
        return livemode, uri
    return None, None


def check_records_environment(uris: Iterable[str], environment: str, *, conn_id: str) -> bool | None:
    """
    Read the record files' headers and refuse them when their Stripe mode is not ``environment``'s.

    Returns the records' mode (``None`` when no header says). Only the first line of each file is read.
    """
    from airflow_provider_stripe_sync.records import read_header

    livemode, uri = records_livemode((uri, read_header(uri)) for uri in uris)
    check_environment(livemode, environment, conn_id=conn_id, uri=uri)
    return livemode


def check_environment(livemode: bool | None, environment: str, *, conn_id: str, uri: str | None) -> None:
    """
    Refuse to write records read in one Stripe mode to a destination of the other environment.

    :param livemode: the records' Stripe mode (``records_livemode``); ``None`` is not checked.
    :param environment: the destination connection's ``test`` or ``live``.
    :param conn_id: the destination connection, for the message.
    :param uri: a record file, for the message.
    """
    if livemode is None:
        return
    if livemode and environment == TEST:
        raise EnvironmentMismatchError(
            f"The records ({uri}) were read from Stripe with a live-mode key, but connection {conn_id!r} "
            f"is a test environment (extra {ENVIRONMENT_EXTRA!r} is 'test', or empty on a loopback host): "
            "live customers' data must "
            "not go to a test account. Use the connection of the live account, or read Stripe with a "
            "test key. Nothing was written."
        )
    if not livemode and environment == LIVE:
        raise EnvironmentMismatchError(
            f"The records ({uri}) were read from Stripe with a test-mode key, but connection {conn_id!r} "
            f"is a live environment (extra {ENVIRONMENT_EXTRA!r} is 'live', or empty on a host that is "
            "not loopback): test data must not reach a live account. Use a connection to a test account "
            f"with the extra {ENVIRONMENT_EXTRA!r} set to 'test', or read Stripe with a live key. "
            "Nothing was written."
        )
