"""Stripe Dashboard URLs: mode, connected account, object and list pages."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_stripe_sync.links import (
    XCOM_KEY,
    StripeDashboardLink,
    dashboard_url,
    push_dashboard_url,
)


def test_object_page_in_test_mode():
    assert (
        dashboard_url("customer", livemode=False, object_id="cus_123")
        == "https://dashboard.stripe.com/test/customers/cus_123"
    )


def test_live_mode_has_no_test_segment():
    assert dashboard_url("charge", livemode=True, object_id="ch_1") == "https://dashboard.stripe.com/payments/ch_1"


def test_connected_account_page():
    assert (
        dashboard_url("subscription", livemode=False, account="acct_1A", object_id="sub_9")
        == "https://dashboard.stripe.com/acct_1A/test/subscriptions/sub_9"
    )


def test_list_page_with_window_query():
    url = dashboard_url("charge", livemode=False, query={"created[gte]": 1761955200, "created[lt]": 1762041600})
    assert url == (
        "https://dashboard.stripe.com/test/payments?created%5Bgte%5D=1761955200&created%5Blt%5D=1762041600"
    )


def test_balance_transactions_open_the_balance_page():
    assert (
        dashboard_url("balance_transaction", livemode=True, object_id="txn_1")
        == "https://dashboard.stripe.com/balance/overview"
    )


def test_unknown_object_type_is_refused():
    with pytest.raises(ValueError, match="no Stripe Dashboard page is known for object type 'widget'"):
        dashboard_url("widget", livemode=False)


def test_push_sets_the_link_and_xcom():
    pushed = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    operator = SimpleNamespace()
    push_dashboard_url(operator, {"ti": ti}, "https://dashboard.stripe.com/test/customers/cus_1")
    assert pushed == {XCOM_KEY: "https://dashboard.stripe.com/test/customers/cus_1"}
    link = StripeDashboardLink()
    assert link.name == "Stripe Dashboard"
    assert link.xcom_key == XCOM_KEY
    assert link.get_link(operator, ti_key=None) == "https://dashboard.stripe.com/test/customers/cus_1"


def test_a_task_that_failed_before_pushing_has_an_empty_link_without_an_xcom_lookup(monkeypatch):
    from airflow.sdk.execution_time.xcom import XCom

    from airflow_provider_stripe_sync.operators.stripe_methods import StripeFinalizeInvoiceOperator
    from tests.conftest import make_context

    def no_lookup(*args, **kwargs):
        raise AssertionError("the link looked the XCom up (the Execution API logs 'XCom not found')")

    monkeypatch.setattr(XCom, "get_value", no_lookup)
    monkeypatch.setattr(XCom, "get_one", no_lookup)
    operator = StripeFinalizeInvoiceOperator(task_id="finalize")
    context = make_context()
    with pytest.raises(ValueError, match="needs object_id"):
        operator.execute(context)
    assert context["ti"].xcom == {}
    assert StripeDashboardLink().get_link(operator, ti_key=None) == ""
