"""Admin routes under ``/_sandbox`` (JSON in and out, no auth): reset, clock, seed, state, faults, log,
limits (latency and rate limits, see ``throttle.py``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from airflow_provider_stripe_sync.sandbox import seed as seeding
from airflow_provider_stripe_sync.sandbox.hubspot_api import HubSpotError
from airflow_provider_stripe_sync.sandbox.stripe_model import StripeError

if TYPE_CHECKING:
    from airflow_provider_stripe_sync.sandbox.app import Sandbox

PREFIX = "/_sandbox"


class AdminError(Exception):
    """A bad admin request (answered with 400)."""


async def _json(request: Request) -> dict[str, Any]:
    """Read a JSON object body (empty body → ``{}``)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as err:
        raise AdminError(f"body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise AdminError("body must be a JSON object")
    return body


def _guard(fn):
    """Turn admin, Stripe and HubSpot errors into 400 JSON answers."""

    async def wrapper(request: Request) -> JSONResponse:
        try:
            return await fn(request)
        except (AdminError, ValueError, KeyError, TypeError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        except StripeError as err:
            return JSONResponse(
                {"error": err.message, "stripe": {"type": err.type, "code": err.code, "param": err.param}},
                status_code=400,
            )
        except HubSpotError as err:
            return JSONResponse(
                {"error": err.message, "hubspot": {"category": err.category}}, status_code=400
            )

    return wrapper


def routes(sandbox: Sandbox) -> list[Route]:
    """The admin routes bound to one sandbox."""
    state = sandbox.state

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "now": state.clock.now()})

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"ok": True, "now": state.clock.now()})

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json(request)
            with state.lock:
                if "now" in body:
                    state.clock.set(float(body["now"]))
                elif "advance" in body:
                    state.clock.advance(float(body["advance"]))
                elif body.get("real"):
                    state.clock.reset()
                else:
                    raise AdminError('give {"now": epoch} or {"advance": seconds}')
        return JSONResponse({"now": state.clock.now(), "frozen": state.clock.frozen})

    async def seed(request: Request) -> JSONResponse:
        body = await _json(request)
        with state.lock:
            if body.get("scenario"):
                result = seeding.seed_scenario(sandbox, body)
            else:
                result = seeding.seed_objects(sandbox, body)
        return JSONResponse(result)

    async def seed_bulk(request: Request) -> JSONResponse:
        body = await _json(request)
        with state.lock:
            return JSONResponse(seeding.seed_bulk(sandbox, body))

    async def limits(request: Request) -> JSONResponse:
        if request.method == "POST":
            sandbox.throttle.configure(await _json(request))
        return JSONResponse(sandbox.throttle.as_dict())

    async def dump(request: Request) -> JSONResponse:
        account = request.query_params.get("account") or None
        resources = [r for r in (request.query_params.get("resources") or "").split(",") if r] or None
        with state.lock:
            return JSONResponse(seeding.dump_state(sandbox, account, resources))

    async def faults(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            with state.lock:
                state.faults.clear()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            body = await _json(request)
            if body.get("api", "stripe") not in sandbox.apis:
                raise AdminError("api must be one of {}".format(", ".join(sorted(sandbox.apis))))
            if not body.get("path"):
                raise AdminError("path is required")
            state.add_fault(body)
        with state.lock:
            return JSONResponse({"faults": [f.as_dict() for f in state.faults]})

    async def requests(request: Request) -> JSONResponse:
        with state.lock:
            if request.method == "DELETE":
                state.requests.clear()
                return JSONResponse({"requests": []})
            return JSONResponse({"requests": list(state.requests)})

    return [
        Route(PREFIX + "/health", health, methods=["GET"]),
        Route(PREFIX + "/reset", _guard(reset), methods=["POST"]),
        Route(PREFIX + "/clock", _guard(clock), methods=["GET", "POST"]),
        Route(PREFIX + "/seed", _guard(seed), methods=["POST"]),
        Route(PREFIX + "/seed/bulk", _guard(seed_bulk), methods=["POST"]),
        Route(PREFIX + "/limits", _guard(limits), methods=["GET", "POST"]),
        Route(PREFIX + "/state", _guard(dump), methods=["GET"]),
        Route(PREFIX + "/faults", _guard(faults), methods=["GET", "POST", "DELETE"]),
        Route(PREFIX + "/requests", _guard(requests), methods=["GET", "DELETE"]),
    ]
