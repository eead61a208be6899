"""HubSpotUpsertContactsOperator against the sandbox, over HTTP, with the real hubspot SDK."""

from __future__ import annotations

import pytest

from airflow_provider_stripe_sync.exceptions import DestinationError
from airflow_provider_stripe_sync.mapping.hubspot import CONTACT_PROPERTY_NAMES
from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator
from airflow_provider_stripe_sync.records import RecordWriter, read_records
from tests.conftest import make_context

pytestmark = pytest.mark.integration

RUN_ID = "scheduled__2026-10-29T00:00:00+00:00"
SAFE_RUN_ID = "scheduled__2026-10-29T00_00_00_00_00"
CREATED = 1793232000
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
UPDATE = "/crm/v3/objects/contacts/batch/update"
READ = "/crm/v3/objects/contacts/batch/read"
PROPERTIES = "/crm/v3/properties/contacts"

PRODUCTS = {
    "prod_gold": {"id": "prod_gold", "object": "product", "name": "Gold Plan"},
    "prod_team": {"id": "prod_team", "object": "product", "name": "Team Plan"},
}


def profile(n, email):
    """A customer profile record as the CRM DAG builds it."""
    product = "prod_gold" if n % 2 else "prod_team"
    return {
        "customer": {
            "id": f"cus_{n:03d}",
            "object": "customer",
            "email": email,
            "name": f"Person{n} Number {n}",
            "phone": f"+1555000{n:04d}",
            "created": CREATED + n,
            "livemode": False,
        },
        "subscriptions": [
            {
                "id": f"sub_{n:03d}",
                "object": "subscription",
                "status": "active" if n % 3 else "past_due",
                "created": CREATED + n + 5,
                "items": {"object": "list", "data": [{"price": {"id": f"price_{n}", "product": product}}]},
            }
        ],
        "products": {product: PRODUCTS[product]},
    }


def expected_properties(n):
    return {
        "email": f"customer{n}@example.com",
        "firstname": f"Person{n}",
        "lastname": f"Number {n}",
        "phone": f"+1555000{n:04d}",
        "stripe_customer_id": f"cus_{n:03d}",
        "stripe_customer_created": str((CREATED + n) * 1000),
        "stripe_subscription_id": f"sub_{n:03d}",
        "stripe_subscription_status": "active" if n % 3 else "past_due",
        "stripe_product": "Gold Plan" if n % 2 else "Team Plan",
        "stripe_livemode": "false",
    }


def write_records(path, records):
    with RecordWriter(path, header={"resource": "customer_profiles"}) as writer:
        writer.write_many(records)
    return str(path)


def run(records_uri, *, try_number=1, **kwargs):
    operator = HubSpotUpsertContactsOperator(task_id="upsert_contacts", records_uri=records_uri, **kwargs)
    return operator.execute(
        make_context(dag_id="crm_sync", task_id="upsert_contacts", run_id=RUN_ID, try_number=try_number)
    )


def contacts(sandbox):
    """The sandbox's contacts: id and the properties this provider writes."""
    return [
        (c["id"], {name: c["properties"][name] for name in CONTACT_PROPERTY_NAMES if name in c["properties"]})
        for c in sandbox.state()["hubspot"]["contacts"]
    ]


def calls(sandbox, path=None):
    return [
        (r["method"], r["path"], r["status"])
        for r in sandbox.requests()
        if r["api"] == "hubspot" and (path is None or r["path"] == path)
    ]


def report_path(tmp_path, try_number):
    return tmp_path / "reports" / "crm_sync" / "upsert_contacts" / f"{SAFE_RUN_ID}__try{try_number}.jsonl"


def test_hundred_records_with_one_invalid_email_then_a_rerun_writes_nothing(sandbox, tmp_path):
    records = [profile(n, "not-an-email" if n == 42 else f"  Customer{n}@Example.COM ") for n in range(100)]
    records_uri = write_records(tmp_path / "profiles.jsonl", records)

    result = run(records_uri)

    assert result == {
        "upserted": 99,
        "unchanged": 0,
        "rejected": 1,
        "report_uri": f"file://{report_path(tmp_path, 1)}",
    }
    stored = contacts(sandbox)
    assert sorted(props["stripe_customer_id"] for _, props in stored) == [
        f"cus_{n:03d}" for n in range(100) if n != 42
    ]
    by_customer = {props["stripe_customer_id"]: props for _, props in stored}
    assert all(by_customer[f"cus_{n:03d}"] == expected_properties(n) for n in range(100) if n != 42)
    assert list(read_records(report_path(tmp_path, 1))) == [{"id": "cus_042", "reason": "invalid_email"}]
    definitions = {p["name"]: p for p in sandbox.state()["hubspot"]["properties"]}
    assert definitions["stripe_customer_id"]["hasUniqueValue"] is True
    assert definitions["stripe_customer_created"]["type"] == "datetime"
    assert [c for c in calls(sandbox) if c[0] == "POST" and c[1] == PROPERTIES] == [
        ("POST", PROPERTIES, 201)
    ] * 6
    assert calls(sandbox, UPSERT) == [("POST", UPSERT, 200)]

    before = sandbox.state()["hubspot"]["contacts"]
    sandbox.clear_requests()
    rerun = run(records_uri, try_number=2)

    assert rerun == {
        "upserted": 0,
        "unchanged": 99,
        "rejected": 1,
        "report_uri": f"file://{report_path(tmp_path, 2)}",
    }
    assert calls(sandbox) == [("GET", PROPERTIES, 200), ("POST", READ, 200), ("POST", READ, 200)]
    assert sandbox.state()["hubspot"]["contacts"] == before


