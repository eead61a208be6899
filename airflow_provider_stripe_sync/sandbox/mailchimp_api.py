"""Mailchimp Marketing's surface (``/3.0/...``): audiences, members, tags, batches, ping, statefully.

Errors are problem+json (``type``, ``title``, ``status``, ``detail``, ``instance``) with Mailchimp's
titles for the per-member refusals: ``Member Exists``, ``Invalid Resource`` ("looks fake or
invalid"), ``Member In Compliance State`` and ``Forgotten Email Not Subscribed``. A fresh sandbox
holds one empty audience, ``aud_sandbox``. Batches finish
when their status is first read; their results archive is a gzipped tar of JSON arrays served under
``/_sandbox/mailchimp/archives/``.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import tarfile
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_provider_stripe_sync.sandbox.common import ApiResponse, SandboxRequest
from airflow_provider_stripe_sync.sandbox.state import Fault, SandboxState

PROBLEM_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM_HEADERS = {"Content-Type": "application/problem+json; charset=utf-8"}
ADMIN_PREFIX = "/_sandbox/mailchimp"
#: The audience every fresh sandbox has, so a demo needs no seeding for Mailchimp.
DEFAULT_LIST_ID = "aud_sandbox"
MEMBER_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")

#: Domains and local parts the sandbox's Mailchimp judges fake, as the real one does for similar ones.
FAKE_DOMAINS = frozenset({"test.com", "fake.com", "mailinator.com", "example.invalid"})
FAKE_LOCAL_PARTS = frozenset({"test", "fake", "asdf", "noreply"})
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class MailchimpError(Exception):
    """A problem+json answer."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_TYPE,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": str(uuid.uuid4()),
        }


