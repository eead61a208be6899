"""Seeding: explicit objects (with their own ids and timestamps) and the deterministic demo scenario."""

from __future__ import annotations

import copy
import gc
import marshal
import random
from typing import TYPE_CHECKING, Any

from airflow_provider_stripe_sync.sandbox import stripe_billing as billing
from airflow_provider_stripe_sync.sandbox import stripe_resources as res
from airflow_provider_stripe_sync.sandbox.hubspot_api import HubSpotError
from airflow_provider_stripe_sync.sandbox.stripe_model import (
    DEFAULT_CONVERTING_SETTLEMENT,
    PREFIXES,
    StripeAccountStore,
)

if TYPE_CHECKING:
    from airflow_provider_stripe_sync.sandbox.app import Sandbox

#: Seedable Stripe resources, in creation order, with their create function and the keys that are inputs
#: (transformed by the create function) rather than final field values.
STRIPE_SEEDERS = [
    ("customers", res.create_customer, {"address", "shipping", "metadata"}),
    ("products", res.create_product, {"metadata"}),
    ("prices", res.create_price, {"recurring", "product_data", "transfer_lookup_key", "metadata"}),
    ("charges", res.create_charge, {"source", "capture", "metadata"}),
    ("refunds", res.create_refund, {"metadata"}),
    ("payment_intents", res.create_payment_intent, {"confirm", "metadata"}),
    (
        "subscriptions",
        res.create_subscription,
        {"items", "trial_period_days", "payment_behavior", "metadata", "status", "canceled_at", "ended_at"},
    ),
    ("payouts", billing.create_payout, {"status", "arrival_date", "automatic", "method", "metadata"}),
    ("coupons", billing.create_coupon, {"duration_in_months", "metadata"}),
    ("invoiceitems", billing.create_invoiceitem, {"price_data", "period", "metadata"}),
    ("tax_rates", billing.create_tax_rate, {"metadata"}),
    (
        "balance_transactions",
        res.create_balance_transaction,
        {"type", "reporting_category", "fee_details", "payout", "source", "description"},
    ),
]


