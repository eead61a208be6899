"""
Stripe Connect OAuth for Standard accounts (``/oauth/...``), as ``connect.stripe.com`` answers it.

``GET /oauth/authorize`` stands in for the page where an account owner approves the platform: it
approves at once and redirects to ``redirect_uri`` with a single-use code (the sandbox-only query
parameter ``stripe_user_id`` picks which account connects; otherwise a new one does). ``POST
/oauth/token`` exchanges the code, or a refresh token, with the platform's secret key;
``POST /oauth/deauthorize`` disconnects an account, after which the platform's requests for it are
refused with 403 as Stripe refuses them. OAuth errors have OAuth's shape,
``{"error": "invalid_grant", "error_description": ...}``, which stripe-python turns into its
``stripe.oauth_error`` classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow_provider_stripe_sync.sandbox.common import ApiResponse

if TYPE_CHECKING:
    from airflow_provider_stripe_sync.sandbox.common import SandboxRequest
    from airflow_provider_stripe_sync.sandbox.state import Fault, SandboxState
    from airflow_provider_stripe_sync.sandbox.stripe_api import StripeApi


def _oauth_error(status: int, error: str, description: str) -> ApiResponse:
    return ApiResponse(status, {"error": error, "error_description": description})


class StripeOAuthApi:
    """Answers ``/oauth/authorize``, ``/oauth/token`` and ``/oauth/deauthorize``."""

    def __init__(self, state: SandboxState, stripe_api: StripeApi) -> None:
        self.state = state
        self.stripe_api = stripe_api

    @property
    def stripe(self) -> Any:
        return self.stripe_api.stripe

    def fault_response(self, fault: Fault, req: SandboxRequest) -> ApiResponse:
        return self.stripe_api.fault_response(fault, req)

    def handle(self, req: SandboxRequest) -> ApiResponse:
        """Answer one request (called with the state lock held)."""
        params = {**req.query, **req.form}
        routes = {
            ("GET", "/oauth/authorize"): self._authorize,
            ("POST", "/oauth/token"): self._token,
            ("POST", "/oauth/deauthorize"): self._deauthorize,
            ("POST", "/v1/oauth/token"): self._app_token,
        }
        handler = routes.get((req.method, req.path.rstrip("/")))
        if handler is None:
            response = _oauth_error(
                404, "invalid_request", f"Unrecognized request URL ({req.method}: {req.path})."
            )
        elif req.method == "POST" and not self._platform_key(req):
            response = _oauth_error(401, "invalid_client", "No valid API key provided.")
        else:
            response = handler(params)
        response.headers = {"Request-Id": req.request_id, **response.headers}
        return response

    @staticmethod
    def _platform_key(req: SandboxRequest) -> str | None:
        auth = req.header("authorization") or ""
        key = auth.split(" ", 1)[-1].strip()
        return key if key.startswith("sk_") else None

    def _authorize(self, params: dict[str, Any]) -> ApiResponse:
        client_id = str(params.get("client_id") or "")
        if not client_id.startswith("ca_"):
            return _oauth_error(400, "invalid_client", f"No such application: '{client_id}'")
        if params.get("response_type", "code") != "code":
            return _oauth_error(400, "unsupported_response_type", "Only response_type=code is supported.")
        account = str(params.get("stripe_user_id") or self.state.ids.make("acct", 16))
        scope = str(params.get("scope") or "read_only")
        code = self.state.ids.make("ac", 24)
        self.stripe.oauth_codes[code] = {"account": account, "scope": scope, "client_id": client_id}
        self.stripe.deauthorized.discard(account)
        self.stripe.store(account)
        answer = {"code": code, "scope": scope}
        if params.get("state"):
            answer["state"] = str(params["state"])
        redirect = params.get("redirect_uri")
        if not redirect:
            return ApiResponse(200, answer)
        separator = "&" if "?" in str(redirect) else "?"
        return ApiResponse(302, answer, {"Location": f"{redirect}{separator}{urlencode(answer)}"})

    def _token(self, params: dict[str, Any]) -> ApiResponse:
        grant = params.get("grant_type")
        if grant == "authorization_code":
            granted = self.stripe.oauth_codes.pop(str(params.get("code")), None)
            if granted is None:
                return _oauth_error(
                    400, "invalid_grant", f"Authorization code does not exist: {params.get('code')}"
                )
            account, scope = granted["account"], granted["scope"]
        elif grant == "refresh_token":
            granted = self.stripe.oauth_refresh_tokens.get(str(params.get("refresh_token")))
            if granted is None or granted["account"] in self.stripe.deauthorized:
                return _oauth_error(400, "invalid_grant", "Refresh token does not exist or was revoked.")
            account, scope = granted["account"], granted["scope"]
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        refresh_token = "rt_" + self.state.ids.token(32)
        self.stripe.oauth_refresh_tokens[refresh_token] = {"account": account, "scope": scope}
        return ApiResponse(
            200,
            {
                "access_token": "sk_test_" + self.state.ids.token(32),
                "livemode": False,
                "refresh_token": refresh_token,
                "scope": scope,
                "stripe_publishable_key": "pk_test_" + self.state.ids.token(32),
                "stripe_user_id": account,
                "token_type": "bearer",
            },
        )

    def _app_token(self, params: dict[str, Any]) -> ApiResponse:
        """
        Stripe Apps installs: codes and refresh tokens give an access token that lasts one hour.

        Refresh tokens rotate: each one works once, and the answer carries the next one.
        """
        grant = params.get("grant_type")
        if grant == "authorization_code":
            granted = self.stripe.oauth_codes.pop(str(params.get("code")), None)
            if granted is None:
                return _oauth_error(
                    400, "invalid_grant", f"Authorization code does not exist: {params.get('code')}"
                )
            account = granted["account"]
        elif grant == "refresh_token":
            account = self.stripe.app_refresh_tokens.pop(str(params.get("refresh_token")), None)
            if account is None or account in self.stripe.deauthorized:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        access_token = "sk_test_app" + self.state.ids.token(32)
        refresh_token = "rt_app" + self.state.ids.token(32)
        self.stripe.app_tokens[access_token] = {
            "account": account,
            "expires_at": self.state.clock.now() + 3600,
        }
        self.stripe.app_refresh_tokens[refresh_token] = account
        return ApiResponse(
            200,
            {
                "access_token": access_token,
                "expires_in": 3600,
                "livemode": False,
                "refresh_token": refresh_token,
                "scope": "stripe_apps",
                "stripe_user_id": account,
                "token_type": "bearer",
            },
        )

    def _deauthorize(self, params: dict[str, Any]) -> ApiResponse:
        account = str(params.get("stripe_user_id") or "")
        if not str(params.get("client_id") or "").startswith("ca_"):
            return _oauth_error(400, "invalid_client", f"No such application: '{params.get('client_id')}'")
        if account not in self.stripe.partitions or account in self.stripe.deauthorized:
            return _oauth_error(
                400, "invalid_client", f"This application is not connected to stripe account {account}."
            )
        self.stripe.deauthorized.add(account)
        return ApiResponse(200, {"stripe_user_id": account})