def email_hash(email: str) -> str:
    """MD5 of the trimmed, lower-cased email: Mailchimp's subscriber hash."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def looks_fake(email: str) -> bool:
    """Whether the sandbox refuses an address as "fake or invalid"."""
    normalised = email.strip().lower()
    if not _EMAIL_RE.match(normalised):
        return True
    local, _, domain = normalised.partition("@")
    return domain in FAKE_DOMAINS or local in FAKE_LOCAL_PARTS


class MailchimpState:
    """Audiences with their members, forgotten emails and batches."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        self.lists: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}
        self.forgotten: dict[str, set[str]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.archives: dict[str, bytes] = {}
        self.next_tag_id = 1
        self.tag_ids: dict[str, int] = {}
        self.add_list({"id": DEFAULT_LIST_ID, "name": "Sandbox audience"})

    def add_list(self, spec: dict[str, Any]) -> dict[str, Any]:
        list_id = str(spec.get("id") or uuid.uuid4().hex[:10])
        permissions = [
            {
                "marketing_permission_id": str(p.get("id") or p.get("marketing_permission_id")),
                "text": p.get("text", ""),
            }
            for p in spec.get("marketing_permissions") or []
        ]
        self.lists[list_id] = {
            "id": list_id,
            "web_id": len(self.lists) + 1,
            "name": spec.get("name") or f"Audience {list_id}",
            "date_created": _iso(self.state.clock.now_float()),
            "double_optin": bool(spec.get("double_optin", False)),
            "marketing_permissions": bool(permissions),
            "_permissions": permissions,
        }
        self.members.setdefault(list_id, {})
        self.forgotten.setdefault(list_id, set())
        return self.lists[list_id]

    def audience(self, list_id: str) -> dict[str, Any]:
        if list_id not in self.lists:
            raise MailchimpError(404, "Resource Not Found", "The requested resource could not be found.")
        return self.lists[list_id]

    def tag(self, name: str) -> dict[str, Any]:
        if name not in self.tag_ids:
            self.tag_ids[name] = self.next_tag_id
            self.next_tag_id += 1
        return {"id": self.tag_ids[name], "name": name}

    def new_member(self, list_id: str, email: str, status: str) -> dict[str, Any]:
        audience = self.audience(list_id)
        now = _iso(self.state.clock.now_float())
        member = {
            "id": email_hash(email),
            "email_address": email.strip(),
            "unique_email_id": uuid.uuid4().hex[:10],
            "contact_id": uuid.uuid4().hex,
            "full_name": "",
            "web_id": sum(len(m) for m in self.members.values()) + 1,
            "email_type": "html",
            "status": status,
            "merge_fields": {},
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": "",
            "timestamp_signup": "",
            "ip_opt": "",
            "timestamp_opt": now,
            "member_rating": 2,
            "last_changed": now,
            "language": "",
            "vip": False,
            "email_client": "",
            "location": {
                "latitude": 0,
                "longitude": 0,
                "gmtoff": 0,
                "dstoff": 0,
                "country_code": "",
                "timezone": "",
            },
            "marketing_permissions": [
                {**permission, "enabled": False} for permission in audience["_permissions"]
            ],
            "source": "API - Generic",
            "tags_count": 0,
            "tags": [],
            "list_id": list_id,
        }
        self.members[list_id][member["id"]] = member
        return member


def _member_view(member: dict[str, Any]) -> dict[str, Any]:
    view = copy.deepcopy(member)
    view.pop("_archived_status", None)
    view["_links"] = []
    return view


class MailchimpApi:
    """Answers ``/3.0`` requests."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.chimp = MailchimpState(state)
        state.register("mailchimp", self.chimp)
        member = r"^/3\.0/lists/([^/]+)/members/([0-9a-fA-F]{32})"
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]] = [
            ("GET", re.compile(r"^/3\.0/ping/?$"), self.ping),
            ("GET", re.compile(r"^/3\.0/lists/([^/]+)/?$"), self.get_list),
            ("GET", re.compile(r"^/3\.0/lists/([^/]+)/members/?$"), self.list_members),
            ("POST", re.compile(r"^/3\.0/lists/([^/]+)/members/?$"), self.add_member),
            ("GET", re.compile(member + r"/?$"), self.get_member),
            ("PUT", re.compile(member + r"/?$"), self.put_member),
            ("GET", re.compile(member + r"/tags/?$"), self.get_tags),
            ("POST", re.compile(member + r"/tags/?$"), self.post_tags),
            ("POST", re.compile(r"^/3\.0/batches/?$"), self.start_batch),
            ("GET", re.compile(r"^/3\.0/batches/([^/]+)/?$"), self.batch_status),
        ]
        self.base_url = ""
        self.query: dict[str, Any] = {}

    def handle(self, req: SandboxRequest) -> ApiResponse:
        """Answer one request (called with the state lock held)."""
        host = req.header("host")
        if host:
            self.base_url = f"http://{host}"
        try:
            self._authenticate(req)
            self.query = req.query
            return self._route(req.method, req.path, req.json)
        except MailchimpError as err:
            return ApiResponse(err.status, err.body(), dict(PROBLEM_HEADERS))

    def _route(self, method: str, path: str, body: Any) -> ApiResponse:
        for route_method, regex, fn in self.routes:
            found = regex.match(path)
            if found and route_method == method:
                status, answer = fn(body, *found.groups())
                return ApiResponse(status, answer)
        raise MailchimpError(404, "Resource Not Found", "The requested resource could not be found.")

    def _authenticate(self, req: SandboxRequest) -> None:
        import base64

        scheme, _, credential = (req.header("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(credential).decode().split(":", 1)[1]
            except (ValueError, IndexError, UnicodeDecodeError):
                key = ""
            if re.fullmatch(r"[0-9A-Za-z_]+-[a-z]+[0-9]+", key):
                return
            raise MailchimpError(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        if scheme.lower() == "bearer" and credential.strip():
            return
        raise MailchimpError(401, "API Key Missing", "Your request did not include an API key.")

    def fault_response(self, fault: Fault, req: SandboxRequest) -> ApiResponse:
        """Render an injected fault as Mailchimp would."""
        if fault.body is not None:
            return ApiResponse(
                fault.status, fault.body, {**PROBLEM_HEADERS, **fault.headers}, delay=fault.delay
            )
        title = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}.get(
            fault.status, "Sandbox Fault"
        )
        error = MailchimpError(fault.status, title, fault.message or "An injected sandbox fault.")
        return ApiResponse(
            fault.status, error.body(), {**PROBLEM_HEADERS, **fault.headers}, delay=fault.delay
        )

    # -- endpoints ------------------------------------------------------------------------------------

    def ping(self, body: Any) -> tuple[int, Any]:
        return 200, {"health_status": "Everything's Chimpy!"}

    def get_list(self, body: Any, list_id: str) -> tuple[int, Any]:
        audience = self.chimp.audience(list_id)
        view = {k: v for k, v in audience.items() if not k.startswith("_")}
        view["stats"] = {"member_count": len(self.chimp.members[list_id])}
        return 200, view

    def list_members(self, body: Any, list_id: str) -> tuple[int, Any]:
        self.chimp.audience(list_id)
        members = list(self.chimp.members[list_id].values())
        try:
            count = min(1000, int(self.query.get("count", 10)))
            offset = max(0, int(self.query.get("offset", 0)))
        except (TypeError, ValueError):
            raise MailchimpError(400, "Invalid Resource", "count and offset must be integers.") from None
        return 200, {
            "members": [_member_view(m) for m in members[offset : offset + count]],
            "list_id": list_id,
            "total_items": len(members),
        }

    def _existing(self, list_id: str, subscriber_hash: str) -> dict[str, Any]:
        self.chimp.audience(list_id)
        member = self.chimp.members[list_id].get(subscriber_hash.lower())
        if member is None:
            raise MailchimpError(404, "Resource Not Found", "The requested resource could not be found.")
        return member

    def get_member(self, body: Any, list_id: str, subscriber_hash: str) -> tuple[int, Any]:
        return 200, _member_view(self._existing(list_id, subscriber_hash))

    def add_member(self, body: Any, list_id: str) -> tuple[int, Any]:
        email = str((body or {}).get("email_address") or "")
        if email_hash(email) in self.chimp.members[self.chimp.audience(list_id)["id"]]:
            raise MailchimpError(
                400,
                "Member Exists",
                f"{email} is already a list member. Use PUT to insert or update list members.",
            )
        return self.put_member({"status_if_new": body.get("status"), **body}, list_id, email_hash(email))

    def put_member(self, body: Any, list_id: str, subscriber_hash: str) -> tuple[int, Any]:
        self.chimp.audience(list_id)
        body = body or {}
        email = str(body.get("email_address") or "").strip()
        if not email:
            raise MailchimpError(
                400,
                "Invalid Resource",
                "The resource submitted could not be validated. email_address is required.",
            )
        subscriber_hash = subscriber_hash.lower()
        members = self.chimp.members[list_id]
        member = members.get(subscriber_hash)
        status = body.get("status")
        wanted = status or body.get("status_if_new")
        if member is None:
            if email_hash(email) != subscriber_hash:
                raise MailchimpError(
                    400, "Invalid Resource", "The subscriber hash does not match the email address."
                )
            if subscriber_hash in self.chimp.forgotten[list_id]:
                raise MailchimpError(
                    400,
                    "Forgotten Email Not Subscribed",
                    f"{email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.",
                )
            if looks_fake(email):
                raise MailchimpError(
                    400,
                    "Invalid Resource",
                    f"{email} looks fake or invalid, please enter a real email address.",
                )
            if wanted not in MEMBER_STATUSES or wanted == "archived":
                raise MailchimpError(
                    400,
                    "Invalid Resource",
                    "The resource submitted could not be validated. status_if_new is required.",
                )
            member = self.chimp.new_member(list_id, email, wanted)
        else:
            current = member["status"]
            if current == "archived":
                previous = member.get("_archived_status", "subscribed")
                if previous in ("unsubscribed", "cleaned") and wanted in ("subscribed", "pending"):
                    raise MailchimpError(
                        400,
                        "Member In Compliance State",
                        f"{email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.",
                    )
                member["status"] = wanted if wanted in MEMBER_STATUSES and wanted != "archived" else previous
                member.pop("_archived_status", None)
            elif status:
                if current in ("unsubscribed", "cleaned") and status in ("subscribed", "pending"):
                    raise MailchimpError(
                        400,
                        "Member In Compliance State",
                        f"{email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.",
                    )
                member["status"] = status
            if email_hash(email) != subscriber_hash:
                if email_hash(email) in members:
                    raise MailchimpError(400, "Member Exists", f"{email} is already a list member.")
                members.pop(subscriber_hash)
                member["id"] = email_hash(email)
                member["email_address"] = email
                members[member["id"]] = member
        for name, value in (body.get("merge_fields") or {}).items():
            member["merge_fields"][name] = value
        names = [member["merge_fields"].get("FNAME"), member["merge_fields"].get("LNAME")]
        member["full_name"] = " ".join(n for n in names if n)
        for permission in body.get("marketing_permissions") or []:
            for held in member["marketing_permissions"]:
                if held["marketing_permission_id"] == permission.get("marketing_permission_id"):
                    held["enabled"] = bool(permission.get("enabled"))
        member["last_changed"] = _iso(self.state.clock.now_float())
        return 200, _member_view(member)

    def get_tags(self, body: Any, list_id: str, subscriber_hash: str) -> tuple[int, Any]:
        member = self._existing(list_id, subscriber_hash)
        tags = [{**tag, "date_added": member["last_changed"]} for tag in member["tags"]]
        return 200, {"tags": tags, "total_items": len(tags)}

    def post_tags(self, body: Any, list_id: str, subscriber_hash: str) -> tuple[int, Any]:
        member = self._existing(list_id, subscriber_hash)
        tags = (body or {}).get("tags")
        if not isinstance(tags, list):
            raise MailchimpError(
                400, "Invalid Resource", "The resource submitted could not be validated. tags is required."
            )
        current = {tag["name"]: tag for tag in member["tags"]}
        for tag in tags:
            name = str(tag.get("name") or "").strip()
            if not name:
                continue
            if tag.get("status") == "inactive":
                current.pop(name, None)
            else:
                current.setdefault(name, self.chimp.tag(name))
        member["tags"] = sorted(current.values(), key=lambda tag: tag["id"])
        member["tags_count"] = len(member["tags"])
        return 204, None

    def start_batch(self, body: Any) -> tuple[int, Any]:
        operations = (body or {}).get("operations")
        if not isinstance(operations, list):
            raise MailchimpError(
                400,
                "Invalid Resource",
                "The resource submitted could not be validated. operations is required.",
            )
        batch_id = uuid.uuid4().hex[:10]
        now = _iso(self.state.clock.now_float())
        self.chimp.batches[batch_id] = {
            "id": batch_id,
            "status": "pending",
            "total_operations": len(operations),
            "finished_operations": 0,
            "errored_operations": 0,
            "submitted_at": now,
            "completed_at": "",
            "response_body_url": "",
            "_operations": copy.deepcopy(operations),
        }
        return 200, self._batch_view(batch_id)

    def _batch_view(self, batch_id: str) -> dict[str, Any]:
        view = {k: v for k, v in self.chimp.batches[batch_id].items() if not k.startswith("_")}
        view["_links"] = []
        return view

    def batch_status(self, body: Any, batch_id: str) -> tuple[int, Any]:
        batch = self.chimp.batches.get(batch_id)
        if batch is None:
            raise MailchimpError(404, "Resource Not Found", "The requested resource could not be found.")
        if batch["status"] == "pending":
            self._run_batch(batch)
        return 200, self._batch_view(batch_id)

    def _run_batch(self, batch: dict[str, Any]) -> None:
        results = []
        errored = 0
        for operation in batch["_operations"]:
            path = "/3.0" + "/" + str(operation.get("path") or "").lstrip("/")
            raw = operation.get("body")
            try:
                payload = json.loads(raw) if isinstance(raw, str) and raw else raw
            except ValueError:
                payload = None
            try:
                answer = self._route(str(operation.get("method") or "GET").upper(), path, payload)
            except MailchimpError as err:
                answer = ApiResponse(err.status, err.body())
            if answer.status >= 400:
                errored += 1
            results.append(
                {
                    "status_code": answer.status,
                    "operation_id": operation.get("operation_id"),
                    "response": json.dumps(answer.body) if answer.body is not None else "",
                }
            )
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            data = json.dumps(results).encode()
            info = tarfile.TarInfo(f"{batch['id']}/results-0.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        self.chimp.archives[batch["id"]] = buffer.getvalue()
        batch.update(
            status="finished",
            finished_operations=len(results),
            errored_operations=errored,
            completed_at=_iso(self.state.clock.now_float()),
            response_body_url=f"{self.base_url}{ADMIN_PREFIX}/archives/{batch['id']}.tar.gz",
        )

    # -- admin ---------------------------------------------------------------------------------------

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create audiences, members (any status, ``archived_status`` for archived ones) and forgotten emails."""
        made: dict[str, Any] = {"lists": [], "members": []}
        for spec in body.get("lists") or []:
            made["lists"].append(self.chimp.add_list(spec)["id"])
        for spec in body.get("members") or []:
            list_id = spec["list_id"]
            status = spec.get("status", "subscribed")
            member = self.chimp.new_member(list_id, spec["email_address"], status)
            if status == "archived":
                member["_archived_status"] = spec.get("archived_status", "subscribed")
            member["merge_fields"].update(spec.get("merge_fields") or {})
            member["tags"] = [self.chimp.tag(name) for name in spec.get("tags") or []]
            member["tags_count"] = len(member["tags"])
            made["members"].append(member["id"])
        for spec in body.get("forgotten") or []:
            self.chimp.audience(spec["list_id"])
            self.chimp.forgotten[spec["list_id"]].add(email_hash(spec["email_address"]))
        return made

    def dump(self) -> dict[str, Any]:
        """Audiences with their members (sorted by email), and batches."""
        return {
            "lists": [
                {
                    **{k: v for k, v in audience.items() if not k.startswith("_")},
                    "members": [
                        _member_view(m)
                        for m in sorted(
                            self.chimp.members[list_id].values(), key=lambda m: m["email_address"]
                        )
                    ],
                }
                for list_id, audience in self.chimp.lists.items()
            ],
            "batches": [self._batch_view(batch_id) for batch_id in self.chimp.batches],
        }

    def admin_routes(self) -> list[Route]:
        async def seed(request: Request) -> JSONResponse:
            body = json.loads(await request.body() or b"{}")
            try:
                with self.state.lock:
                    return JSONResponse(self.seed(body))
            except (KeyError, ValueError, MailchimpError) as err:
                return JSONResponse({"error": str(err)}, status_code=400)

        async def state(request: Request) -> JSONResponse:
            with self.state.lock:
                return JSONResponse(self.dump())

        async def archive(request: Request) -> Response:
            with self.state.lock:
                data = self.chimp.archives.get(request.path_params["batch_id"])
            if data is None:
                return Response(b"not found", status_code=404)
            return Response(data, media_type="application/gzip")

        return [
            Route(ADMIN_PREFIX + "/seed", seed, methods=["POST"]),
            Route(ADMIN_PREFIX + "/state", state, methods=["GET"]),
            Route(ADMIN_PREFIX + "/archives/{batch_id}.tar.gz", archive, methods=["GET"]),
        ]
