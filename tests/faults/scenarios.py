"""
The fault suite's scenarios: one operator, its data, the routes it calls, and its ground truth.

Each scenario seeds a reset sandbox, runs its operator's ``execute()`` with a task context (as the
integration tests do) and then compares what landed with what should have: every expected record
once, none twice, nothing unexpected. The checks read the sandbox's own state, never the
operator's summary.
"""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_stripe_sync.sandbox.xero_api import SEED_REFRESH_TOKEN
from tests.conftest import make_context

B = 1793232000  # 2026-10-29T00:00:00Z
HOUR = 3600
DAY = 24 * HOUR
LIST_ID = "aud0001"
STRIPE_KEY = "sk_test_faults"
MAILCHIMP_KEY = "0123456789abcdef0123456789abcdef-us21"


@dataclass
class Check:
    """What one scenario's ground truth check found."""

    records: int = 0
    losses: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)


def compare(expected: dict[str, Any], landed: list[tuple[str, Any]]) -> Check:
    """
    Compare what should have landed (key → value) with what did ((key, value) pairs, repeats kept).

    A key missing, or present only with another value, is a loss; a key landed more than once is a
    duplicate; a key nobody asked for is a stray.
    """
    check = Check(records=len(expected))
    counts = collections.Counter(key for key, _ in landed)
    values = collections.defaultdict(list)
    for key, value in landed:
        values[key].append(value)
    for key, value in sorted(expected.items()):
        if key not in values or value not in values[key]:
            check.losses.append(key)
    check.duplicates = sorted(key for key, n in counts.items() if n > 1)
    check.strays = sorted(key for key in counts if key not in expected)
    return check


class Scenario:
    """One operator under faults. Subclasses name the routes faults may hit."""

    name = ""
    #: (api, method, path prefix) that faults may hit.
    routes: tuple[tuple[str, str, str], ...] = ()

    def __init__(self, sandbox: Any, workdir: Path) -> None:
        self.sandbox = sandbox
        self.workdir = workdir

    # The environment a task process would have: connections to the sandbox, a home for files.
    def environment(self) -> dict[str, str]:
        url = self.sandbox.url
        return {
            "AIRFLOW_HOME": str(self.workdir / "home"),
            # The sandbox has no rate limit unless asked: let the client go faster than a test key may.
            "AIRFLOW_CONN_STRIPE_DEFAULT": json.dumps(
                {
                    "conn_type": "stripe",
                    "password": STRIPE_KEY,
                    "host": url,
                    "extra": {"requests_per_second": 200},
                }
            ),
            "AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps(
                {"conn_type": "hubspot", "password": "pat-sandbox", "host": url}
            ),
            "AIRFLOW_CONN_MAILCHIMP_DEFAULT": json.dumps(
                {
                    "conn_type": "mailchimp",
                    "password": MAILCHIMP_KEY,
                    "host": url,
                    "extra": {"list_id": LIST_ID},
                }
            ),
            "AIRFLOW_CONN_XERO_DEFAULT": json.dumps(
                {
                    "conn_type": "xero",
                    "login": "sandbox-client-id",
                    "password": "sandbox-client-secret",
                    "host": url,
                    "extra": {"refresh_token": SEED_REFRESH_TOKEN},
                }
            ),
        }

    def prepare(self) -> None:
        """Seed the sandbox and write the operator's input files (no faults are queued yet)."""

    def run(self, try_number: int) -> dict[str, Any]:
        """Run the operator once, as try ``try_number`` of the task."""
        raise NotImplementedError

    def check(self) -> Check:
        """Compare the sandbox with the ground truth."""
        raise NotImplementedError

    def context(self, try_number: int, interval: tuple[int, int] | None = None) -> dict[str, Any]:
        return make_context(
            dag_id="faults",
            task_id=self.name,
            run_id="scheduled__faults",
            try_number=try_number,
            interval=interval,
        )


# -- Stripe: List New ------------------------------------------------------------------------------


