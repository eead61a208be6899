"""StripeMethodOperator's own logic: bad input named before any request, keys, secrets kept out of XCom."""

from __future__ import annotations

import re

import pytest

from airflow_provider_stripe_sync.operators.stripe_method import (
    StripeMethodOperator,
    check_expand,
    check_idempotency_key,
    check_params,
    method_idempotency_key,
    without_secrets,
)
from airflow_provider_stripe_sync.operators.stripe_methods import (
    StripeFinalizeInvoiceOperator,
    StripeListChargesOperator,
    StripeRetrieveBalanceOperator,
)
from airflow_provider_stripe_sync.stripe.catalog import entry
from tests.conftest import make_context

SCOPE = ["test_dag", "test_task", "scheduled__2026-10-29T00:00:00+00:00", "-1"]


def fails(operator, error, match):
    # Every check runs before the hook exists: no connection is looked up for a refused input.
    with pytest.raises(error, match=match):
        operator.execute(make_context())


PINNED = "stripe-python 16.1.0 (API version 2026-10-28.endive)"


def test_an_unknown_parameter_is_named_with_what_the_pinned_sdk_accepts():
    operator = StripeMethodOperator(
        task_id="t", method="invoices.finalize", object_id="in_1", stripe_params={"x": 1}
    )
    fails(
        operator,
        ValueError,
        re.escape(
            f"stripe_params of invoices.finalize has x, which {PINNED} does not know for invoices.finalize. "
            "It accepts: auto_advance."
        ),
    )


def test_a_parameter_removed_at_the_pinned_version_names_its_replacement():
    operator = StripeMethodOperator(
        task_id="t", method="promotion_codes.create", stripe_params={"coupon": "SUMMER25", "code": "S25"}
    )
    fails(
        operator,
        ValueError,
        re.escape(
            f"stripe_params of promotion_codes.create has coupon, which {PINNED} does not know for "
            'promotion_codes.create; replaced at that version: coupon (use promotion={"type": "coupon", '
            '"coupon": "..."}). It accepts: active, code, customer, customer_account, expires_at, '
            "max_redemptions, metadata, promotion, restrictions."
        ),
    )


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("promotion_codes.create", {"promotion": {"type": "coupon", "coupon": "SUMMER25"}, "code": "S25"}),
        ("subscriptions.create", {"customer": "cus_1", "items": [{"price": "p"}], "discounts": []}),
        ("subscriptions.update", {"discounts": [{"coupon": "SUMMER25"}]}),
        ("invoiceitems.create", {"customer": "cus_1", "pricing": {"price": "price_1"}}),
        ("checkout_sessions.create", {"ui_mode": "embedded", "return_url": "https://example.com/r"}),
        ("checkout_sessions.list", {"created": {"gte": 1}, "status": "open"}),
        ("credit_notes.list", {"created": {"gte": 1}}),
        ("customers.create", {"metadata": ""}),
    ],
)
def test_parameters_the_pinned_sdk_types_are_accepted(method, params):
    assert check_params(entry(method), params) == params


def test_a_missing_required_parameter_is_named():
    operator = StripeMethodOperator(task_id="t", method="products.create", stripe_params={"active": True})
    fails(
        operator,
        ValueError,
        re.escape(f"stripe_params of products.create needs name ({PINNED} requires it)."),
    )
    fails(
        StripeMethodOperator(task_id="t", method="promotion_codes.create", stripe_params={"code": "S25"}),
        ValueError,
        "stripe_params of promotion_codes.create needs promotion",
    )


def test_a_required_parameter_given_as_none_counts_as_missing():
    operator = StripeMethodOperator(task_id="t", method="products.create", stripe_params={"name": None})
    fails(operator, ValueError, "needs name")


def test_object_id_is_required_by_path_methods_and_refused_by_others():
    fails(
        StripeFinalizeInvoiceOperator(task_id="t"),
        ValueError,
        r"invoices.finalize needs object_id: the invoice in /v1/invoices/\{invoice\}/finalize\.",
    )
    fails(StripeRetrieveBalanceOperator(task_id="t", object_id="x"), ValueError, "takes no object_id")


