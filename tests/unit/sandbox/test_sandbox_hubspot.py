"""HubSpot in the sandbox through hubspot-api-client's models."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from sandbox_helpers import B


def _upsert(hubspot, inputs):
    body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
    return hubspot.crm.contacts.batch_api.upsert(batch_input_simple_public_object_batch_input_upsert=body)


def _input(email, **props):
    return {"idProperty": "email", "id": email, "properties": {"email": email, **props}}


def test_batch_upsert_creates_then_updates_case_insensitively(sbx, hubspot):
    created = _upsert(hubspot, [_input("Ann@Example.com", firstname="Ann"), _input("bob@example.com")])
    assert created.status == "COMPLETE"
    assert [(r.id, r.properties["email"], r.new) for r in created.results] == [
        ("1001", "ann@example.com", True),
        ("1002", "bob@example.com", True),
    ]
    assert created.results[0].created_at.isoformat() == "2026-11-01T00:00:00+00:00"
    updated = _upsert(hubspot, [_input("ANN@example.com", lastname="Lee")])
    assert [(r.id, r.new, r.properties["lastname"]) for r in updated.results] == [("1001", False, "Lee")]
    contact = hubspot.crm.contacts.basic_api.get_by_id(
        "ann@example.com", id_property="email", properties=["firstname", "lastname"]
    )
    assert (contact.id, contact.properties["firstname"], contact.properties["lastname"]) == (
        "1001",
        "Ann",
        "Lee",
    )


@pytest.mark.parametrize("bad", ["no-at-sign.example.com", "user@localhost", "a b@example.com"])
def test_one_invalid_email_fails_the_whole_batch(sbx, hubspot, bad):
    with pytest.raises(ApiException) as caught:
        _upsert(hubspot, [_input("good@example.com"), _input(bad)])
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["status"], body["category"]) == (400, "error", "VALIDATION_ERROR")
    assert f"Email address {bad} is invalid" in body["message"]
    assert body["correlationId"]
    assert sbx.state()["hubspot"]["contacts"] == []


def test_duplicates_unknown_properties_and_batch_size(sbx, hubspot):
    with pytest.raises(ApiException) as dup:
        _upsert(hubspot, [_input("a@example.com"), _input("A@example.com ")])
    assert json.loads(dup.value.body)["message"] == (
        "Duplicate IDs found in batch input: [a@example.com]. IDs must be unique"
    )
    with pytest.raises(ApiException) as unknown:
        _upsert(hubspot, [_input("a@example.com", stripe_id="cus_1")])
    message = json.loads(unknown.value.body)["message"]
    assert "PROPERTY_DOESNT_EXIST" in message and '"name":"stripe_id"' in message
    with pytest.raises(ApiException) as big:
        _upsert(hubspot, [_input(f"u{i}@example.com") for i in range(101)])
    assert big.value.status == 400
    assert sbx.state()["hubspot"]["contacts"] == []


def test_properties_create_conflict_and_unique_values(sbx, hubspot):
    core = hubspot.crm.properties.core_api
    names = {p.name for p in core.get_all(object_type="contacts").results}
    assert {"email", "firstname", "lastname", "hs_object_id", "createdate", "lastmodifieddate"} <= names
    spec = PropertyCreate(
        name="stripe_customer_id",
        label="Stripe customer",
        type="string",
        field_type="text",
        group_name="contactinformation",
        has_unique_value=True,
    )
    made = core.create(object_type="contacts", property_create=spec)
    assert (made.name, made.has_unique_value) == ("stripe_customer_id", True)
    with pytest.raises(PropertiesApiException) as again:
        core.create(object_type="contacts", property_create=spec)
    assert (again.value.status, json.loads(again.value.body)["category"]) == (409, "OBJECT_ALREADY_EXISTS")
    assert (
        core.get_by_name(object_type="contacts", property_name="stripe_customer_id").label
        == "Stripe customer"
    )
    _upsert(hubspot, [_input("a@example.com", stripe_customer_id="cus_1")])
    with pytest.raises(ApiException) as clash:
        _upsert(hubspot, [_input("b@example.com", stripe_customer_id="cus_1")])
    assert clash.value.status == 409
    by_unique = hubspot.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            id_property="stripe_customer_id",
            inputs=[{"id": "cus_1"}, {"id": "cus_missing"}],
            properties=["email"],
        )
    )
    assert [r.properties["email"] for r in by_unique.results] == ["a@example.com"]
    assert by_unique.errors[0].context == {"ids": ["cus_missing"]}


def test_create_duplicate_email_conflicts(sbx, hubspot):
    api = hubspot.crm.contacts.basic_api
    first = api.create(SimplePublicObjectInputForCreate(properties={"email": "a@example.com"}))
    with pytest.raises(ApiException) as caught:
        api.create(SimplePublicObjectInputForCreate(properties={"email": "A@EXAMPLE.COM"}))
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["category"], body["message"]) == (
        409,
        "CONFLICT",
        f"Contact already exists. Existing ID: {first.id}",
    )


def test_paging_search_and_batch_update(sbx, hubspot):
    sbx.seed(hubspot={"contacts": [{"email": f"p{i}@example.com", "created": B} for i in range(25)]})
    api = hubspot.crm.contacts.basic_api
    pages, after = [], None
    while True:
        page = api.get_page(limit=10, after=after, properties=["email"])
        pages.append([c.properties["email"] for c in page.results])
        if page.paging is None:
            break
        after = page.paging.next.after
    assert [len(p) for p in pages] == [10, 10, 5]
    assert pages[0][0] == "p0@example.com" and pages[2][-1] == "p24@example.com"
    found = hubspot.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": "P3@example.com"}]}
            ],
            properties=["email"],
            limit=10,
        )
    )
    assert (found.total, [c.id for c in found.results]) == (1, ["1004"])
    updated = hubspot.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": "1004", "properties": {"firstname": "Pat"}}])
    )
    assert [(c.id, c.properties["firstname"]) for c in updated.results] == [("1004", "Pat")]


def test_missing_token_is_401(sbx):
    from hubspot import HubSpot

    with pytest.raises(ApiException) as caught:
        HubSpot(host=sbx.url).crm.contacts.basic_api.get_page()
    assert caught.value.status == 401
    assert json.loads(caught.value.body)["category"] == "INVALID_AUTHENTICATION"


def test_hubspot_429_faults_name_their_policy(sbx, hubspot):
    sbx.add_fault("/crm/v3/objects/contacts", 429, api="hubspot", policyName="DAILY")
    with pytest.raises(ApiException) as caught:
        hubspot.crm.contacts.basic_api.get_page()
    assert (caught.value.status, json.loads(caught.value.body)["policyName"]) == (429, "DAILY")
    sbx.add_fault("/crm/v3/objects/contacts", 429, api="hubspot")
    with pytest.raises(ApiException) as ten:
        hubspot.crm.contacts.basic_api.get_page()
    assert json.loads(ten.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
