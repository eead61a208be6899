"""The sandbox ASGI app: Stripe (``/v1``), HubSpot (``/crm/v3``) and admin (``/_sandbox``) on one port."""

from __future__ import annotations

import asyncio
import json
import logging
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_stripe_sync.sandbox import admin, faults
from airflow_provider_stripe_sync.sandbox.common import ApiResponse, SandboxRequest
from airflow_provider_stripe_sync.sandbox.encoding import decode_qs
from airflow_provider_stripe_sync.sandbox.hubspot_api import HubSpotApi
from airflow_provider_stripe_sync.sandbox.mailchimp_api import MailchimpApi
from airflow_provider_stripe_sync.sandbox.state import SandboxState, redact_authorization
from airflow_provider_stripe_sync.sandbox.stripe_api import StripeApi
from airflow_provider_stripe_sync.sandbox.stripe_oauth import StripeOAuthApi
from airflow_provider_stripe_sync.sandbox.throttle import Throttle
from airflow_provider_stripe_sync.sandbox.xero_api import XeroApi

log = logging.getLogger(__name__)

#: Request headers kept in the request log.
LOGGED_HEADERS = ("stripe-account", "idempotency-key", "stripe-version", "authorization")


class Sandbox:
    """The state plus one object per API; ``app`` is the Starlette application."""

    def __init__(self, state: SandboxState | None = None) -> None:
        self.state = state or SandboxState()
        self.stripe = StripeApi(self.state)
        self.hubspot = HubSpotApi(self.state)
        self.mailchimp = MailchimpApi(self.state)
        self.apis = {"stripe": self.stripe, "hubspot": self.hubspot}
        self.apis["stripe_oauth"] = StripeOAuthApi(self.state, self.stripe)
        self.apis["mailchimp"] = self.mailchimp
        self.xero = XeroApi(self.state)
        self.apis["xero"] = self.xero
        self.throttle = Throttle(self.stripe)
        self.state.register("throttle", self.throttle)
        api_methods = ["GET", "POST", "DELETE", "PATCH", "PUT"]
        routes = [
            # Stripe Apps' token endpoint sits under /v1 but speaks OAuth: it goes first.
            Route("/v1/oauth/token", self._endpoint("stripe_oauth"), methods=["POST"]),
            Route("/v1/{rest:path}", self._endpoint("stripe"), methods=api_methods),
            Route("/oauth/{rest:path}", self._endpoint("stripe_oauth"), methods=["GET", "POST"]),
            Route("/crm/v3/{rest:path}", self._endpoint("hubspot"), methods=api_methods),
            # Never put "server" in a Mailchimp route: the SDK replaces it in every URL it builds.
            Route("/3.0/{rest:path}", self._endpoint("mailchimp"), methods=api_methods),
            *self.mailchimp.admin_routes(),
            Route("/connect/token", self._endpoint("xero"), methods=["POST"]),
            # Xero's paths are case-insensitive; its SDK asks for /Connections.
            Route("/connections", self._endpoint("xero"), methods=["GET"]),
            Route("/Connections", self._endpoint("xero"), methods=["GET"]),
            Route("/api.xro/2.0/{rest:path}", self._endpoint("xero"), methods=api_methods),
            *self.xero.admin_routes(),
            *admin.routes(self),
        ]
        self.app = Starlette(routes=routes)
        self.app.state.sandbox = self

    def _endpoint(self, api_name: str):
        """Build the route handler of one API."""

        async def endpoint(request: Request) -> Response:
            req = await _decode(request)
            response = self.answer(api_name, req)
            if response.delay:
                await asyncio.sleep(response.delay)
            # The Date header follows the sandbox clock, as a vendor's follows its own: clients that
            # read the server's time (event retention, say) see the sandbox's, not the machine's.
            headers = {"date": formatdate(self.state.clock.now_float(), usegmt=True), **response.headers}
            answer = Response(
                b"" if response.status == 204 else response.encoded(),
                status_code=response.status,
                headers=headers,
                media_type="application/json",
            )
            return faults.spoil(answer, response.fault_kind) if response.fault_kind else answer

        return endpoint

    def answer(self, api_name: str, req: SandboxRequest) -> ApiResponse:
        """Apply a queued fault or let the API answer; log the exchange."""
        api = self.apis[api_name]
        with self.state.lock:
            # Over an emulated rate limit: Stripe's 429, before any fault or handler.
            refused = self.throttle.refusal(api_name, req)
            account = req.header("stripe-account")
            fault = None if refused else self.state.take_fault(api_name, req.method, req.path, account)
            if refused is not None:
                response = refused
            elif fault is not None and fault.kind in faults.NETWORK_KINDS:
                # The request is applied; only its answer is spoilt on the way out.
                log.info("sandbox fault %s for %s %s", fault.kind, req.method, req.path)
                response = api.handle(req)
                response.fault_kind = fault.kind
                response.delay = max(response.delay, fault.delay)
            elif fault is not None:
                log.info("sandbox fault %s for %s %s", fault.status, req.method, req.path)
                response = api.fault_response(fault, req)
            else:
                response = api.handle(req)
            if refused is None:
                response.delay += self.throttle.latency_for(api_name)
            entry = _log_entry(api_name, req, response, self.state.clock.now())
            if fault is not None:
                entry["fault"] = fault.kind
            self.state.log_request(entry)
        return response


async def _decode(request: Request) -> SandboxRequest:
    """Decode query, form body and JSON body."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    form: dict[str, Any] = {}
    body_json: Any = None
    if raw and "json" in content_type:
        try:
            body_json = json.loads(raw)
        except ValueError:
            body_json = None
    elif raw:
        form = decode_qs(raw.decode("utf-8", "replace"))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return SandboxRequest(
        method=request.method,
        path=request.url.path,
        query=decode_qs(request.url.query),
        form=form,
        json=body_json,
        headers=headers,
    )


def _log_entry(api_name: str, req: SandboxRequest, response: ApiResponse, now: int) -> dict[str, Any]:
    """One request-log record (the Authorization header reduced to its key prefix)."""
    headers = {name: req.header(name) for name in LOGGED_HEADERS if req.header(name) is not None}
    if "authorization" in headers:
        headers["authorization"] = redact_authorization(headers["authorization"])
    return {
        "api": api_name,
        "time": now,
        "request_id": req.request_id,
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "form": req.form,
        "json": req.json,
        "headers": headers,
        "status": response.status,
        "response_headers": dict(response.headers),
        "body": response.body,
    }


def create_app(state: SandboxState | None = None) -> Starlette:
    """Build a sandbox app (with fresh state unless one is given)."""
    return Sandbox(state).app