def test_lists_refuse_paging_parameters():
    operator = StripeListChargesOperator(task_id="t", stripe_params={"limit": 5, "starting_after": "ch_1"})
    fails(operator, ValueError, "may not set limit, starting_after: the operator reads every page itself")


def test_stripe_params_rendered_to_text_is_explained():
    operator = StripeMethodOperator(task_id="t", method="customers.create", stripe_params="{'email': 'a'}")
    fails(operator, TypeError, "must be a dict, got str. A Jinja template renders to text")


def test_expand_in_stripe_params_points_to_the_argument():
    operator = StripeMethodOperator(task_id="t", method="customers.list", stripe_params={"expand": ["x"]})
    fails(operator, ValueError, r"Pass expand=\[\.\.\.\] to the operator")


def test_list_new_is_not_run_through_the_generic_operator():
    operator = StripeMethodOperator(task_id="t", method="payouts.list_new")
    fails(operator, ValueError, "payouts.list_new reads a window: use StripeListNewPayoutsOperator")


def test_unknown_method():
    fails(StripeMethodOperator(task_id="t", method="invoices.explode"), ValueError, "invoices offers: ")


def test_named_operators_fix_their_method():
    assert StripeFinalizeInvoiceOperator(task_id="t").method == "invoices.finalize"
    with pytest.raises(TypeError, match="always runs invoices.finalize"):
        StripeFinalizeInvoiceOperator(task_id="t", method="invoices.void")


def test_expand_on_lists_gets_the_prefix_and_counts_it():
    assert check_expand(["invoice.subscription.default_source"], is_list=True) == [
        "data.invoice.subscription.default_source"
    ]
    with pytest.raises(
        ValueError, match="5 levels deep; Stripe allows 4 including the list's 'data.' prefix"
    ):
        check_expand(["invoice.subscription.default_source.customer"], is_list=True)
    assert check_expand(["invoice.subscription.default_source.customer"], is_list=False) == [
        "invoice.subscription.default_source.customer"
    ]
    with pytest.raises(ValueError, match="5 levels deep; Stripe allows 4"):
        check_expand(["a.b.c.d.e"], is_list=False)
    with pytest.raises(TypeError, match="expand must be a list of paths"):
        check_expand("customer", is_list=True)


def test_keys_are_deterministic_and_distinct_per_method_object_params_and_run():
    create = entry("products.create")
    update = entry("products.update")
    key = method_idempotency_key(
        create, {"name": "A", "metadata": {"b": 1, "a": 2}}, scope=SCOPE, object_id=None
    )
    same = method_idempotency_key(
        create, {"metadata": {"a": 2, "b": 1}, "name": "A"}, scope=SCOPE, object_id=None
    )
    assert key == same
    assert (
        key.startswith("stripe-sync-products.create-")
        and len(key) == len("stripe-sync-products.create-") + 64
    )
    others = {
        method_idempotency_key(create, {"name": "B"}, scope=SCOPE, object_id=None),
        method_idempotency_key(update, {"name": "A"}, scope=SCOPE, object_id="prod_1"),
        method_idempotency_key(update, {"name": "A"}, scope=SCOPE, object_id="prod_2"),
        method_idempotency_key(create, {"name": "A"}, scope=[*SCOPE[:3], "0"], object_id=None),
    }
    assert len(others) == 4 and key not in others


def test_a_given_key_must_fit_stripes_limit():
    assert check_idempotency_key("k" * 255) == "k" * 255
    with pytest.raises(ValueError, match="idempotency_key is 256 characters; Stripe allows at most 255"):
        check_idempotency_key("k" * 256)
    with pytest.raises(ValueError, match="idempotency_key must be non-empty text"):
        check_idempotency_key("  ")


def test_client_secrets_never_reach_xcom():
    obj = {"id": "pi_1", "client_secret": "pi_1_secret_x", "next_action": {"secret": "s", "type": "x"}}
    assert without_secrets(obj) == {"id": "pi_1", "next_action": {"type": "x"}}


def test_list_operators_name_only_the_filters_a_dag_may_pass():
    operator = StripeListChargesOperator(task_id="t", stripe_params={"colour": "red"})
    fails(
        operator,
        ValueError,
        r"It accepts: created, customer, payment_intent, transfer_group\.$",
    )


