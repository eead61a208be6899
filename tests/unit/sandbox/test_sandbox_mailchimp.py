"""The sandbox's Mailchimp surface through the real mailchimp-marketing SDK, checked against the spec."""

from __future__ import annotations

import json

import mailchimp_marketing
import pytest
from mailchimp_marketing.api_client import ApiClientError

from airflow_provider_stripe_sync.sandbox.app import Sandbox
from airflow_provider_stripe_sync.sandbox.mailchimp_api import DEFAULT_LIST_ID, email_hash
from tests.mailchimp_contract import check_mailchimp_log

KEY = "0123456789abcdef0123456789abcdef-us21"


@pytest.fixture
def chimp(sbx):
    client = mailchimp_marketing.Client({"api_key": KEY})
    client.api_client.host = sbx.url + "/3.0"
    yield client
    problems = check_mailchimp_log(sbx.requests())
    assert problems in (None, []), problems


def test_no_route_or_default_name_holds_the_word_the_sdk_rewrites():
    # The SDK replaces "server" anywhere in a URL with the data centre.
    paths = [getattr(route, "path", "") for route in Sandbox().app.routes]
    assert [path for path in paths if "server" in path] == []
    assert "server" not in DEFAULT_LIST_ID


def test_ping_and_auth(chimp, sbx):
    assert chimp.ping.get() == {"health_status": "Everything's Chimpy!"}
    anonymous = mailchimp_marketing.Client({"server": "us21"})
    anonymous.api_client.host = sbx.url + "/3.0"
    with pytest.raises(ApiClientError) as caught:
        anonymous.ping.get()
    assert caught.value.status_code == 401
    assert json.loads(caught.value.text)["title"] == "API Key Missing"


def test_put_is_an_upsert_and_post_of_an_existing_member_is_refused(chimp):
    digest = email_hash("A@Example.com")
    body = {
        "email_address": "a@example.com",
        "status_if_new": "transactional",
        "merge_fields": {"FNAME": "A"},
    }
    first = chimp.lists.set_list_member(DEFAULT_LIST_ID, digest, body)
    again = chimp.lists.set_list_member(DEFAULT_LIST_ID, digest, {**body, "status_if_new": "subscribed"})
    assert (first["id"], first["status"], again["status"], again["merge_fields"]) == (
        digest,
        "transactional",
        "transactional",
        {"FNAME": "A"},
    )
    with pytest.raises(ApiClientError) as caught:
        chimp.lists.add_list_member(
            DEFAULT_LIST_ID, {"email_address": "a@example.com", "status": "subscribed"}
        )
    assert (caught.value.status_code, json.loads(caught.value.text)["title"]) == (400, "Member Exists")


def test_unsubscribed_members_are_never_subscribed_again(chimp):
    digest = email_hash("u@example.com")
    chimp.lists.set_list_member(
        DEFAULT_LIST_ID, digest, {"email_address": "u@example.com", "status_if_new": "subscribed"}
    )
    chimp.lists.set_list_member(
        DEFAULT_LIST_ID, digest, {"email_address": "u@example.com", "status": "unsubscribed"}
    )
    with pytest.raises(ApiClientError) as caught:
        chimp.lists.set_list_member(
            DEFAULT_LIST_ID, digest, {"email_address": "u@example.com", "status": "subscribed"}
        )
    assert json.loads(caught.value.text)["title"] == "Member In Compliance State"


def test_tags_are_added_and_removed(chimp):
    digest = email_hash("t@example.com")
    chimp.lists.set_list_member(
        DEFAULT_LIST_ID, digest, {"email_address": "t@example.com", "status_if_new": "transactional"}
    )
    chimp.lists.update_list_member_tags(
        DEFAULT_LIST_ID,
        digest,
        {"tags": [{"name": "customer", "status": "active"}, {"name": "vip", "status": "active"}]},
    )
    chimp.lists.update_list_member_tags(
        DEFAULT_LIST_ID, digest, {"tags": [{"name": "vip", "status": "inactive"}]}
    )
    tags = chimp.lists.get_list_member_tags(DEFAULT_LIST_ID, digest)
    assert [tag["name"] for tag in tags["tags"]] == ["customer"]
