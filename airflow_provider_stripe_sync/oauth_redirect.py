"""The browser step of an OAuth authorisation: catch the redirect on a loopback port."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def wait_for_code(redirect_uri: str, state: str, *, service: str, timeout: float = 300.0) -> str:
    """Serve the redirect URI once and return the code ``service`` sends back, after checking ``state``."""
    parts = urlsplit(redirect_uri)
    if parts.hostname not in ("localhost", "127.0.0.1") or not parts.port:
        raise SystemExit(
            "Without --code, the redirect URI must be http://localhost:PORT/... to catch the code."
        )
    found: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            query = parse_qs(urlsplit(self.path).query)
            if query.get("state", [""])[0] != state:
                found["error"] = "the state did not match: the answer was not for this request"
            elif "code" in query:
                found["code"] = query["code"][0]
            else:
                found["error"] = query.get("error", ["no code in the answer"])[0]
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"You can close this window and go back to the terminal.")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer((parts.hostname, parts.port), Handler)
    server.timeout = timeout
    server.handle_request()
    server.server_close()
    if "code" not in found:
        raise SystemExit(f"{service} did not authorise the app: {found.get('error', 'no answer in time')}.")
    return found["code"]