class ListNewCharges(Scenario):
    """250 charges in the day (three pages), some just outside it; List New Charges reads the day."""

    name = "list_new_charges"
    routes = (("stripe", "GET", "/v1/charges"),)

    def prepare(self) -> None:
        inside = [
            {
                "id": f"ch_in_{n:03d}",
                "amount": 100 + n,
                "currency": "usd",
                "source": "tok_visa",
                "created": B + n * 300,
            }
            for n in range(250)
        ]
        outside = [
            {
                "id": "ch_before",
                "amount": 1,
                "currency": "usd",
                "source": "tok_visa",
                "created": B - 2 * HOUR,
            },
            {"id": "ch_at_end", "amount": 2, "currency": "usd", "source": "tok_visa", "created": B + DAY},
        ]
        self.sandbox.seed(stripe={"charges": inside + outside})
        self.sandbox.set_clock(B + DAY + HOUR)

    def run(self, try_number: int) -> dict[str, Any]:
        from airflow_provider_stripe_sync.operators.stripe import StripeListNewChargesOperator

        operator = StripeListNewChargesOperator(
            task_id=self.name, output_uri=str(self.workdir / "out"), lookback=0
        )
        self.result = operator.execute(self.context(try_number, (B, B + DAY)))
        return self.result

    def check(self) -> Check:
        from airflow_provider_stripe_sync.records import read_records

        truth = self.sandbox.state(resources=["charges"])["stripe"]["charges"]
        expected = {c["id"]: c["amount"] for c in truth if B <= c["created"] < B + DAY}
        landed = [(r["id"], r["amount"]) for r in read_records(self.result["uri"])]
        return compare(expected, landed)


# -- Stripe: List Updated --------------------------------------------------------------------------


class ListUpdatedCustomers(Scenario):
    """60 customers changed in the hour (some three times); List Updated Customers reads the hour."""

    name = "list_updated_customers"
    routes = (("stripe", "GET", "/v1/events"), ("stripe", "GET", "/v1/customers/"))

    def prepare(self) -> None:
        from airflow_provider_stripe_sync.hooks.stripe import StripeHook

        customers = [
            {"id": f"cus_u{n:03d}", "email": f"u{n}@example.com", "created": B - DAY} for n in range(80)
        ]
        self.sandbox.seed(stripe={"customers": customers})
        client = StripeHook().client
        for n in range(60):
            for step in range(3 if n % 10 == 0 else 1):
                self.sandbox.set_clock(B + 60 + n * 30 + step)
                client.v1.customers.update(f"cus_u{n:03d}", params={"name": f"Name {n}.{step}"})
        self.sandbox.set_clock(B + HOUR + 60)

    def run(self, try_number: int) -> dict[str, Any]:
        from airflow_provider_stripe_sync.operators.stripe_updated import StripeListUpdatedCustomersOperator

        operator = StripeListUpdatedCustomersOperator(task_id=self.name, output_uri=str(self.workdir / "out"))
        self.result = operator.execute(self.context(try_number, (B, B + HOUR)))
        return self.result

    def check(self) -> Check:
        from airflow_provider_stripe_sync.records import read_records

        truth = self.sandbox.state(resources=["customers"])["stripe"]["customers"]
        changed = {f"cus_u{n:03d}" for n in range(60)}
        expected = {c["id"]: c["name"] for c in truth if c["id"] in changed}
        landed = [(r["id"], r.get("name")) for r in read_records(self.result["uri"])]
        return compare(expected, landed)


# -- Stripe: customers and subscriptions from sign-ups ---------------------------------------------


