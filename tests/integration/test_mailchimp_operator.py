"""MailchimpUpsertMembersOperator against the sandbox, over HTTP, with the real mailchimp-marketing SDK."""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError
from airflow_provider_stripe_sync.mapping.mailchimp import subscriber_hash
from airflow_provider_stripe_sync.operators.mailchimp import MailchimpUpsertMembersOperator
from airflow_provider_stripe_sync.records import RecordWriter, read_records
from tests.conftest import make_context
from tests.mailchimp_contract import check_mailchimp_log

pytestmark = pytest.mark.integration

LIST_ID = "aud0001"
CREATED = 1793232000
PRODUCTS = {"prod_gold": {"id": "prod_gold", "object": "product", "name": "Gold Plan"}}


@pytest.fixture
def mailchimp(sandbox, monkeypatch, tmp_path):
    """The sandbox with one audience and ``mailchimp_default`` pointing at it; AIRFLOW_HOME in tmp."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAILCHIMP_DEFAULT",
        json.dumps(
            {
                "conn_type": "mailchimp",
                "password": "0123456789abcdef0123456789abcdef-us21",
                "host": sandbox.url,
                "extra": {"list_id": LIST_ID, "environment": "test"},
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    mailchimp_admin(sandbox, "POST", "/seed", {"lists": [{"id": LIST_ID, "name": "Customers"}]})
    yield sandbox
    problems = check_mailchimp_log(sandbox.requests())
    assert problems in (None, []), "Mailchimp responses outside the spec:\n" + "\n".join(problems[:20])


def mailchimp_admin(sandbox, method, path, body=None):
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/mailchimp{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def members(sandbox):
    """The audience as (email, status, sorted tags, merge fields)."""
    state = mailchimp_admin(sandbox, "GET", "/state")
    audience = next(a for a in state["lists"] if a["id"] == LIST_ID)
    return [
        (m["email_address"], m["status"], sorted(t["name"] for t in m["tags"]), m["merge_fields"])
        for m in audience["members"]
    ]


def customer(n, email, *, consent=None, name=None):
    metadata = {"marketing_opt_in": consent} if consent is not None else {}
    return {
        "id": f"cus_{n:03d}",
        "object": "customer",
        "email": email,
        "name": name or f"Person{n} Number{n}",
        "created": CREATED + n,
        "metadata": metadata,
    }


def profile(cust, *, with_subscription=False):
    subscriptions = []
    if with_subscription:
        subscriptions = [
            {
                "id": f"sub_{cust['id'][4:]}",
                "object": "subscription",
                "customer": cust["id"],
                "status": "active",
                "created": cust["created"] + 5,
                "items": {"object": "list", "data": [{"price": {"id": "price_1", "product": "prod_gold"}}]},
            }
        ]
    return {"customer": cust, "subscriptions": subscriptions, "products": PRODUCTS if subscriptions else {}}


def charge(n, customer_id, status="succeeded"):
    return {"id": f"ch_{n:03d}", "object": "charge", "customer": customer_id, "status": status}


def write(path, resource, records):
    with RecordWriter(path, header={"resource": resource}) as writer:
        writer.write_many(records)
    return str(path)


def run(records_uri, tmp_path, **kwargs):
    operator = MailchimpUpsertMembersOperator(
        task_id="upsert_members",
        records_uri=records_uri,
        consent_metadata_key="marketing_opt_in",
        report_uri=str(tmp_path / "out"),
        **kwargs,
    )
    return operator.execute(make_context(dag_id="marketing", task_id="upsert_members"))


def report_lines(summary):
    return list(read_records(summary["report_uri"])) if summary["report_uri"] else []


def writes(sandbox):
    return [
        (r["method"], r["path"])
        for r in sandbox.requests()
        if r["api"] == "mailchimp" and r["method"] in ("PUT", "POST")
    ]


def test_members_statuses_tags_and_permanent_refusals(mailchimp, tmp_path):
    sandbox = mailchimp
    mailchimp_admin(
        sandbox,
        "POST",
        "/seed",
        {
            "members": [
                {"list_id": LIST_ID, "email_address": "gone.unsub@example.com", "status": "unsubscribed"},
                {
                    "list_id": LIST_ID,
                    "email_address": "archived.unsub@example.com",
                    "status": "archived",
                    "archived_status": "unsubscribed",
                },
            ],
            "forgotten": [{"list_id": LIST_ID, "email_address": "forgotten@example.com"}],
        },
    )
    customers = [
        customer(1, "Opted.In@Example.com ", consent="yes"),
        customer(2, "no.consent@example.com"),
        customer(3, "gone.unsub@example.com", consent="true"),
        customer(4, "archived.unsub@example.com", consent="true"),
        customer(5, "forgotten@example.com"),
        customer(6, "test@test.com"),
        customer(7, "failed.charge@example.com"),
    ]
    profiles = [profile(c, with_subscription=c["id"] == "cus_001") for c in customers]
    charges = [charge(n, f"cus_{n:03d}") for n in (2, 3, 4, 5, 6)] + [charge(7, "cus_007", "failed")]
    subscriptions = [profiles[0]["subscriptions"][0]]
    uris = [
        write(tmp_path / "profiles.jsonl", "customer_profiles", profiles),
        write(tmp_path / "charges.jsonl", "charges", charges),
        write(tmp_path / "subscriptions.jsonl", "subscriptions", subscriptions),
    ]

    summary = run(uris, tmp_path)

    assert {k: summary[k] for k in ("upserted", "unchanged", "rejected")} == {
        "upserted": 3,
        "unchanged": 0,
        "rejected": 3,
    }
    assert members(sandbox) == [
        ("archived.unsub@example.com", "archived", [], {}),
        (
            "gone.unsub@example.com",
            "unsubscribed",
            ["customer", "paid"],
            {"FNAME": "Person3", "LNAME": "Number3"},
        ),
        (
            "no.consent@example.com",
            "transactional",
            ["customer", "paid"],
            {"FNAME": "Person2", "LNAME": "Number2"},
        ),
        (
            "opted.in@example.com",
            "subscribed",
            ["customer", "product:Gold Plan", "subscriber"],
            {"FNAME": "Person1", "LNAME": "Number1"},
        ),
    ]
    lines = report_lines(summary)
    assert [(line["id"], line["reason"], line["status"], line["title"]) for line in lines] == [
        ("cus_004", "compliance_state", 400, "Member In Compliance State"),
        ("cus_005", "permanently_deleted", 400, "Forgotten Email Not Subscribed"),
        ("cus_006", "fake_or_invalid_email", 400, "Invalid Resource"),
    ]
    assert lines[2]["detail"] == "test@test.com looks fake or invalid, please enter a real email address."

    # The next run sends nothing: the members hold every value, the refused emails are remembered.
    sandbox.clear_requests()
    again = run(uris, tmp_path)
    assert (again["upserted"], again["unchanged"], again["rejected"], again["report_uri"]) == (0, 3, 0, None)
    assert writes(sandbox) == []

    # An email change is a new address: it is tried again.
    customers[5]["email"] = "real.person@example.com"
    profiles[5] = profile(customers[5])
    uris[0] = write(tmp_path / "profiles2.jsonl", "customer_profiles", profiles)
    sandbox.clear_requests()
    third = run(uris, tmp_path)
    assert (third["upserted"], third["unchanged"], third["rejected"]) == (1, 3, 0)
    hashed = subscriber_hash("real.person@example.com")
    assert writes(sandbox) == [
        ("PUT", f"/3.0/lists/{LIST_ID}/members/{hashed}"),
        ("POST", f"/3.0/lists/{LIST_ID}/members/{hashed}/tags"),
    ]


def test_pending_double_opt_in_and_marketing_permissions(mailchimp, tmp_path):
    sandbox = mailchimp
    mailchimp_admin(
        sandbox,
        "POST",
        "/seed",
        {
            "lists": [{"id": "aud0002", "marketing_permissions": [{"id": "perm_email", "text": "Email"}]}],
            # Mailchimp lists an audience's permissions on its members only: one must exist.
            "members": [{"list_id": "aud0002", "email_address": "first@example.com", "status": "subscribed"}],
        },
    )
    records = [profile(customer(1, "a@example.com", consent="yes")), profile(customer(2, "b@example.com"))]
    summary = run(
        write(tmp_path / "p.jsonl", "customer_profiles", records),
        tmp_path,
        list_id="aud0002",
        opt_in_status="pending",
    )
    assert (summary["upserted"], summary["rejected"]) == (2, 0)
    state = mailchimp_admin(sandbox, "GET", "/state")
    audience = next(a for a in state["lists"] if a["id"] == "aud0002")
    assert [
        (m["email_address"], m["status"], m["marketing_permissions"]) for m in audience["members"][:2]
    ] == [
        (
            "a@example.com",
            "pending",
            [{"marketing_permission_id": "perm_email", "text": "Email", "enabled": True}],
        ),
        (
            "b@example.com",
            "transactional",
            [{"marketing_permission_id": "perm_email", "text": "Email", "enabled": False}],
        ),
    ]


def test_transient_errors_retry_and_every_record_rejected_fails(mailchimp, tmp_path):
    sandbox = mailchimp
    sandbox.add_fault("/3.0/lists/", 503, api="mailchimp", method="PUT", times=1)
    sandbox.add_fault("/3.0/lists/", 429, api="mailchimp", method="PUT", times=1)
    records = [profile(customer(1, "a@example.com"))]
    summary = run(write(tmp_path / "p.jsonl", "customer_profiles", records), tmp_path)
    assert (summary["upserted"], summary["rejected"]) == (1, 0)
    puts = [r["status"] for r in sandbox.requests() if r["api"] == "mailchimp" and r["method"] == "PUT"]
    assert puts == [503, 429, 200]

    with pytest.raises(AllRecordsRejectedError, match="All 1 records were rejected"):
        run(
            write(tmp_path / "f.jsonl", "customer_profiles", [profile(customer(9, "fake@real.org"))]),
            tmp_path,
        )


def test_a_thousand_members_go_through_the_batch_endpoint(mailchimp, tmp_path):
    sandbox = mailchimp
    records = [profile(customer(n, f"person{n}@example.com")) for n in range(999)]
    records.append(profile(customer(999, "asdf@example.com")))
    summary = run(write(tmp_path / "p.jsonl", "customer_profiles", records), tmp_path)

    assert (summary["upserted"], summary["unchanged"], summary["rejected"]) == (999, 0, 1)
    [line] = report_lines(summary)
    assert (line["id"], line["reason"], line["status"], line["operation_id"]) == (
        "cus_999",
        "fake_or_invalid_email",
        400,
        "member-0",
    )
    api = [(r["method"], r["path"]) for r in sandbox.requests() if r["api"] == "mailchimp"]
    assert api.count(("POST", "/3.0/batches")) == 2
    assert not any(path.startswith(f"/3.0/lists/{LIST_ID}/members/") for _, path in api)
    listed = members(sandbox)
    assert len(listed) == 999
    assert listed[0] == (
        "person0@example.com",
        "transactional",
        ["customer"],
        {"FNAME": "Person0", "LNAME": "Number0"},
    )


def test_a_batch_where_every_operation_errored_fails_with_each_one_reported(mailchimp, tmp_path):
    records = [profile(customer(n, f"test{n}@test.com")) for n in range(500)]
    with pytest.raises(AllRecordsRejectedError, match="All 500 records were rejected"):
        run(write(tmp_path / "p.jsonl", "customer_profiles", records), tmp_path)
    [report] = list((tmp_path / "out" / "reports").rglob("*.jsonl"))
    lines = list(read_records(str(report)))
    assert len(lines) == 500
    assert {line["reason"] for line in lines} == {"fake_or_invalid_email"}
    assert sorted(line["operation_id"] for line in lines) == sorted(f"member-{n}" for n in range(500))


def test_test_connection_pings_the_sandbox(mailchimp):
    from airflow_provider_stripe_sync.hooks.mailchimp import MailchimpHook

    assert MailchimpHook().test_connection() == (True, "Connection to Mailchimp works: ping answered.")


def test_permissions_of_a_fresh_audience_are_enabled_from_the_first_write(mailchimp, tmp_path):
    sandbox = mailchimp
    lists = [{"id": "aud0003", "marketing_permissions": [{"id": "perm_email", "text": "Email"}]}]
    mailchimp_admin(sandbox, "POST", "/seed", {"lists": lists})
    records = [profile(customer(1, "a@example.com", consent="yes")), profile(customer(2, "b@example.com"))]
    summary = run(write(tmp_path / "p.jsonl", "customer_profiles", records), tmp_path, list_id="aud0003")
    assert (summary["upserted"], summary["rejected"]) == (2, 0)
    state = mailchimp_admin(sandbox, "GET", "/state")
    audience = next(a for a in state["lists"] if a["id"] == "aud0003")
    assert [
        (m["email_address"], m["status"], m["marketing_permissions"][0]["enabled"])
        for m in audience["members"]
    ] == [
        ("a@example.com", "subscribed", True),
        ("b@example.com", "transactional", False),
    ]
