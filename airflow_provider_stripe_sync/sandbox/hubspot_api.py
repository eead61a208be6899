"""HubSpot's CRM surface (``/crm/v3/...``): contact properties and contacts, statefully.

Responses deserialise through hubspot-api-client's models; errors use HubSpot's envelope
``{"status": "error", "message", "correlationId", "category"}``.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from airflow_provider_stripe_sync.sandbox.common import ApiResponse, SandboxRequest
from airflow_provider_stripe_sync.sandbox.state import Fault, SandboxState

MAX_BATCH = 100
MAX_LIMIT = 100
FIRST_CONTACT_ID = 1001

#: Properties every response carries.
ALWAYS_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate"}

_DEFAULT_DEFS = [
    ("email", "Email", "string", "text"),
    ("firstname", "First Name", "string", "text"),
    ("lastname", "Last Name", "string", "text"),
    ("phone", "Phone Number", "string", "phonenumber"),
    ("company", "Company Name", "string", "text"),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio"),
    ("hs_object_id", "Record ID", "number", "number"),
    ("createdate", "Create Date", "datetime", "date"),
    ("lastmodifieddate", "Last Modified Date", "datetime", "date"),
]
_LIFECYCLE = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class HubSpotError(Exception):
    """A HubSpot-shaped error response."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The error envelope."""
        return {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
            **self.extra,
        }