AIRFLOW_PARAMS_MESSAGE = (
    "got params={'email', 'name': ...}: Stripe's parameters go in stripe_params={...}; params is "
    "Airflow's task params (for templates) and never reaches Stripe."
)


def test_params_instead_of_stripe_params_is_refused_at_parse_time():
    from airflow_provider_stripe_sync.operators.stripe import StripeCreateCustomerOperator
    from airflow_provider_stripe_sync.operators.stripe_methods import StripeCreateProductOperator

    with pytest.raises(TypeError) as caught:
        StripeMethodOperator(task_id="t", method="customers.create", params={"email": "a@b.c", "name": "A"})
    assert str(caught.value) == "StripeMethodOperator(customers.create) " + AIRFLOW_PARAMS_MESSAGE
    with pytest.raises(TypeError) as caught:
        StripeCreateProductOperator(task_id="t", params={"name": "Pro", "email": "x"})
    assert str(caught.value) == "StripeCreateProductOperator(products.create) " + AIRFLOW_PARAMS_MESSAGE
    with pytest.raises(TypeError) as caught:
        StripeCreateCustomerOperator(task_id="t", params={"email": "a@b.c", "name": "A"})
    assert str(caught.value) == "StripeCreateCustomerOperator " + AIRFLOW_PARAMS_MESSAGE
    with pytest.raises(TypeError, match=r"StripeCreateCustomerOperator needs stripe_params=\{\.\.\.\}"):
        StripeCreateCustomerOperator(task_id="t")


def test_airflow_params_beside_stripe_params_and_dag_params_are_accepted():
    from airflow.sdk import DAG

    with DAG("params_dag", schedule=None, params={"customer": "cus_1"}):
        # The DAG's params reach every task: they are not the task's own params= argument.
        plain = StripeMethodOperator(task_id="plain", method="customers.create")
        both = StripeMethodOperator(
            task_id="both", method="customers.create", params={"x": 1}, stripe_params={"email": "a@b.c"}
        )
    assert plain.params["customer"] == "cus_1"
    assert (both.params["x"], both.stripe_params) == (1, {"email": "a@b.c"})


def test_a_hash_parameter_rendered_to_text_names_the_field_and_the_fix():
    operator = StripeMethodOperator(
        task_id="t", method="customers.create", stripe_params={"metadata": "{'signup_id': 's-1'}"}
    )
    fails(
        operator,
        TypeError,
        re.escape(
            "stripe_params['metadata'] of customers.create must be a dict (hash) or \"\" to unset it, got "
            "str \"{'signup_id': 's-1'}\". A Jinja template renders to text unless the DAG sets "
            "render_template_as_native_obj=True (or pass the value itself, not a template)."
        ),
    )
    items = StripeMethodOperator(
        task_id="t", method="subscriptions.create", stripe_params={"customer": "cus_1", "items": "[]"}
    )
    fails(
        items,
        TypeError,
        re.escape("stripe_params['items'] of subscriptions.create must be a list (array), got"),
    )
    assert entry("subscriptions.create").shapes["items"] == "list"
    assert entry("customers.create").shapes["metadata"] == "dict or ''"
    assert "email" not in entry("customers.create").shapes


def test_an_object_id_rendered_to_a_number_is_named():
    operator = StripeFinalizeInvoiceOperator(task_id="t", object_id=123)
    fails(
        operator,
        TypeError,
        re.escape(
            "object_id of invoices.finalize must be text (an id), got int 123. With "
            "render_template_as_native_obj=True a template rendering only digits becomes a number: add "
            "| string to the template, or pass the id as text."
        ),
    )


def test_an_idempotency_scope_given_as_text_is_refused_not_split_into_letters():
    operator = StripeMethodOperator(
        task_id="t", method="customers.create", stripe_params={"email": "a@b.c"}, idempotency_scope="su_123"
    )
    fails(
        operator,
        TypeError,
        re.escape("idempotency_scope must be a list of values, such as ['su_123'], got str 'su_123'."),
    )