def test_a_record_hubspot_refuses_is_split_out_and_the_rest_land(sandbox, tmp_path):
    # "@localhost" passes the local check; HubSpot (the sandbox) refuses the whole batch for it.
    records = [
        profile(n, "customer17@localhost" if n == 17 else f"customer{n}@example.com") for n in range(100)
    ]

    result = run(write_records(tmp_path / "profiles.jsonl", records))

    assert (result["upserted"], result["unchanged"], result["rejected"]) == (99, 0, 1)
    assert len(contacts(sandbox)) == 99
    [line] = read_records(report_path(tmp_path, 1))
    assert (line["id"], line["reason"], line["status"], line["category"]) == (
        "cus_017",
        "hubspot_rejected",
        400,
        "VALIDATION_ERROR",
    )
    assert "Email address customer17@localhost is invalid" in line["message"]
    assert line["correlation_id"]
    upserts = calls(sandbox, UPSERT)
    # Halving isolates the bad record in 8 refused calls (100, 50, 25, 13, 7, 4, 2, then 1 input);
    # each half without it lands in one call.
    assert [status for _, _, status in upserts].count(400) == 8
    assert [status for _, _, status in upserts].count(200) == 7


def test_an_email_change_updates_the_same_contact(sandbox, tmp_path):
    first = run(write_records(tmp_path / "day1.jsonl", [profile(1, "customer1@example.com")]))
    assert first["upserted"] == 1
    [(contact_id, _)] = contacts(sandbox)
    sandbox.clear_requests()

    second = run(write_records(tmp_path / "day2.jsonl", [profile(1, "Renamed@Example.com")]))

    assert second == {"upserted": 1, "unchanged": 0, "rejected": 0, "report_uri": None}
    assert contacts(sandbox) == [(contact_id, dict(expected_properties(1), email="renamed@example.com"))]
    assert calls(sandbox, UPDATE) == [("POST", UPDATE, 200)]
    assert calls(sandbox, UPSERT) == []


def test_an_email_change_to_another_contacts_email_is_reported(sandbox, tmp_path):
    run(write_records(tmp_path / "day1.jsonl", [profile(1, "customer1@example.com")]))
    sandbox.seed(hubspot={"contacts": [{"properties": {"email": "taken@example.com", "firstname": "Other"}}]})
    before = contacts(sandbox)
    owner_id, other_id = before[0][0], before[1][0]

    result = run(
        write_records(
            tmp_path / "day2.jsonl", [profile(1, "taken@example.com"), profile(2, "customer2@example.com")]
        )
    )

    assert result == {
        "upserted": 1,
        "unchanged": 0,
        "rejected": 1,
        "report_uri": f"file://{report_path(tmp_path, 1)}",
    }
    assert list(read_records(report_path(tmp_path, 1))) == [
        {
            "id": "cus_001",
            "reason": "email_belongs_to_other_contact",
            "contact_id": owner_id,
            "other_contact_id": other_id,
        }
    ]
    assert contacts(sandbox)[:2] == before


def test_an_older_customer_seen_later_does_not_take_the_contact_from_a_newer_one(sandbox, tmp_path):
    newer = profile(2, "shared@example.com")
    older = profile(1, " Shared@Example.com ")
    run(write_records(tmp_path / "day2.jsonl", [newer]))
    before = contacts(sandbox)

    # Another interval sees the older customer with the same email, but not the newer one.
    result = run(
        write_records(tmp_path / "day3.jsonl", [older, profile(3, "customer3@example.com")]), try_number=2
    )

    assert result == {
        "upserted": 1,
        "unchanged": 0,
        "rejected": 1,
        "report_uri": f"file://{report_path(tmp_path, 2)}",
    }
    assert list(read_records(report_path(tmp_path, 2))) == [
        {"id": "cus_001", "reason": "email_shared_with_newer_customer", "winner": "cus_002"}
    ]
    assert contacts(sandbox)[:1] == before
    # And the newer customer, seen again, is unchanged.
    assert run(write_records(tmp_path / "day2.jsonl", [newer]), try_number=3)["unchanged"] == 1


def test_ten_secondly_429s_are_waited_out(sandbox, tmp_path):
    sandbox.add_fault(UPSERT, 429, api="hubspot", method="POST", times=2, policyName="TEN_SECONDLY_ROLLING")

    result = run(
        write_records(tmp_path / "profiles.jsonl", [profile(n, f"customer{n}@example.com") for n in range(3)])
    )

    assert result == {"upserted": 3, "unchanged": 0, "rejected": 0, "report_uri": None}
    assert calls(sandbox, UPSERT) == [("POST", UPSERT, 429), ("POST", UPSERT, 429), ("POST", UPSERT, 200)]
    assert len(contacts(sandbox)) == 3


def test_a_daily_429_fails_at_once_with_a_clear_message(sandbox, tmp_path):
    sandbox.add_fault(UPSERT, 429, api="hubspot", method="POST", times=5, policyName="DAILY")

    with pytest.raises(
        DestinationError, match=r"HubSpot daily limit reached while trying to upsert 3 contacts"
    ):
        run(
            write_records(
                tmp_path / "profiles.jsonl", [profile(n, f"customer{n}@example.com") for n in range(3)]
            )
        )

    assert calls(sandbox, UPSERT) == [("POST", UPSERT, 429)]
    assert contacts(sandbox) == []


def test_test_connection_against_the_sandbox(sandbox):
    from airflow_provider_stripe_sync.hooks.hubspot import HubSpotHook

    assert HubSpotHook().test_connection() == (
        True,
        "Connection to HubSpot works: the token can read contacts.",
    )
    assert calls(sandbox) == [("GET", "/crm/v3/objects/contacts", 200)]