def iso(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _invalid_values(errors: list[dict[str, Any]]) -> HubSpotError:
    """HubSpot's 'Property values were not valid' error, listing each problem."""
    text = json.dumps(errors, separators=(",", ":"))
    return HubSpotError(400, f"Property values were not valid: {text}", "VALIDATION_ERROR")


def _value_error(name: str, error: str, message: str) -> dict[str, Any]:
    """One entry of a property-values error."""
    return {
        "isValid": False,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    }


def normalise_email(value: Any) -> str:
    """Lower-case and trim an email, as HubSpot stores it."""
    return str(value).strip().lower()


class HubSpotState:
    """Contact properties and contacts."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.properties: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.next_id = FIRST_CONTACT_ID
        self.reset()

    def reset(self) -> None:
        """Back to the default properties and no contacts."""
        self.properties = {}
        self.contacts = {}
        self.next_id = FIRST_CONTACT_ID
        for name, label, type_, field_type in _DEFAULT_DEFS:
            prop = self.make_property(
                {
                    "name": name,
                    "label": label,
                    "type": type_,
                    "fieldType": field_type,
                    "groupName": "contactinformation",
                },
                at=1577836800,
            )
            prop["hubspotDefined"] = True
            prop["modificationMetadata"]["readOnlyValue"] = name in READ_ONLY
            if name == "lifecyclestage":
                prop["options"] = [
                    {"label": o.title(), "value": o, "displayOrder": i, "hidden": False}
                    for i, o in enumerate(_LIFECYCLE)
                ]
            self.properties[name] = prop

    # -- properties ---------------------------------------------------------------------------------

    def make_property(self, body: dict[str, Any], at: float | None = None) -> dict[str, Any]:
        """Build a property definition from a PropertyCreate body."""
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise HubSpotError(
                400,
                "Invalid input JSON: missing required field(s) {}".format(", ".join(missing)),
                "VALIDATION_ERROR",
            )
        if body["type"] not in ("string", "number", "date", "datetime", "enumeration", "bool"):
            raise HubSpotError(400, "Invalid property type '{}'".format(body["type"]), "VALIDATION_ERROR")
        stamp = iso(at if at is not None else self.state.clock.now_float())
        return {
            "name": body["name"],
            "label": body["label"],
            "type": body["type"],
            "fieldType": body["fieldType"],
            "description": body.get("description") or "",
            "groupName": body["groupName"],
            "options": copy.deepcopy(body.get("options") or []),
            "displayOrder": body.get("displayOrder", -1),
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": bool(body.get("hasUniqueValue")),
            "hidden": bool(body.get("hidden", False)),
            "hubspotDefined": False,
            "formField": bool(body.get("formField", False)),
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "dataSensitivity": "non_sensitive",
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        }

    def create_property(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a property (409 when the name exists)."""
        name = body.get("name")
        if name in self.properties:
            raise HubSpotError(
                409,
                f"Property named '{name}' already exists.",
                "OBJECT_ALREADY_EXISTS",
                subCategory="PropertyValidationError.PROPERTY_ALREADY_EXISTS",
            )
        prop = self.make_property(body)
        self.properties[prop["name"]] = prop
        return prop

    # -- contacts: lookups and validation -----------------------------------------------------------

    def by_email(self, email: str) -> dict[str, Any] | None:
        """Find a contact by email (case-insensitive)."""
        wanted = normalise_email(email)
        for contact in self.contacts.values():
            if contact["properties"].get("email") == wanted:
                return contact
        return None

    def by_property(self, name: str, value: Any) -> dict[str, Any] | None:
        """Find a contact by a unique property (or ``email``, or ``hs_object_id``)."""
        if name in (None, "", "hs_object_id"):
            return self.contacts.get(str(value))
        if name == "email":
            return self.by_email(value)
        for contact in self.contacts.values():
            if contact["properties"].get(name) == str(value):
                return contact
        return None

    def check_id_property(self, name: str | None) -> None:
        """``idProperty`` must be email, hs_object_id or a property with unique values."""
        if name in (None, "", "email", "hs_object_id"):
            return
        prop = self.properties.get(name)
        if prop is None or not prop["hasUniqueValue"]:
            raise HubSpotError(
                400, f"Property '{name}' is not a unique identifier property", "VALIDATION_ERROR"
            )

    def clean_properties(self, props: dict[str, Any]) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
        """Validate and normalise input property values; return them and the problems found."""
        out: dict[str, str | None] = {}
        problems: list[dict[str, Any]] = []
        for name, value in (props or {}).items():
            prop = self.properties.get(name)
            if prop is None:
                problems.append(
                    _value_error(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if name in READ_ONLY:
                continue
            text = None if value is None else str(value)
            problem = self._check_value(prop, text)
            if problem:
                problems.append(problem)
                continue
            out[name] = normalise_email(text) if name == "email" and text else text
        return out, problems

    def _check_value(self, prop: dict[str, Any], text: str | None) -> dict[str, Any] | None:
        """Check one value against its property type."""
        name = prop["name"]
        if text in (None, ""):
            return None
        if name == "email" and not _EMAIL_RE.match(text.strip()):
            return _value_error(name, "INVALID_EMAIL", f"Email address {text} is invalid")
        if prop["type"] == "number":
            try:
                float(text)
            except ValueError:
                return _value_error(name, "INVALID_LONG", f"{text} was not a valid number.")
        if prop["type"] == "date":
            return _check_date(name, text)
        if prop["type"] == "enumeration" and prop["options"]:
            if text not in {o["value"] for o in prop["options"]}:
                return _value_error(name, "INVALID_OPTION", f"{text} was not one of the allowed options")
        return None

    def unique_clash(self, contact_id: str | None, props: dict[str, str | None]) -> HubSpotError | None:
        """Report a value already used by another contact for a unique property (or email)."""
        for name, value in props.items():
            if value in (None, ""):
                continue
            if name != "email" and not self.properties[name]["hasUniqueValue"]:
                continue
            other = self.by_property(name, value)
            if other is not None and other["id"] != contact_id:
                if name == "email":
                    return HubSpotError(
                        409, "Contact already exists. Existing ID: {}".format(other["id"]), "CONFLICT"
                    )
                return HubSpotError(
                    409,
                    "A contact with the value '{}' for the unique property '{}' already "
                    "exists. Existing ID: {}".format(value, name, other["id"]),
                    "CONFLICT",
                )
        return None

    # -- contacts: writes ---------------------------------------------------------------------------

    def new_contact(
        self, props: dict[str, str | None], at: float | None = None, contact_id: str | None = None
    ) -> dict[str, Any]:
        """Store a new contact."""
        stamp = iso(at if at is not None else self.state.clock.now_float())
        if contact_id is None:
            contact_id = str(self.next_id)
            self.next_id += 1
        else:
            self.next_id = max(self.next_id, int(contact_id) + 1) if contact_id.isdigit() else self.next_id
        properties = {k: v for k, v in props.items() if v is not None}
        properties.update({"hs_object_id": contact_id, "createdate": stamp, "lastmodifieddate": stamp})
        contact = {
            "id": contact_id,
            "properties": properties,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        self.contacts[contact_id] = contact
        return contact

    def write(self, contact: dict[str, Any], props: dict[str, str | None]) -> dict[str, Any]:
        """Update a contact's properties (``None`` or ``""`` clears a value)."""
        changed = False
        for name, value in props.items():
            current = contact["properties"].get(name)
            if value in (None, ""):
                if current is not None:
                    contact["properties"].pop(name, None)
                    changed = True
            elif current != value:
                contact["properties"][name] = value
                changed = True
        if changed:
            stamp = iso(self.state.clock.now_float())
            contact["updatedAt"] = stamp
            contact["properties"]["lastmodifieddate"] = stamp
        return contact

    def render(
        self, contact: dict[str, Any], wanted: list[str] | None, extra: list[str] = ()
    ) -> dict[str, Any]:
        """A contact as the API returns it: requested (or default) properties, missing ones null."""
        names = list(wanted) if wanted else list(DEFAULT_PROPERTIES)
        names += [n for n in ALWAYS_PROPERTIES if n not in names]
        names += [n for n in extra if n not in names]
        props = {n: contact["properties"].get(n) for n in names}
        return {
            "id": contact["id"],
            "properties": props,
            "createdAt": contact["createdAt"],
            "updatedAt": contact["updatedAt"],
            "archived": contact["archived"],
        }


def _check_date(name: str, text: str) -> dict[str, Any] | None:
    """A date property must be midnight UTC (epoch millis or YYYY-MM-DD)."""
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return None
    try:
        millis = int(text)
    except ValueError:
        return _value_error(name, "INVALID_DATE", f"{text} is not a valid date")
    rest = millis % 86400000
    if rest:
        moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
        return _value_error(
            name,
            "INVALID_DATE",
            f"{text} is at {moment.hour}:{moment.minute}:{moment.second}.{rest % 1000} UTC, not midnight!",
        )
    return None


def _wanted(value: Any) -> list[str] | None:
    """Decode a ``properties`` query value (repeated or comma-separated)."""
    if value in (None, "", []):
        return None
    items = value if isinstance(value, list) else [value]
    return [p for item in items for p in str(item).split(",") if p]


def _limit(value: Any, default: int = 10) -> int:
    """Validate a page size."""
    if value in (None, ""):
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise HubSpotError(400, "limit must be an integer", "VALIDATION_ERROR") from None
    if limit < 1 or limit > MAX_LIMIT:
        raise HubSpotError(400, f"limit must be between 1 and {MAX_LIMIT}", "VALIDATION_ERROR")
    return limit


class HubSpotApi:
    """Answers ``/crm/v3`` requests."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.hub = HubSpotState(state)
        state.register("hubspot", self.hub)
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            ("GET", re.compile(r"^/crm/v3/properties/contacts/?$"), self.list_properties),
            ("POST", re.compile(r"^/crm/v3/properties/contacts/?$"), self.create_property),
            ("GET", re.compile(r"^/crm/v3/properties/contacts/([^/]+)$"), self.get_property),
            ("GET", re.compile(r"^/crm/v3/objects/contacts/?$"), self.list_contacts),
            ("POST", re.compile(r"^/crm/v3/objects/contacts/?$"), self.create_contact),
            ("POST", re.compile(r"^/crm/v3/objects/contacts/batch/upsert$"), self.batch_upsert),
            ("POST", re.compile(r"^/crm/v3/objects/contacts/batch/read$"), self.batch_read),
            ("POST", re.compile(r"^/crm/v3/objects/contacts/batch/update$"), self.batch_update),
            ("POST", re.compile(r"^/crm/v3/objects/contacts/search$"), self.search),
            ("GET", re.compile(r"^/crm/v3/objects/contacts/([^/]+)$"), self.get_contact),
            ("PATCH", re.compile(r"^/crm/v3/objects/contacts/([^/]+)$"), self.update_contact),
        ]

    def handle(self, req: SandboxRequest) -> ApiResponse:
        """Answer one request (called with the state lock held)."""
        try:
            auth = req.header("authorization") or ""
            if not auth.lower().startswith("bearer ") or not auth[7:].strip():
                raise HubSpotError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            for method, regex, fn in self.routes:
                found = regex.match(req.path)
                if found and method == req.method:
                    status, body = fn(req, *found.groups())
                    return ApiResponse(status, body)
            raise HubSpotError(404, f"Unable to route {req.method} {req.path}", "OBJECT_NOT_FOUND")
        except HubSpotError as err:
            return ApiResponse(err.status, err.body())

    def fault_response(self, fault: Fault, req: SandboxRequest) -> ApiResponse:
        """Render an injected fault as HubSpot would."""
        if fault.body is not None:
            return ApiResponse(fault.status, fault.body, dict(fault.headers), delay=fault.delay)
        if fault.status == 429:
            policy = fault.policy or (
                "DAILY" if (fault.code or "").lower() == "daily" else "TEN_SECONDLY_ROLLING"
            )
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
                "groupName": "publicapi:private-app:sandbox",
                "category": "RATE_LIMITS",
            }
        else:
            category = fault.code or ("INTERNAL_ERROR" if fault.status >= 500 else "VALIDATION_ERROR")
            body = HubSpotError(fault.status, fault.message or "An injected sandbox fault.", category).body()
        return ApiResponse(fault.status, body, dict(fault.headers), delay=fault.delay)

    # -- properties ---------------------------------------------------------------------------------

    def list_properties(self, req: SandboxRequest) -> tuple[int, Any]:
        """GET /crm/v3/properties/contacts."""
        return 200, {"results": [copy.deepcopy(p) for p in self.hub.properties.values()]}

    def create_property(self, req: SandboxRequest) -> tuple[int, Any]:
        """POST /crm/v3/properties/contacts."""
        return 201, copy.deepcopy(self.hub.create_property(req.json or {}))

    def get_property(self, req: SandboxRequest, name: str) -> tuple[int, Any]:
        """GET /crm/v3/properties/contacts/{name}."""
        prop = self.hub.properties.get(name)
        if prop is None:
            raise HubSpotError(
                404, f"Unable to find property {name} for object type contacts", "OBJECT_NOT_FOUND"
            )
        return 200, copy.deepcopy(prop)

    # -- contacts -----------------------------------------------------------------------------------

    def list_contacts(self, req: SandboxRequest) -> tuple[int, Any]:
        """GET /crm/v3/objects/contacts (id order; ``after`` is the next id)."""
        limit = _limit(req.query.get("limit"))
        after = int(req.query.get("after") or 0) if str(req.query.get("after") or "0").isdigit() else 0
        ordered = sorted(
            (c for c in self.hub.contacts.values() if int(c["id"]) >= after), key=lambda c: int(c["id"])
        )
        page = ordered[:limit]
        wanted = _wanted(req.query.get("properties"))
        body: dict[str, Any] = {"results": [self.hub.render(c, wanted) for c in page]}
        if len(ordered) > limit:
            nxt = ordered[limit]["id"]
            body["paging"] = {"next": {"after": nxt, "link": f"{req.path}?after={nxt}"}}
        return 200, body

    def get_contact(self, req: SandboxRequest, contact_id: str) -> tuple[int, Any]:
        """GET /crm/v3/objects/contacts/{id} (``idProperty`` for email or a unique property)."""
        id_property = req.query.get("idProperty")
        self.hub.check_id_property(id_property)
        contact = self.hub.by_property(id_property, contact_id)
        if contact is None:
            raise HubSpotError(404, "resource not found", "OBJECT_NOT_FOUND")
        return 200, self.hub.render(contact, _wanted(req.query.get("properties")))

    def create_contact(self, req: SandboxRequest) -> tuple[int, Any]:
        """POST /crm/v3/objects/contacts (409 on a duplicate email)."""
        props, problems = self.hub.clean_properties((req.json or {}).get("properties") or {})
        if problems:
            raise _invalid_values(problems)
        clash = self.hub.unique_clash(None, props)
        if clash:
            raise clash
        contact = self.hub.new_contact(props)
        return 201, self.hub.render(contact, None, list(props))

    def update_contact(self, req: SandboxRequest, contact_id: str) -> tuple[int, Any]:
        """PATCH /crm/v3/objects/contacts/{id}."""
        id_property = req.query.get("idProperty")
        self.hub.check_id_property(id_property)
        contact = self.hub.by_property(id_property, contact_id)
        if contact is None:
            raise HubSpotError(404, "resource not found", "OBJECT_NOT_FOUND")
        props, problems = self.hub.clean_properties((req.json or {}).get("properties") or {})
        if problems:
            raise _invalid_values(problems)
        clash = self.hub.unique_clash(contact["id"], props)
        if clash:
            raise clash
        self.hub.write(contact, props)
        return 200, self.hub.render(contact, None, list(props))

    def _inputs(self, req: SandboxRequest) -> list[dict[str, Any]]:
        """The ``inputs`` of a batch body (1..100)."""
        inputs = (req.json or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise HubSpotError(400, "Invalid input JSON: inputs must be a non-empty list", "VALIDATION_ERROR")
        if len(inputs) > MAX_BATCH:
            raise HubSpotError(
                400,
                f"Batch size of {len(inputs)} exceeds the limit of {MAX_BATCH} inputs",
                "VALIDATION_ERROR",
            )
        return inputs

    def batch_upsert(self, req: SandboxRequest) -> tuple[int, Any]:
        """POST .../batch/upsert: all-or-nothing validation, then create or update each input."""
        inputs = self._inputs(req)
        prepared = self._prepare_upserts(inputs)
        started = iso(self.state.clock.now_float())
        results = []
        for id_property, key, props, existing in prepared:
            if existing is None:
                props = dict(props)
                if id_property not in (None, "", "hs_object_id"):
                    props.setdefault(id_property, normalise_email(key) if id_property == "email" else key)
                contact, new = self.hub.new_contact(props), True
            else:
                contact, new = self.hub.write(existing, props), False
            body = self.hub.render(contact, None, list(props))
            body["new"] = new
            results.append(body)
        return 200, {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso(self.state.clock.now_float()),
        }

    def _prepare_upserts(self, inputs: list[dict[str, Any]]) -> list[tuple[Any, str, dict[str, Any], Any]]:
        """Validate a whole upsert batch before writing anything."""
        keys: list[str] = []
        prepared = []
        problems: list[dict[str, Any]] = []
        for item in inputs:
            id_property = item.get("idProperty")
            self.hub.check_id_property(id_property)
            key = str(item.get("id", ""))
            if id_property == "email":
                if not _EMAIL_RE.match(key.strip()):
                    problems.append(_value_error("email", "INVALID_EMAIL", f"Email address {key} is invalid"))
                key_norm = normalise_email(key)
            else:
                key_norm = key
            keys.append(key_norm)
            props, item_problems = self.hub.clean_properties(item.get("properties") or {})
            problems.extend(item_problems)
            existing = self.hub.by_property(id_property, key_norm)
            if existing is None and id_property in (None, "", "hs_object_id"):
                raise HubSpotError(404, f"Could not find contact {key}", "OBJECT_NOT_FOUND")
            prepared.append((id_property, key_norm, props, existing))
        if problems:
            raise _invalid_values(problems)
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise HubSpotError(
                400,
                "Duplicate IDs found in batch input: [{}]. IDs must be unique".format(", ".join(duplicates)),
                "VALIDATION_ERROR",
            )
        for id_property, key, props, existing in prepared:
            check = dict(props)
            if id_property not in (None, "", "hs_object_id"):
                check.setdefault(id_property, key)
            clash = self.hub.unique_clash(existing["id"] if existing else None, check)
            if clash:
                raise clash
        return prepared

    def batch_read(self, req: SandboxRequest) -> tuple[int, Any]:
        """POST .../batch/read by id or a unique ``idProperty``; missing ones go to ``errors`` (207)."""
        body = req.json or {}
        inputs = self._inputs(req)
        id_property = body.get("idProperty")
        self.hub.check_id_property(id_property)
        wanted = body.get("properties") or None
        started = iso(self.state.clock.now_float())
        results, missing = [], []
        for item in inputs:
            contact = self.hub.by_property(id_property, item.get("id"))
            if contact is None:
                missing.append(str(item.get("id")))
            else:
                results.append(self.hub.render(contact, wanted, [id_property] if id_property else []))
        return self._batch_result(results, missing, started)

    def batch_update(self, req: SandboxRequest) -> tuple[int, Any]:
        """POST .../batch/update by hs id (or ``idProperty``)."""
        inputs = self._inputs(req)
        started = iso(self.state.clock.now_float())
        targets, missing, problems = [], [], []
        for item in inputs:
            id_property = item.get("idProperty")
            self.hub.check_id_property(id_property)
            contact = self.hub.by_property(id_property, item.get("id"))
            props, item_problems = self.hub.clean_properties(item.get("properties") or {})
            problems.extend(item_problems)
            if contact is None:
                missing.append(str(item.get("id")))
            else:
                targets.append((contact, props))
        if problems:
            raise _invalid_values(problems)
        for contact, props in targets:
            clash = self.hub.unique_clash(contact["id"], props)
            if clash:
                raise clash
        results = [self.hub.render(self.hub.write(c, p), None, list(p)) for c, p in targets]
        return self._batch_result(results, missing, started)

    def _batch_result(
        self, results: list[dict[str, Any]], missing: list[str], started: str
    ) -> tuple[int, Any]:
        """Batch response with HubSpot's multi-status errors."""
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso(self.state.clock.now_float()),
        }
        if not missing:
            return 200, body
        body["numErrors"] = 1
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects, they may be deleted or not exist. "
                "Check that ids are valid.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        ]
        return 207, body

    def search(self, req: SandboxRequest) -> tuple[int, Any]:
        """POST .../search with EQ/NEQ/IN/HAS_PROPERTY filters (OR of AND groups)."""
        body = req.json or {}
        limit = _limit(body.get("limit"))
        after = int(body.get("after") or 0)
        groups = body.get("filterGroups") or []
        matched = [
            c
            for c in sorted(self.hub.contacts.values(), key=lambda c: int(c["id"]))
            if not groups or any(self._group_matches(c, g) for g in groups)
        ]
        page = matched[after : after + limit]
        wanted = body.get("properties") or None
        out: dict[str, Any] = {"total": len(matched), "results": [self.hub.render(c, wanted) for c in page]}
        if after + limit < len(matched):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return 200, out

    def _group_matches(self, contact: dict[str, Any], group: dict[str, Any]) -> bool:
        """Whether all filters of a group match."""
        for flt in group.get("filters") or []:
            name, op = flt.get("propertyName"), (flt.get("operator") or "EQ").upper()
            if name not in self.hub.properties:
                raise HubSpotError(
                    400,
                    "There was a problem with the request.",
                    "VALIDATION_ERROR",
                    errors=[{"message": f"Property '{name}' does not exist"}],
                )
            value = contact["properties"].get(name)
            norm = (
                (lambda v: None if v is None else str(v).lower())
                if name == "email"
                else (lambda v: None if v is None else str(v))
            )
            if op == "EQ" and norm(value) != norm(flt.get("value")):
                return False
            if op == "NEQ" and norm(value) == norm(flt.get("value")):
                return False
            if op == "IN" and norm(value) not in {norm(v) for v in flt.get("values") or []}:
                return False
            if op == "HAS_PROPERTY" and value in (None, ""):
                return False
            if op == "NOT_HAS_PROPERTY" and value not in (None, ""):
                return False
        return True
