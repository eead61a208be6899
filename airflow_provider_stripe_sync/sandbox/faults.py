"""
Network faults of the sandbox: what a flaky network or a slow vendor does to a request.

A queued fault (``POST /_sandbox/faults``) with a ``kind`` other than ``status`` lets the API handle
the request first, so a write is applied, and then spoils the answer:

- ``slow``: the answer is sent after ``delay`` seconds (set it above the client's timeout);
- ``truncated``: a complete HTTP answer whose JSON body is cut in half;
- ``reset``: the headers and half the body are sent, then the connection is reset (TCP RST);
- ``lost_response``: the connection is reset before a byte of the answer is sent.

The client cannot tell whether such a write landed, which is what retries must survive.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from starlette.responses import Response

#: Fault kinds that answer with a status the API renders (429, 5xx...), the original faults.
STATUS = "status"
SLOW = "slow"
TRUNCATED = "truncated"
RESET = "reset"
LOST_RESPONSE = "lost_response"

#: Kinds that let the API apply the request and then spoil its answer.
NETWORK_KINDS = frozenset({SLOW, TRUNCATED, RESET, LOST_RESPONSE})
KINDS = frozenset({STATUS, *NETWORK_KINDS})

#: The wait of a ``slow`` fault when none is given, in seconds.
DEFAULT_SLOW_DELAY = 5.0


class ConnectionFault(ConnectionResetError):
    """Raised where the server cannot reset a connection itself (an in-process test client)."""


def check_kind(kind: Any) -> str:
    """Return a valid fault kind or raise ``ValueError`` naming the valid ones."""
    kind = kind or STATUS
    if kind not in KINDS:
        raise ValueError("kind must be one of {}, not {!r}".format(", ".join(sorted(KINDS)), kind))
    return str(kind)


def spoil(response: Response, kind: str) -> Response:
    """Return the response as the ``kind`` fault delivers it (``slow`` is only a delay: unchanged)."""
    if kind == TRUNCATED:
        body = bytes(response.body)
        cut = Response(body[: len(body) // 2], status_code=response.status_code)
        # The headers of the whole answer, but the length of what is sent: HTTP is happy, JSON is not.
        cut.raw_headers = [(k, v) for k, v in response.raw_headers if k.lower() != b"content-length"]
        cut.raw_headers.append((b"content-length", str(len(body) // 2).encode()))
        return cut
    if kind in (RESET, LOST_RESPONSE):
        return _BrokenResponse(response, send_half=kind == RESET)
    return response


class _BrokenResponse(Response):
    """Sends nothing or half the answer, then resets the connection."""

    def __init__(self, response: Response, *, send_half: bool) -> None:
        self.inner = response
        self.send_half = send_half
        self.status_code = response.status_code
        self.body = response.body
        self.raw_headers = response.raw_headers
        self.background = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.send_half:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            await send(
                {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
            )
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is None:
            raise ConnectionFault("sandbox fault: connection reset")
        await _reset(transport)


async def _reset(transport: Any) -> None:
    """Abort the connection with an RST (linger 0), and let the server notice it is gone."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    # abort() reports connection_lost on the next loop turns; the server then skips its own answer.
    for _ in range(3):
        await asyncio.sleep(0)