def seed_objects(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """Create the given Stripe objects (in one account) and HubSpot contacts; return what was made."""
    account = body.get("account") or None
    store = sandbox.stripe.stripe.store(account)
    if "settlement_currencies" in body:
        currencies = body["settlement_currencies"]
        store.settlement_currencies = tuple(c.lower() for c in currencies) if currencies else None
    out: dict[str, Any] = {"account": account, "stripe": {}, "hubspot": {}}
    given = body.get("stripe") or {}
    for resource, create, inputs in STRIPE_SEEDERS:
        made = [_seed_stripe(store, resource, create, inputs, item) for item in given.get(resource) or []]
        if made:
            out["stripe"][resource] = made
    unknown = set(given) - {name for name, _, _ in STRIPE_SEEDERS}
    if unknown:
        raise ValueError("cannot seed Stripe resources: {}".format(", ".join(sorted(unknown))))
    contacts = (body.get("hubspot") or {}).get("contacts") or []
    if contacts:
        out["hubspot"]["contacts"] = [_seed_contact(sandbox, item) for item in contacts]
    return out


def _seed_stripe(
    store: StripeAccountStore, resource: str, create, inputs: set[str], item: dict[str, Any]
) -> dict[str, Any]:
    """Create one seeded Stripe object through the same path as an API create."""
    params = {k: v for k, v in item.items() if k not in ("id", "created")}
    if resource == "products" and "id" in item:
        params["id"] = item["id"]
    overrides = {k: v for k, v in params.items() if k not in inputs}
    obj = create(store, params, created=item.get("created"), obj_id=item.get("id"), overrides=overrides)
    if resource == "subscriptions" and (item.get("status") == "canceled" or item.get("canceled_at")):
        at = item.get("canceled_at") or item.get("ended_at") or obj["created"]
        res.cancel_subscription(store, obj, {}, at=int(at))
    return copy.deepcopy(obj)


def _seed_contact(sandbox: Sandbox, item: dict[str, Any]) -> dict[str, Any]:
    """Create one HubSpot contact (``properties`` or flat fields; optional ``id`` and ``created``)."""
    hub = sandbox.hubspot.hub
    raw = item.get("properties")
    if raw is None:
        raw = {k: v for k, v in item.items() if k not in ("id", "created", "createdAt")}
    props, problems = hub.clean_properties(raw)
    if problems:
        raise HubSpotError(400, f"invalid contact {raw}: {problems}", "VALIDATION_ERROR")
    clash = hub.unique_clash(None, props)
    if clash:
        raise clash
    created = item.get("created")
    contact = hub.new_contact(
        props,
        at=float(created) if created is not None else None,
        contact_id=str(item["id"]) if item.get("id") is not None else None,
    )
    return copy.deepcopy(contact)


def dump_state(sandbox: Sandbox, account: str | None, resources: list[str] | None = None) -> dict[str, Any]:
    """Every object by API and resource (one Stripe partition; ``resources`` limits the Stripe ones)."""
    stripe_state = sandbox.stripe.stripe
    store = stripe_state.partitions.get(account)
    names = [name for name in PREFIXES if not resources or name in resources]
    stripe_out: dict[str, Any] = {name: [] for name in names}
    if store is not None:
        store.refresh_balance_statuses()
        stripe_out = {name: copy.deepcopy(store.ordered(name)) for name in names}
        stripe_out["deleted"] = sorted(store.deleted)
        stripe_out["idempotency_keys"] = sorted(store.idempotency)
    hub = sandbox.hubspot.hub
    return {
        "now": sandbox.state.clock.now(),
        "account": account,
        "stripe_accounts": sorted(a for a in stripe_state.partitions if a),
        "stripe": stripe_out,
        "hubspot": {
            "contacts": copy.deepcopy(sorted(hub.contacts.values(), key=lambda c: int(c["id"]))),
            "properties": copy.deepcopy(list(hub.properties.values())),
        },
        "faults": [f.as_dict() for f in sandbox.state.faults],
    }


# -- the demo scenario --------------------------------------------------------------------------------

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Sophia",
    "Elijah",
    "Mia",
    "James",
    "Ava",
    "Lucas",
    "Isabella",
    "Mateo",
    "Charlotte",
    "Hiroshi",
    "Yuki",
    "Sakura",
    "Haruto",
    "Chloé",
    "Léa",
    "Lukas",
    "Hannah",
    "Jonas",
    "Sofía",
    "Diego",
    "Aarav",
    "Priya",
    "Fatima",
    "Omar",
    "Zoë",
    "Björn",
    "Siobhan",
    "Ciarán",
    "Nora",
    "Ingrid",
    "Mei",
    "Wei",
    "Ana",
    "João",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Müller",
    "Schmidt",
    "Dubois",
    "Moreau",
    "O'Brien",
    "Kelly",
    "Murphy",
    "Rossi",
    "Bianchi",
    "Nakamura",
    "Kowalski",
    "Nowak",
    "Silva",
    "Santos",
    "Patel",
    "Khan",
    "Chen",
    "Wang",
    "Li",
    "Andersson",
    "Johansson",
    "Novak",
    "Fischer",
    "Weber",
    "Lopez",
    "Martin",
    "Lee",
]
DOMAINS = [
    "example.com",
    "example.org",
    "mail.example.net",
    "acme.example",
    "corp.example.co.uk",
    "example.jp",
]

#: (product name, monthly unit amount per currency in minor units; yearly is 10 months)
PRODUCTS = [
    ("Starter", {"usd": 900, "eur": 900, "gbp": 800, "jpy": 1200}),
    ("Pro", {"usd": 2900, "eur": 2700, "gbp": 2400, "jpy": 4000}),
    ("Team", {"usd": 9900, "eur": 8900, "gbp": 7900, "jpy": 13000}),
    ("Enterprise add-on", {"usd": 49900, "eur": 45900, "gbp": 39900, "jpy": 65000}),
]
CURRENCY_WEIGHTS = [("usd", 55), ("eur", 20), ("gbp", 15), ("jpy", 10)]
#: One-off charge amount ranges (minor units) per currency.
CHARGE_RANGES = {"usd": (500, 50000), "eur": (500, 45000), "gbp": (500, 40000), "jpy": (500, 60000)}


def _ascii(text: str) -> str:
    """Email-safe form of a name."""
    table = str.maketrans({"é": "e", "ë": "e", "ü": "u", "ö": "o", "í": "i", "á": "a", "ã": "a", "ø": "o"})
    return "".join(ch for ch in text.translate(table).lower() if ch.isalnum())


