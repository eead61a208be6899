"""Xero's identity and accounting surface, statefully: tokens, connections, accounts, contacts,
bank transactions and bank transfers.

- ``POST /connect/token``: ``refresh_token`` grants rotate (each use returns a new refresh token; a
  used one keeps working for a 30-minute grace period, then answers ``invalid_grant``; an unused one
  expires after 60 days), ``client_credentials`` grants (custom connections) and
  ``authorization_code`` grants for codes the admin route hands out.
- ``GET /connections``: the one tenant.
- ``/api.xro/2.0/{Accounts,Contacts,BankTransactions,BankTransfers}``: Xero's envelope
  (``Id``, ``Status``, ``ProviderName``, ``DateTimeUTC``), ``/Date(ms+0000)/`` dates, ``where`` filters
  on ``Date`` and ``Reference``, pages of 100, ``summarizeErrors``, ``Idempotency-Key`` replay, and
  per-tenant minute and day limits answered with ``X-Rate-Limit-Problem`` and ``Retry-After``.

Admin routes under ``/_sandbox/xero`` seed accounts, issue refresh tokens and codes, set the limits
and dump the ledger with each account's balance.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from airflow_provider_stripe_sync.sandbox.common import ApiResponse, SandboxRequest
from airflow_provider_stripe_sync.sandbox.state import Fault, SandboxState

TENANT_ID = "3f6d9a2e-5b1c-4e8f-9a7d-0c2b4e6f8a10"
TENANT_NAME = "Sandbox Trading Ltd"

#: The refresh token every reset sandbox accepts once (the demo's connection holds it).
SEED_REFRESH_TOKEN = "xero-sandbox-seed-refresh-token"

ACCESS_TOKEN_SECONDS = 1800
REFRESH_GRACE_SECONDS = 1800
REFRESH_TOKEN_LIFETIME_SECONDS = 60 * 86400
PAGE_SIZE = 100

#: The chart of accounts a reset sandbox starts with: code, name, type, bank currency.
DEFAULT_ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "USD"),
    ("091", "Business EUR Account", "BANK", "EUR"),
    ("092", "Business JPY Account", "BANK", "JPY"),
    ("093", "Business GBP Account", "BANK", "GBP"),
    ("095", "Stripe USD Clearing", "BANK", "USD"),
    ("096", "Stripe EUR Clearing", "BANK", "EUR"),
    ("097", "Stripe JPY Clearing", "BANK", "JPY"),
    ("098", "Stripe GBP Clearing", "BANK", "GBP"),
    ("200", "Sales", "REVENUE", None),
    ("260", "Other Revenue", "REVENUE", None),
    ("404", "Bank Fees", "EXPENSE", None),
    ("480", "Disputes and Chargebacks", "EXPENSE", None),
    ("820", "Tax on Fees", "EXPENSE", None),
    ("999", "Suspense", "CURRLIAB", None),
]

_CLASS = {"BANK": "ASSET", "REVENUE": "REVENUE", "EXPENSE": "EXPENSE", "CURRLIAB": "LIABILITY"}


class XeroError(Exception):
    """A Xero-shaped error response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def ms_date(moment: datetime | date) -> str:
    """Xero's ``/Date(milliseconds+0000)/`` form of a date or an aware datetime."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_date(value: Any) -> date:
    """Read an inbound date: ``YYYY-MM-DD``, an ISO datetime, or ``/Date(ms+zzzz)/``."""
    text = str(value or "").strip()
    found = _MS_DATE.match(text)
    if found:
        # The milliseconds are UTC; the offset only says which local time they were shown in.
        return datetime.fromtimestamp(int(found.group(1)) / 1000, tz=timezone.utc).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"'{text}' is not a valid date") from None


def _validation(message: str) -> XeroError:
    return XeroError(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}],
        },
    )


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{field} '{value}' is not a number") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{field} {value} has more than 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def _number(value: Decimal) -> float:
    return float(value)


_WHERE_DATE = re.compile(r"Date\s*(>=|<=|>|<|==)\s*DateTime\((\d{4}),\s*(\d{1,2}),\s*(\d{1,2})\)")
_WHERE_TEXT = re.compile(r'(Reference|Name|Type)\s*==\s*"([^"]*)"')


def where_filter(where: str | None):
    """Compile the ``where`` clauses the sandbox understands (dates, Reference, Name, Type)."""
    if not where:
        return lambda obj: True
    tests = []
    for op, y, m, d in _WHERE_DATE.findall(where):
        bound = date(int(y), int(m), int(d))
        tests.append(lambda obj, op=op, bound=bound: "_date" in obj and _compare(obj["_date"], op, bound))
    for field_name, wanted in _WHERE_TEXT.findall(where):
        tests.append(lambda obj, f=field_name, w=wanted: obj.get(f) == w)
    if not tests:
        raise _validation(f"The sandbox cannot filter by: {where}")
    return lambda obj: all(test(obj) for test in tests)


def _compare(left: date, op: str, right: date) -> bool:
    return {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
        "==": left == right,
    }[op]


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


class XeroState:
    """Tokens, the tenant's ledger, idempotency records and rate-limit counters."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.reset()
        state.register("xero", self)

    def reset(self) -> None:
        """A fresh tenant with the default chart of accounts and the seed refresh token."""
        self.refresh_tokens: dict[str, dict[str, Any]] = {
            SEED_REFRESH_TOKEN: {"client_id": None, "issued_at": None, "used_at": None}
        }
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, str] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.bank_transactions: dict[str, dict[str, Any]] = {}
        self.bank_transfers: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str], ApiResponse] = {}
        self.minute_limit: int | None = 60
        self.day_limit: int | None = 5000
        self.calls: list[float] = []
        for code, name, type_, currency in DEFAULT_ACCOUNTS:
            self.add_account({"Code": code, "Name": name, "Type": type_, "CurrencyCode": currency})

    @property
    def now(self) -> float:
        return self.state.clock.now_float()

    # -- tokens -------------------------------------------------------------------------------------

    def issue_refresh_token(self, client_id: str | None = None) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.refresh_tokens[token] = {"client_id": client_id, "issued_at": self.now, "used_at": None}
        return token

    def issue_tokens(self, client_id: str, *, refresh: bool, scope: str) -> dict[str, Any]:
        access = "xat_" + uuid.uuid4().hex
        self.access_tokens[access] = {"client_id": client_id, "expires_at": self.now + ACCESS_TOKEN_SECONDS}
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "token_type": "Bearer",
            "scope": scope,
        }
        if refresh:
            body["refresh_token"] = self.issue_refresh_token(client_id)
        return body

    def use_refresh_token(self, token: str, client_id: str) -> None:
        """Check a refresh token; the first use starts its grace period."""
        record = self.refresh_tokens.get(token)
        if record is None or (record["client_id"] not in (None, client_id)):
            raise XeroError(400, {"error": "invalid_grant"})
        now = self.now
        if record["issued_at"] is None:
            record["issued_at"] = now
        if record["used_at"] is not None and now - record["used_at"] > REFRESH_GRACE_SECONDS:
            raise XeroError(400, {"error": "invalid_grant"})
        if record["used_at"] is None and now - record["issued_at"] > REFRESH_TOKEN_LIFETIME_SECONDS:
            raise XeroError(400, {"error": "invalid_grant"})
        record["client_id"] = client_id
        if record["used_at"] is None:
            record["used_at"] = now

    # -- ledger -------------------------------------------------------------------------------------

    def add_account(self, body: dict[str, Any]) -> dict[str, Any]:
        code = str(body.get("Code") or "")
        if not code or any(a["Code"] == code for a in self.accounts.values()):
            raise _validation(f"Please enter a unique Code. '{code}' is taken or empty.")
        type_ = str(body.get("Type") or "")
        if type_ not in _CLASS:
            raise _validation(f"Account type '{type_}' is not one the sandbox knows.")
        account_id = str(uuid.uuid4())
        account = {
            "AccountID": account_id,
            "Code": code,
            "Name": body.get("Name") or code,
            "Type": type_,
            "Status": "ACTIVE",
            "Class": _CLASS[type_],
            "TaxType": "NONE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "ReportingCode": _CLASS[type_][:3],
            "HasAttachments": False,
            "UpdatedDateUTC": ms_date(datetime.fromtimestamp(self.now, tz=timezone.utc)),
            "AddToWatchlist": False,
        }
        if type_ == "BANK":
            account["BankAccountType"] = "BANK"
            account["CurrencyCode"] = str(body.get("CurrencyCode") or "USD").upper()
            account["BankAccountNumber"] = body.get("BankAccountNumber") or f"00-{code}"
        self.accounts[account_id] = account
        return account

    def account(self, ref: Any, field: str) -> dict[str, Any]:
        ref = ref or {}
        for account in self.accounts.values():
            if ref.get("AccountID") and account["AccountID"] == ref["AccountID"]:
                return account
            if ref.get("Code") and account["Code"] == str(ref["Code"]):
                return account
        raise ValueError(f"{field}: account {ref.get('Code') or ref.get('AccountID')} could not be found")

    def contact(self, ref: Any) -> dict[str, Any]:
        ref = ref or {}
        for contact in self.contacts.values():
            if ref.get("ContactID") == contact["ContactID"] or (
                ref.get("Name") and ref.get("Name") == contact["Name"]
            ):
                return contact
        if ref.get("ContactID") or not ref.get("Name"):
            raise ValueError("The contact could not be found; give a ContactID or a Name")
        return self.add_contact(ref)

    def add_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise ValueError("The contact name must be specified")
        if any(c["Name"] == name for c in self.contacts.values()):
            raise ValueError(f"The contact name {name} is already assigned to another contact")
        contact = {
            "ContactID": str(uuid.uuid4()),
            "Name": name,
            "ContactStatus": "ACTIVE",
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "UpdatedDateUTC": ms_date(datetime.fromtimestamp(self.now, tz=timezone.utc)),
        }
        self.contacts[contact["ContactID"]] = contact
        return contact

    def add_bank_transaction(self, body: dict[str, Any]) -> dict[str, Any]:
        type_ = body.get("Type")
        if type_ not in ("RECEIVE", "SPEND"):
            raise ValueError(f"Type '{type_}' is not RECEIVE or SPEND (the sandbox takes no overpayments)")
        bank = self.account(body.get("BankAccount"), "BankAccount")
        if bank["Type"] != "BANK":
            raise ValueError(f"Account {bank['Code']} is not a bank account")
        currency = str(body.get("CurrencyCode") or bank["CurrencyCode"]).upper()
        if currency != bank["CurrencyCode"]:
            raise ValueError(
                f"The currency {currency} does not match the bank account's {bank['CurrencyCode']}"
            )
        if body.get("LineAmountTypes", "Exclusive") not in ("NoTax", "Exclusive", "Inclusive"):
            raise ValueError(f"LineAmountTypes '{body.get('LineAmountTypes')}' is not valid")
        contact = self.contact(body.get("Contact"))
        when = parse_date(body.get("Date"))
        lines = []
        for number, item in enumerate(body.get("LineItems") or [], start=1):
            account = self.account({"Code": item.get("AccountCode")}, f"Line {number}")
            if account["Type"] == "BANK":
                raise ValueError(f"Line {number}: a bank account cannot be a line's account")
            amount = _money(item.get("LineAmount", 0), f"Line {number} LineAmount")
            lines.append(
                {
                    "LineItemID": str(uuid.uuid4()),
                    "Description": item.get("Description") or "",
                    "AccountCode": account["Code"],
                    "AccountID": account["AccountID"],
                    "Quantity": 1.0,
                    "UnitAmount": _number(amount),
                    "LineAmount": _number(amount),
                    "TaxType": "NONE",
                    "TaxAmount": 0.0,
                    "Tracking": [],
                    "_amount": amount,
                }
            )
        if not lines:
            raise ValueError("A bank transaction needs at least one line item")
        total = sum((line["_amount"] for line in lines), Decimal("0.00"))
        if total < 0:
            raise ValueError("The total of a bank transaction cannot be negative")
        for line in lines:
            del line["_amount"]
        txn = {
            "BankTransactionID": str(uuid.uuid4()),
            "Type": type_,
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "LineItems": lines,
            "BankAccount": {"AccountID": bank["AccountID"], "Code": bank["Code"], "Name": bank["Name"]},
            "IsReconciled": False,
            "Date": ms_date(when),
            "Reference": body.get("Reference") or "",
            "CurrencyCode": currency,
            "CurrencyRate": 1.0,
            "Status": "AUTHORISED",
            "LineAmountTypes": body.get("LineAmountTypes", "Exclusive"),
            "SubTotal": _number(total),
            "TotalTax": 0.0,
            "Total": _number(total),
            "UpdatedDateUTC": ms_date(datetime.fromtimestamp(self.now, tz=timezone.utc)),
            "HasAttachments": False,
            "_date": when,
            "_total": total,
        }
        self.bank_transactions[txn["BankTransactionID"]] = txn
        return txn

    def add_bank_transfer(self, body: dict[str, Any]) -> dict[str, Any]:
        source = self.account(body.get("FromBankAccount"), "FromBankAccount")
        target = self.account(body.get("ToBankAccount"), "ToBankAccount")
        if source["Type"] != "BANK" or target["Type"] != "BANK":
            raise ValueError("Both accounts of a transfer must be bank accounts")
        if source["AccountID"] == target["AccountID"]:
            raise ValueError("The from and to bank accounts must be different")
        if source["CurrencyCode"] != target["CurrencyCode"] and not body.get("CurrencyRate"):
            raise ValueError("A transfer between currencies needs a CurrencyRate")
        amount = _money(body.get("Amount"), "Amount")
        if amount <= 0:
            raise ValueError("The amount of a transfer must be positive")
        when = parse_date(body.get("Date"))
        transfer = {
            "BankTransferID": str(uuid.uuid4()),
            "FromBankAccount": {
                "AccountID": source["AccountID"],
                "Code": source["Code"],
                "Name": source["Name"],
            },
            "ToBankAccount": {
                "AccountID": target["AccountID"],
                "Code": target["Code"],
                "Name": target["Name"],
            },
            "Amount": _number(amount),
            "Date": ms_date(when),
            "CurrencyRate": 1.0,
            "FromBankTransactionID": str(uuid.uuid4()),
            "ToBankTransactionID": str(uuid.uuid4()),
            "FromIsReconciled": False,
            "ToIsReconciled": False,
            "Reference": body.get("Reference") or "",
            "HasAttachments": False,
            "CreatedDateUTC": ms_date(datetime.fromtimestamp(self.now, tz=timezone.utc)),
            "_date": when,
            "_amount": amount,
            "_from": source["Code"],
            "_to": target["Code"],
        }
        self.bank_transfers[transfer["BankTransferID"]] = transfer
        return transfer

    def balances(self) -> dict[str, str]:
        """Each account's balance by code: money in minus money out on bank accounts, line totals else."""
        out: dict[str, Decimal] = {a["Code"]: Decimal("0.00") for a in self.accounts.values()}
        for txn in self.bank_transactions.values():
            sign = 1 if txn["Type"] == "RECEIVE" else -1
            out[txn["BankAccount"]["Code"]] += sign * txn["_total"]
            for line in txn["LineItems"]:
                out[line["AccountCode"]] += sign * Decimal(str(line["LineAmount"]))
        for transfer in self.bank_transfers.values():
            out[transfer["_from"]] -= transfer["_amount"]
            out[transfer["_to"]] += transfer["_amount"]
        return {code: str(amount) for code, amount in sorted(out.items())}

    def dump(self) -> dict[str, Any]:
        return {
            "tenant_id": TENANT_ID,
            "accounts": [_public(a) for a in self.accounts.values()],
            "contacts": [_public(c) for c in self.contacts.values()],
            "bank_transactions": [_public(t) for t in self.bank_transactions.values()],
            "bank_transfers": [_public(t) for t in self.bank_transfers.values()],
            "balances": self.balances(),
        }

    # -- limits -------------------------------------------------------------------------------------

    def check_limits(self) -> dict[str, str]:
        """Count one API call; raise Xero's 429 when a limit is reached. Uses wall time."""
        now = time.time()
        self.calls = [t for t in self.calls if now - t < 86400]
        last_minute = [t for t in self.calls if now - t < 60]
        if self.day_limit is not None and len(self.calls) >= self.day_limit:
            raise XeroError(
                429,
                {"Title": "Too Many Requests", "Detail": "Daily limit exceeded"},
                {"X-Rate-Limit-Problem": "day", "Retry-After": str(int(86400 - (now - self.calls[0])) + 1)},
            )
        if self.minute_limit is not None and len(last_minute) >= self.minute_limit:
            wait = max(1, int(60 - (now - last_minute[0])) + 1)
            raise XeroError(
                429,
                {"Title": "Too Many Requests", "Detail": "Minute limit exceeded"},
                {"X-Rate-Limit-Problem": "minute", "Retry-After": str(wait)},
            )
        self.calls.append(now)
        headers = {}
        if self.minute_limit is not None:
            headers["X-MinLimit-Remaining"] = str(self.minute_limit - len(last_minute) - 1)
        if self.day_limit is not None:
            headers["X-DayLimit-Remaining"] = str(self.day_limit - len(self.calls))
        return headers