class SignupsToStripe(Scenario):
    """40 sign-ups, 15 with a plan: one customer each, one subscription each for the 15."""

    name = "stripe_signups"
    routes = (
        ("stripe", "GET", "/v1/customers"),
        ("stripe", "POST", "/v1/customers"),
        ("stripe", "GET", "/v1/prices"),
        ("stripe", "GET", "/v1/subscriptions"),
        ("stripe", "POST", "/v1/subscriptions"),
    )
    count = 40

    def prepare(self) -> None:
        self.sandbox.seed(
            stripe={
                "products": [{"id": "prod_pro", "name": "Pro", "created": B - 5 * DAY}],
                "prices": [
                    {
                        "id": "price_pro",
                        "product": "prod_pro",
                        "currency": "usd",
                        "unit_amount": 2900,
                        "recurring": {"interval": "month"},
                        "lookup_key": "pro_monthly_usd",
                        "created": B - 5 * DAY,
                    }
                ],
            }
        )
        self.sandbox.set_clock(B + DAY + HOUR)
        rows = []
        for n in range(self.count):
            row = {
                "signup_id": f"su_{n:03d}",
                "email": f"signup{n}@example.com",
                "name": f"Signup {n}",
                "signed_up_at": f"2026-10-29T{n % 24:02d}:{n % 60:02d}:00Z",
            }
            if n % 8 < 3:
                row["price_lookup_key"] = "pro_monthly_usd"
            rows.append(row)
        self.signups = self.workdir / "signups.jsonl"
        self.signups.parent.mkdir(parents=True, exist_ok=True)
        self.signups.write_text("".join(json.dumps(r) + "\n" for r in rows))
        self.with_plan = {r["signup_id"] for r in rows if "price_lookup_key" in r}

    def run(self, try_number: int) -> dict[str, Any]:
        from airflow_provider_stripe_sync.operators.stripe import StripeCreateCustomersFromSignupsOperator

        operator = StripeCreateCustomersFromSignupsOperator(
            task_id=self.name,
            signups_uri=str(self.workdir / "signups.jsonl"),
            report_uri=str(self.workdir / "out"),
        )
        return operator.execute(self.context(try_number, (B, B + DAY)))

    def check(self) -> Check:
        state = self.sandbox.state(resources=["customers", "subscriptions"])["stripe"]
        expected = {f"customer su_{n:03d}": f"signup{n}@example.com" for n in range(self.count)}
        expected.update({f"subscription {s}": "price_pro" for s in self.with_plan})
        landed = [(f"customer {c['metadata'].get('signup_id')}", c["email"]) for c in state["customers"]]
        landed += [
            (f"subscription {s['metadata'].get('signup_id')}", s["items"]["data"][0]["price"]["id"])
            for s in state["subscriptions"]
        ]
        return compare(expected, landed)


# -- HubSpot ---------------------------------------------------------------------------------------


def hubspot_profile(n: int) -> dict[str, Any]:
    return {
        "customer": {
            "id": f"cus_{n:03d}",
            "object": "customer",
            "email": f"Customer{n}@Example.com",
            "name": f"Person{n} Number{n}",
            "created": B + n,
            "livemode": False,
        },
        "subscriptions": [],
        "products": {},
    }


class HubSpotUpsert(Scenario):
    """250 customer profiles (three batches of upserts) into HubSpot contacts."""

    name = "hubspot_upsert"
    routes = (
        ("hubspot", "GET", "/crm/v3/properties/contacts"),
        ("hubspot", "POST", "/crm/v3/properties/contacts"),
        ("hubspot", "POST", "/crm/v3/objects/contacts/batch/read"),
        ("hubspot", "POST", "/crm/v3/objects/contacts/batch/upsert"),
    )
    count = 250

    def prepare(self) -> None:
        from airflow_provider_stripe_sync.records import RecordWriter

        self.records = self.workdir / "profiles.jsonl"
        self.records.parent.mkdir(parents=True, exist_ok=True)
        with RecordWriter(self.records, header={"resource": "customer_profiles"}) as writer:
            writer.write_many([hubspot_profile(n) for n in range(self.count)])

    def run(self, try_number: int) -> dict[str, Any]:
        from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator

        operator = HubSpotUpsertContactsOperator(
            task_id=self.name,
            records_uri=str(self.workdir / "profiles.jsonl"),
            report_uri=str(self.workdir / "out"),
        )
        return operator.execute(self.context(try_number))

    def check(self) -> Check:
        contacts = self.sandbox.state()["hubspot"]["contacts"]
        expected = {f"customer{n}@example.com": f"cus_{n:03d}" for n in range(self.count)}
        landed = [(c["properties"]["email"], c["properties"].get("stripe_customer_id")) for c in contacts]
        return compare(expected, landed)