def seed_scenario(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """Run a named scenario (only ``demo`` exists)."""
    if body.get("scenario") != "demo":
        raise ValueError("unknown scenario {!r} (known: demo)".format(body.get("scenario")))
    state = sandbox.state
    previous_rng = state.ids.rng
    state.ids.rng = random.Random("ids-{}".format(body.get("seed", 7)))
    try:
        store = sandbox.stripe.stripe.store(body.get("account") or None)
        # The demo account settles in usd, eur and gbp: its JPY charges settle in usd with an exchange rate.
        store.settlement_currencies = DEFAULT_CONVERTING_SETTLEMENT
        counts = Demo(
            store,
            int(body.get("seed", 7)),
            int(body.get("end", 1793491200)),
            int(body.get("days", 30)),
            int(body.get("customers", 2000)),
        ).run()
    finally:
        state.ids.rng = previous_rng
    return {"scenario": "demo", "account": body.get("account"), "counts": counts}


class Demo:
    """Deterministic demo data: catalogue, customers, charges, refunds and subscriptions over ``days``."""

    def __init__(self, store: StripeAccountStore, seed: int, end: int, days: int, customers: int) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.end = end
        self.start = end - days * 86400
        self.n_customers = customers
        self.prices: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def run(self) -> dict[str, int]:
        """Create everything; return counts per resource in the store."""
        self._catalogue()
        emails: list[str] = []
        for i in range(self.n_customers):
            customer = self._customer(i, emails)
            self._charges(customer)
            self._subscriptions(customer)
        return {name: len(self.store.objects[name]) for name in PREFIXES if name != "accounts"}

    def _catalogue(self) -> None:
        """Products with monthly and yearly prices in usd, eur, gbp and jpy."""
        when = self.start - 60 * 86400
        for name, amounts in PRODUCTS:
            product = res.create_product(
                self.store, {"name": name, "description": f"{name} plan"}, created=when
            )
            for currency, monthly in amounts.items():
                for interval, amount in (("month", monthly), ("year", monthly * 10)):
                    key = f"{_ascii(name)}_{interval}ly_{currency}"
                    price = res.create_price(
                        self.store,
                        {
                            "product": product["id"],
                            "currency": currency,
                            "unit_amount": amount,
                            "recurring": {"interval": interval},
                            "lookup_key": key,
                            "nickname": key,
                        },
                        created=when,
                    )
                    self.prices.setdefault((currency, interval), []).append(price)
                    when += 1

    def _time_between(self, low: int, high: int) -> int:
        """A random second in ``[low, high)``."""
        return self.rng.randrange(low, max(high, low + 1))

    def _customer(self, i: int, emails: list[str]) -> dict[str, Any]:
        """A customer with a realistic name and (usually) an email; a few emails repeat or differ by case."""
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        roll = self.rng.random()
        if roll < 0.02:
            email = None
        elif roll < 0.03 and emails:
            email = (
                self.rng.choice(emails).upper()
                if self.rng.random() < 0.5
                else self.rng.choice(emails).title()
            )
        elif roll < 0.04 and emails:
            email = self.rng.choice(emails)
        else:
            email = f"{_ascii(first)}.{_ascii(last)}{i}@{self.rng.choice(DOMAINS)}"
            emails.append(email)
        currency = self.rng.choices([c for c, _ in CURRENCY_WEIGHTS], [w for _, w in CURRENCY_WEIGHTS])[0]
        created = self._time_between(self.start, self.end - 3600)
        params = {
            "name": f"{first} {last}",
            "email": email,
            "metadata": {"demo_index": str(i), "preferred_currency": currency},
        }
        if email is None:
            params.pop("email")
        return res.create_customer(self.store, params, created=created)

    def _charges(self, customer: dict[str, Any]) -> None:
        """0-4 one-off charges after the customer was created; some refunded later."""
        currency = customer["metadata"]["preferred_currency"]
        for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3, 4])):
            low, high = CHARGE_RANGES[currency]
            amount = self.rng.randrange(low, high)
            if currency != "jpy":
                amount = amount // 100 * 100 + self.rng.choice([0, 0, 50, 99])
            created = self._time_between(customer["created"], self.end - 60)
            charge = res.create_charge(
                self.store,
                {
                    "amount": amount,
                    "currency": currency,
                    "customer": customer["id"],
                    "source": "tok_visa",
                    "description": "Demo order",
                },
                created=created,
            )
            if self.rng.random() < 0.08:
                partial = self.rng.random() < 0.3
                refund_amount = amount // 2 if partial else None
                when = self._time_between(created + 60, self.end)
                params = {"charge": charge["id"], "reason": "requested_by_customer"}
                if refund_amount:
                    params["amount"] = refund_amount
                res.create_refund(self.store, params, created=when)

    def _subscriptions(self, customer: dict[str, Any]) -> None:
        """Most customers subscribe; some twice, some trialing, some cancel later."""
        roll = self.rng.random()
        count = 0 if roll < 0.4 else (2 if roll > 0.93 else 1)
        currency = customer["metadata"]["preferred_currency"]
        for _ in range(count):
            interval = "year" if self.rng.random() < 0.25 else "month"
            price = self.rng.choice(self.prices[(currency, interval)])
            created = self._time_between(customer["created"], self.end - 60)
            params: dict[str, Any] = {
                "customer": customer["id"],
                "items": [{"price": price["id"]}],
                "metadata": {"source": "demo"},
            }
            if self.rng.random() < 0.15:
                params["trial_period_days"] = 14
            sub = res.create_subscription(self.store, params, created=created)
            if self.rng.random() < 0.2:
                res.cancel_subscription(self.store, sub, {}, at=self._time_between(created + 3600, self.end))