class XeroApi:
    """Answers Xero requests from a :class:`XeroState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.xero = XeroState(state)

    # -- dispatch -----------------------------------------------------------------------------------

    def handle(self, req: SandboxRequest) -> ApiResponse:
        """Answer one request (called with the state lock held)."""
        try:
            if req.path == "/connect/token" and req.method == "POST":
                return ApiResponse(200, self._token(req), {"Cache-Control": "no-store"})
            self._authenticate(req)
            if req.path.lower() == "/connections" and req.method == "GET":
                return ApiResponse(200, [self._connection()])
            return self._accounting(req)
        except XeroError as err:
            return ApiResponse(err.status, err.body, dict(err.headers))

    def fault_response(self, fault: Fault, req: SandboxRequest) -> ApiResponse:
        """Render an injected fault as Xero would (``code`` ``minute`` or ``day`` for 429s)."""
        headers = dict(fault.headers)
        if fault.body is not None:
            return ApiResponse(fault.status, fault.body, headers, delay=fault.delay)
        if fault.status == 429:
            problem = fault.code or "minute"
            headers.setdefault("X-Rate-Limit-Problem", problem)
            headers.setdefault("Retry-After", "1" if problem == "minute" else "43200")
            body: Any = {"Title": "Too Many Requests", "Detail": f"{problem.title()} limit exceeded"}
        else:
            body = {"Title": "Error", "Status": fault.status, "Detail": fault.message or "An injected fault."}
        return ApiResponse(fault.status, body, headers, delay=fault.delay)

    def _authenticate(self, req: SandboxRequest) -> None:
        auth = req.header("authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        record = self.xero.access_tokens.get(token)
        if record is None or record["expires_at"] <= self.xero.now:
            raise XeroError(
                401,
                {
                    "Type": None,
                    "Title": "Unauthorized",
                    "Status": 401,
                    "Detail": "TokenExpired: token expired",
                },
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if req.path.startswith("/api.xro/") and req.header("xero-tenant-id") != TENANT_ID:
            raise XeroError(
                403,
                {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"},
            )

    def _connection(self) -> dict[str, Any]:
        stamp = "2026-01-01T00:00:00.0000000"
        return {
            "id": "9a1f2b3c-4d5e-4f60-8a7b-1c2d3e4f5a6b",
            "authEventId": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            "tenantId": TENANT_ID,
            "tenantType": "ORGANISATION",
            "tenantName": TENANT_NAME,
            "createdDateUtc": stamp,
            "updatedDateUtc": stamp,
        }

    def _token(self, req: SandboxRequest) -> dict[str, Any]:
        form = req.form or {}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = req.header("authorization") or ""
        if auth.lower().startswith("basic "):
            import base64

            client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
        if not client_id or not client_secret:
            raise XeroError(400, {"error": "invalid_client"})
        grant = form.get("grant_type")
        scope = str(form.get("scope") or "offline_access accounting.transactions accounting.settings")
        if grant == "refresh_token":
            self.xero.use_refresh_token(str(form.get("refresh_token") or ""), client_id)
            return self.xero.issue_tokens(client_id, refresh=True, scope=scope)
        if grant == "client_credentials":
            return self.xero.issue_tokens(client_id, refresh=False, scope=scope)
        if grant == "authorization_code":
            if self.xero.codes.pop(str(form.get("code") or ""), None) is None:
                raise XeroError(400, {"error": "invalid_grant"})
            return self.xero.issue_tokens(client_id, refresh=True, scope=scope)
        raise XeroError(400, {"error": "unsupported_grant_type"})

    # -- accounting ---------------------------------------------------------------------------------

    def _envelope(self, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "stripe-sync sandbox",
            "DateTimeUTC": ms_date(datetime.fromtimestamp(self.xero.now, tz=timezone.utc)),
            key: items,
        }

    def _accounting(self, req: SandboxRequest) -> ApiResponse:
        prefix = "/api.xro/2.0/"
        if not req.path.startswith(prefix):
            raise XeroError(404, {"Title": "Not Found", "Status": 404, "Detail": f"No route {req.path}"})
        limit_headers = self.xero.check_limits()
        resource = req.path[len(prefix) :].strip("/")
        key = req.header("idempotency-key")
        if key and req.method in ("PUT", "POST"):
            replay = self.xero.idempotency.get((resource, key))
            if replay is not None:
                return ApiResponse(replay.status, copy.deepcopy(replay.body), dict(replay.headers))
        response = self._resource(req, resource)
        response.headers.update(limit_headers)
        if key and req.method in ("PUT", "POST") and response.status < 500:
            self.xero.idempotency[(resource, key)] = ApiResponse(
                response.status, copy.deepcopy(response.body), dict(response.headers)
            )
        return response

    def _resource(self, req: SandboxRequest, resource: str) -> ApiResponse:
        xero = self.xero
        stores = {
            "Accounts": (xero.accounts, xero.add_account),
            "Contacts": (xero.contacts, xero.add_contact),
            "BankTransactions": (xero.bank_transactions, xero.add_bank_transaction),
            "BankTransfers": (xero.bank_transfers, xero.add_bank_transfer),
        }
        if resource not in stores:
            raise XeroError(404, {"Title": "Not Found", "Status": 404, "Detail": f"No resource {resource}"})
        store, create = stores[resource]
        if req.method == "GET":
            return ApiResponse(200, self._list(req, resource, store))
        if req.method in ("PUT", "POST"):
            return self._create(req, resource, create)
        raise XeroError(405, {"Title": "Method Not Allowed", "Status": 405})

    def _list(self, req: SandboxRequest, resource: str, store: dict[str, dict[str, Any]]) -> dict[str, Any]:
        keep = where_filter(req.query.get("where"))
        items = [obj for obj in store.values() if keep(obj)]
        if resource == "BankTransactions" and req.query.get("page"):
            page = max(1, int(req.query["page"]))
            size = min(PAGE_SIZE, int(req.query.get("pageSize") or PAGE_SIZE))
            items = items[(page - 1) * size : page * size]
        return self._envelope(resource, [_public(obj) for obj in items])

    def _create(self, req: SandboxRequest, resource: str, create) -> ApiResponse:
        body = req.json if isinstance(req.json, dict) else {}
        inputs = body.get(resource)
        if inputs is None:
            inputs = [body] if body else []
        summarize = str(req.query.get("summarizeErrors", "true")).lower() != "false"
        results: list[dict[str, Any]] = []
        failed = False
        for item in inputs:
            try:
                if summarize and failed:
                    raise ValueError("not saved: another element failed")
                results.append({**_public(create(item)), "StatusAttributeString": "OK"})
            except (ValueError, XeroError) as err:
                failed = True
                message = (
                    err.body["Elements"][0]["ValidationErrors"][0]["Message"]
                    if isinstance(err, XeroError)
                    else str(err)
                )
                results.append(
                    {**item, "StatusAttributeString": "ERROR", "ValidationErrors": [{"Message": message}]}
                )
        if failed and summarize:
            # Xero saves nothing of a summarised request with an error: undo what this one made.
            self._undo(resource, results)
            return ApiResponse(
                400,
                {
                    "ErrorNumber": 10,
                    "Type": "ValidationException",
                    "Message": "A validation exception occurred",
                    "Elements": results,
                },
            )
        return ApiResponse(200, self._envelope(resource, results))

    def _undo(self, resource: str, results: list[dict[str, Any]]) -> None:
        id_field = {
            "Accounts": "AccountID",
            "Contacts": "ContactID",
            "BankTransactions": "BankTransactionID",
            "BankTransfers": "BankTransferID",
        }[resource]
        store = {
            "Accounts": self.xero.accounts,
            "Contacts": self.xero.contacts,
            "BankTransactions": self.xero.bank_transactions,
            "BankTransfers": self.xero.bank_transfers,
        }[resource]
        for result in results:
            if result.get("StatusAttributeString") == "OK":
                store.pop(result.get(id_field), None)

    # -- admin --------------------------------------------------------------------------------------

    def admin_routes(self, prefix: str = "/_sandbox/xero") -> list[Route]:
        """``state`` (GET), ``accounts`` (POST a list), ``tokens`` (POST), ``codes`` (POST), ``limits`` (POST)."""

        async def read_json(request: Request) -> dict[str, Any]:
            raw = await request.body()
            return json.loads(raw) if raw else {}

        async def state(request: Request) -> JSONResponse:
            with self.state.lock:
                return JSONResponse(self.xero.dump())

        async def accounts(request: Request) -> JSONResponse:
            body = await read_json(request)
            with self.state.lock:
                try:
                    made = [_public(self.xero.add_account(a)) for a in body.get("accounts") or []]
                except XeroError as err:
                    return JSONResponse({"error": err.body}, status_code=400)
            return JSONResponse({"accounts": made})

        async def tokens(request: Request) -> JSONResponse:
            body = await read_json(request)
            with self.state.lock:
                token = self.xero.issue_refresh_token(body.get("client_id"))
            return JSONResponse({"refresh_token": token})

        async def codes(request: Request) -> JSONResponse:
            with self.state.lock:
                code = uuid.uuid4().hex
                self.xero.codes[code] = "issued"
            return JSONResponse({"code": code})

        async def limits(request: Request) -> JSONResponse:
            body = await read_json(request)
            with self.state.lock:
                for name in ("minute", "day"):
                    if name in body:
                        setattr(self.xero, f"{name}_limit", None if body[name] is None else int(body[name]))
                self.xero.calls = []
                out = {"minute": self.xero.minute_limit, "day": self.xero.day_limit}
            return JSONResponse(out)

        return [
            Route(prefix + "/state", state, methods=["GET"]),
            Route(prefix + "/accounts", accounts, methods=["POST"]),
            Route(prefix + "/tokens", tokens, methods=["POST"]),
            Route(prefix + "/codes", codes, methods=["POST"]),
            Route(prefix + "/limits", limits, methods=["POST"]),
        ]