# -- Mailchimp -------------------------------------------------------------------------------------


class MailchimpUpsert(Scenario):
    """60 paying customers into an audience, each with its tags."""

    name = "mailchimp_upsert"
    routes = (
        ("mailchimp", "GET", f"/3.0/lists/{LIST_ID}/members/"),
        ("mailchimp", "PUT", f"/3.0/lists/{LIST_ID}/members/"),
        ("mailchimp", "POST", f"/3.0/lists/{LIST_ID}/members/"),
        ("mailchimp", "GET", f"/3.0/lists/{LIST_ID}"),
    )
    count = 60

    def prepare(self) -> None:
        from airflow_provider_stripe_sync.records import RecordWriter

        _mailchimp_admin(self.sandbox, "/seed", {"lists": [{"id": LIST_ID, "name": "Customers"}]})
        profiles = [
            {
                "customer": {
                    "id": f"cus_{n:03d}",
                    "object": "customer",
                    "email": f"buyer{n}@example.com",
                    "name": f"Buyer{n} Number{n}",
                    "created": B + n,
                    "metadata": {},
                },
                "subscriptions": [],
                "products": {},
            }
            for n in range(self.count)
        ]
        charges = [
            {"id": f"ch_{n:03d}", "object": "charge", "customer": f"cus_{n:03d}", "status": "succeeded"}
            for n in range(self.count)
        ]
        self.workdir.mkdir(parents=True, exist_ok=True)
        with RecordWriter(
            self.workdir / "profiles.jsonl", header={"resource": "customer_profiles"}
        ) as writer:
            writer.write_many(profiles)
        with RecordWriter(self.workdir / "charges.jsonl", header={"resource": "charges"}) as writer:
            writer.write_many(charges)

    def run(self, try_number: int) -> dict[str, Any]:
        from airflow_provider_stripe_sync.operators.mailchimp import MailchimpUpsertMembersOperator

        operator = MailchimpUpsertMembersOperator(
            task_id=self.name,
            records_uri=[str(self.workdir / "profiles.jsonl"), str(self.workdir / "charges.jsonl")],
            report_uri=str(self.workdir / "out"),
            ledger_uri=str(self.workdir / "ledger.jsonl"),
        )
        return operator.execute(self.context(try_number))

    def check(self) -> Check:
        audience = next(a for a in _mailchimp_admin(self.sandbox, "/state")["lists"] if a["id"] == LIST_ID)
        expected = {f"buyer{n}@example.com": ("customer", "paid") for n in range(self.count)}
        landed = [
            (m["email_address"], tuple(sorted(t["name"] for t in m["tags"]))) for m in audience["members"]
        ]
        return compare(expected, landed)