# -- bulk seeding ---------------------------------------------------------------------------------

#: The largest bulk seed one request may ask for.
BULK_MAX = 2_000_000

#: Bulk ids: the prefix, an underscore and this many base62 characters, as the sandbox makes them.
_BULK_ID_LENGTH = 14


def _prototype(sandbox: Sandbox, resource: str, account: str | None) -> dict[str, Any]:
    """One object of ``resource`` made the usual way, in a scratch store the sandbox never serves."""
    store = StripeAccountStore(sandbox.state, account)
    store.settlement_currencies = None
    if resource == "customers":
        return res.create_customer(store, {"email": "bulk@example.com", "name": "Bulk Customer"}, created=0)
    if resource == "charges":
        params = {"amount": 2500, "currency": "usd", "source": "tok_visa", "description": "Bulk order"}
        return res.create_charge(store, params, created=0)
    if resource == "balance_transactions":
        charge = res.create_charge(
            store, {"amount": 2500, "currency": "usd", "source": "tok_visa"}, created=0
        )
        return store.objects["balance_transactions"][charge["balance_transaction"]]
    if resource == "subscriptions":
        customer = res.create_customer(store, {"email": "bulk@example.com"}, created=0)
        product = res.create_product(store, {"name": "Bulk plan"}, created=0)
        price = res.create_price(
            store,
            {
                "product": product["id"],
                "currency": "usd",
                "unit_amount": 900,
                "recurring": {"interval": "month"},
            },
            created=0,
        )
        return res.create_subscription(
            store, {"customer": customer["id"], "items": [{"price": price["id"]}]}, created=0
        )
    raise ValueError(
        f"cannot bulk-seed {resource!r}; bulk seeding makes customers, charges, subscriptions "
        "or balance_transactions"
    )


def seed_bulk(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """
    Make ``count`` objects of one resource, fast: copies of one prototype, made the usual way, each
    with its own id (everywhere the prototype's id appears) and a ``created`` second drawn evenly
    from ``[start, end)``. The copies have no side effects (no events, balance transactions or
    customers behind them): they are for reading in volume. 200,000 charges take a few seconds.
    Returns how many were made and how many of the resource the account now holds.

    Body: ``{"resource": "charges", "count": 200000, "start": epoch, "end": epoch, "seed": 1,
    "account": null}``.
    """
    import json

    resource = str(body.get("resource") or "")
    count = int(body.get("count") or 0)
    if not 1 <= count <= BULK_MAX:
        raise ValueError(f"count must be from 1 to {BULK_MAX}, got {body.get('count')!r}")
    start, end = int(body["start"]), int(body["end"])
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    account = body.get("account") or None
    prototype = _prototype(sandbox, resource, account)
    prefix = prototype["id"].split("_", 1)[0]
    # Copies are made from the prototype's marshal bytes (far quicker to load than JSON), with a
    # stand-in id of the same length as the real ones, so every length prefix stays right.
    stand_in = f"{prefix}_{'0' * _BULK_ID_LENGTH}"
    data = marshal.dumps(json.loads(json.dumps(prototype).replace(prototype["id"], stand_in)))
    rng = random.Random(f"bulk-{body.get('seed', 1)}-{resource}")
    store = sandbox.stripe.stripe.store(account)
    # Hundreds of thousands of new dicts would set the cyclic garbage collector off again and again,
    # each time walking everything made so far; these objects hold no cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        made = _copy_prototype(data, stand_in, count, start, end, rng, store, resource)
    finally:
        if collecting:
            gc.enable()
    # Kept out of later collections too: a full collection walking them would stall every answer.
    gc.freeze()
    store._order_cache.pop(resource, None)
    return {"resource": resource, "account": account, "count": made, "total": len(store.objects[resource])}


def _copy_prototype(
    data: bytes,
    stand_in: str,
    count: int,
    start: int,
    end: int,
    rng: random.Random,
    store: StripeAccountStore,
    resource: str,
) -> int:
    """Store ``count`` copies of the prototype's marshal ``data``, each with a new id and ``created``."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    prefix = stand_in.split("_", 1)[0] + "_"
    old = stand_in.encode()
    objects, seq = store.objects[resource], store.seq
    made = 0
    while made < count:
        obj_id = prefix + "".join(rng.choices(alphabet, k=_BULK_ID_LENGTH))
        if obj_id in objects:
            continue
        obj = marshal.loads(data.replace(old, obj_id.encode()))
        obj["created"] = rng.randrange(start, end)
        store._counter += 1
        seq[obj_id] = store._counter
        objects[obj_id] = obj
        made += 1
    return made