def _mailchimp_admin(sandbox: Any, path: str, body: Any = None) -> Any:
    import urllib.request

    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/mailchimp{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# -- Xero ------------------------------------------------------------------------------------------

XERO_LEDGER = {
    "currencies": {
        "usd": {"clearing": "095", "fees": "404", "bank": "090"},
        "eur": {"clearing": "096", "fees": "404", "bank": "091"},
        "jpy": {"clearing": "097", "fees": "404"},
    },
    "categories": {"charge": "200", "refund": "200", "dispute": "480", "dispute_reversal": "480"},
    "fee_accounts": {"tax": "820"},
    "suspense": "999",
}


class XeroBankTransactions(Scenario):
    """120 charges in three currencies, refunds and a payout: bank transactions (three batches) and a transfer."""

    name = "xero_bank_transactions"
    routes = (
        ("xero", "POST", "/connect/token"),
        ("xero", "GET", "/api.xro/2.0/Accounts"),
        ("xero", "GET", "/api.xro/2.0/Contacts"),
        ("xero", "PUT", "/api.xro/2.0/Contacts"),
        ("xero", "GET", "/api.xro/2.0/BankTransactions"),
        ("xero", "PUT", "/api.xro/2.0/BankTransactions"),
        ("xero", "GET", "/api.xro/2.0/BankTransfers"),
        ("xero", "PUT", "/api.xro/2.0/BankTransfers"),
        ("stripe", "GET", "/v1/balance_transactions"),
    )

    def prepare(self) -> None:
        from airflow_provider_stripe_sync.operators.stripe import StripeListNewBalanceTransactionsOperator

        currencies = ("usd", "eur", "jpy")
        charges = [
            {
                "id": f"ch_x{n:03d}",
                "amount": 1000 + 37 * n,
                "currency": currencies[n % 3],
                "source": "tok_visa",
                "created": B + 100 + n * 60,
            }
            for n in range(120)
        ]
        refunds = [
            {"charge": f"ch_x{n:03d}", "amount": 500, "created": B + 9000 + n} for n in range(0, 120, 12)
        ]
        balance = [
            {
                "id": "txn_x_charge_paid_out",
                "type": "charge",
                "reporting_category": "charge",
                "amount": 2000,
                "currency": "usd",
                "created": B + 10000,
                "fee_details": [{"type": "stripe_fee", "amount": 59}],
                "payout": "po_x1",
            },
            {
                "id": "txn_x_payout",
                "type": "payout",
                "reporting_category": "payout",
                "amount": -1941,
                "currency": "usd",
                "created": B + 11000,
                "fee_details": [],
                "source": "po_x1",
                "payout": "po_x1",
            },
        ]
        self.sandbox.seed(stripe={"charges": charges, "refunds": refunds, "balance_transactions": balance})
        self.sandbox.set_clock(B + DAY + HOUR)
        operator = StripeListNewBalanceTransactionsOperator(
            task_id="list", output_uri=str(self.workdir / "out"), lookback=0
        )
        summary = operator.execute(make_context(interval=(B, B + DAY), run_id="scheduled__list"))
        (self.workdir / "summary.json").write_text(json.dumps(summary))

    @property
    def summary(self) -> dict[str, Any]:
        """The upstream List New Balance Transactions summary (kept in a file for a task process)."""
        return json.loads((self.workdir / "summary.json").read_text())

    def run(self, try_number: int) -> dict[str, Any]:
        from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator

        operator = XeroCreateBankTransactionsOperator(
            task_id=self.name, records_uri=self.summary, ledger=XERO_LEDGER, stripe_conn_id="stripe_default"
        )
        return operator.execute(self.context(try_number))

    def check(self) -> Check:
        from airflow_provider_stripe_sync.records import read_records

        ledger = _xero_state(self.sandbox)
        txns = list(read_records(self.summary["uri"]))
        # Every balance transaction settling in a currency with a clearing account is posted once:
        # the payout as a transfer, the rest as bank transactions (Reference = the Stripe id).
        expected = {}
        for txn in txns:
            if txn["currency"] not in XERO_LEDGER["currencies"]:
                continue
            kind = "transfer" if txn["type"] == "payout" else "transaction"
            expected[txn["id"]] = kind
        landed = [(t["Reference"], "transaction") for t in ledger["bank_transactions"]]
        landed += [(t["Reference"], "transfer") for t in ledger["bank_transfers"]]
        return compare(expected, landed)


def _xero_state(sandbox: Any) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(sandbox.url + "/_sandbox/xero/state", timeout=30) as response:
        return json.loads(response.read())


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (
        ListNewCharges,
        ListUpdatedCustomers,
        SignupsToStripe,
        HubSpotUpsert,
        MailchimpUpsert,
        XeroBankTransactions,
    )
}

#: The scenarios the SIGKILL runs use: the write route whose answer the kill interrupts, and the
#: most writes that may land first (fewer than the run makes, so the kill is always mid-run).
KILL_ROUTES: dict[str, tuple[str, str, str, int]] = {
    "stripe_signups": ("stripe", "POST", "/v1/customers", 20),
    "hubspot_upsert": ("hubspot", "POST", "/crm/v3/objects/contacts/batch/upsert", 1),
    "mailchimp_upsert": ("mailchimp", "PUT", f"/3.0/lists/{LIST_ID}/members/", 20),
    "xero_bank_transactions": ("xero", "PUT", "/api.xro/2.0/BankTransactions", 1),
}
