"""
Bad input fails with a message naming the field and the fix, before any request.

Every case runs the real operator against the sandbox, with the connection as an ``AIRFLOW_CONN_*``
variable, and checks the sandbox's request log stayed empty (where the input can be judged before a
request: per-record problems are judged with the records, and reported).
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError
from airflow_provider_stripe_sync.hooks.hubspot import HubSpotHook
from airflow_provider_stripe_sync.operators.hubspot import HubSpotUpsertContactsOperator
from airflow_provider_stripe_sync.operators.mailchimp import MailchimpUpsertMembersOperator
from airflow_provider_stripe_sync.operators.stripe import (
    StripeCreateCustomerOperator,
    StripeCreateCustomersFromSignupsOperator,
    StripeListNewCustomersOperator,
)
from airflow_provider_stripe_sync.operators.stripe_method import StripeMethodOperator
from airflow_provider_stripe_sync.operators.xero import XeroCreateBankTransactionsOperator
from airflow_provider_stripe_sync.records import RecordWriter, read_records
from airflow_provider_stripe_sync.sensors.stripe import StripeNewChargesSensor
from tests.conftest import make_context
from tests.records_input import BALANCE_TRANSACTION, CUSTOMER, LEDGER, NOON

pytestmark = pytest.mark.integration

DAY = (NOON - 43200, NOON + 43200)
BASE_FIELDS = {
    "stripe": {"password": "sk_test_bad_input"},
    "stripe_oauth": {"login": "ca_bad_input", "password": "sk_test_bad_input_platform"},
    "hubspot": {"password": "pat-bad-input", "extra": {"environment": "test"}},
    "xero": {
        "login": "sandbox-client-id",
        "password": "sandbox-client-secret",
        "extra": {"refresh_token": "xero-sandbox-seed-refresh-token", "environment": "test"},
    },
    "mailchimp": {
        "password": "0123456789abcdef0123456789abcdef-us21",
        "extra": {"list_id": "aud0001", "environment": "test"},
    },
}


@pytest.fixture
def quiet(sandbox, monkeypatch, tmp_path):
    """The sandbox with its request log cleared, and AIRFLOW_HOME in a temporary folder."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    sandbox.clear_requests()
    return sandbox


def connect(monkeypatch, url, conn_type, *, conn_id=None, extra=None, **fields):
    """Define ``<conn_type>_default`` (or ``conn_id``); ``extra`` as given replaces the base extra."""
    conn = {"conn_type": conn_type, "host": url, **BASE_FIELDS[conn_type], **fields}
    if extra is not None:
        conn["extra"] = extra
    conn_id = conn_id or f"{conn_type}_default"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def records(tmp_path, *items, name="records.jsonl"):
    header = {"resource": "customers", "account": None, "livemode": False}
    with RecordWriter(tmp_path / "records" / name, header=header) as writer:
        writer.write_many(list(items))
    return writer.uri


def operator_for(conn_type, conn_id, tmp_path):
    """The operator that reads ``conn_id``, with input it would otherwise accept."""
    if conn_type in ("stripe", "stripe_oauth"):
        return StripeListNewCustomersOperator(task_id="t", stripe_conn_id=conn_id, output_uri=str(tmp_path))
    if conn_type == "hubspot":
        return HubSpotUpsertContactsOperator(
            task_id="t", hubspot_conn_id=conn_id, records_uri=records(tmp_path, CUSTOMER)
        )
    if conn_type == "xero":
        return XeroCreateBankTransactionsOperator(
            task_id="t",
            xero_conn_id=conn_id,
            ledger=LEDGER,
            records_uri=records(tmp_path, BALANCE_TRANSACTION),
        )
    return MailchimpUpsertMembersOperator(
        task_id="t", mailchimp_conn_id=conn_id, records_uri=records(tmp_path, CUSTOMER)
    )


def fails(operator, error, fragment, sandbox, context=None):
    """Run ``operator``; it must raise ``error`` containing ``fragment`` and send no request."""
    with pytest.raises(error) as raised:
        operator.execute(context or make_context(interval=DAY))
    assert fragment in str(raised.value)
    assert sandbox.requests() == []
    return str(raised.value)


# -- connection extras, for every connection type ------------------------------------------------------

TYPES = ["stripe", "stripe_oauth", "hubspot", "xero", "mailchimp"]

INVALID_JSON = (
    "extra is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2). "
    'Write it as one JSON object with double-quoted keys, such as {"key": "value"}, or leave it empty.'
)


@pytest.mark.parametrize("conn_type", TYPES)
def test_extra_that_is_not_json(quiet, monkeypatch, tmp_path, conn_type):
    conn_id = connect(monkeypatch, quiet.url, conn_type, extra="{'list_id': 'aud0001'}")
    message = fails(operator_for(conn_type, conn_id, tmp_path), ValueError, INVALID_JSON, quiet)
    assert message == f"Connection {conn_id!r}: {INVALID_JSON}"


@pytest.mark.parametrize(
    ("conn_type", "extra"),
    [
        ("hubspot", '{"client_secret": "hs-secret-in-broken-json", }'),
        ("xero", '{"refresh_token": hs-secret-in-broken-json}'),
        ("stripe_oauth", '{"refresh_token": 123456789012345678}'),
    ],
)
def test_a_malformed_extra_holding_a_secret_never_shows_it(quiet, monkeypatch, tmp_path, conn_type, extra):
    conn_id = connect(monkeypatch, quiet.url, conn_type, extra=extra)
    operator = operator_for(conn_type, conn_id, tmp_path)
    message = fails(operator, ValueError, f"Connection {conn_id!r}: extra ", quiet)
    assert "hs-secret-in-broken-json" not in message and "123456789012345678" not in message


WRONG_TYPES = {
    "stripe": ({"max_network_retries": "many"}, "extra 'max_network_retries' must be int, got 'many'."),
    "stripe_oauth": ({"livemode": "maybe"}, "extra 'livemode' must be bool, got 'maybe'."),
    "hubspot": (
        {"environment": "test", "allow_insecure_host": "yes"},
        "extra 'allow_insecure_host' must be bool, got 'yes'.",
    ),
    "xero": (
        {"refresh_token": "xero-sandbox-seed-refresh-token", "tenant_id": 42},
        "extra 'tenant_id' must be str, got 42.",
    ),
    "mailchimp": ({"list_id": ["aud0001"]}, "extra 'list_id' must be str, got ['aud0001']."),
}


@pytest.mark.parametrize("conn_type", TYPES)
def test_extra_of_the_wrong_type(quiet, monkeypatch, tmp_path, conn_type):
    extra, fragment = WRONG_TYPES[conn_type]
    conn_id = connect(monkeypatch, quiet.url, conn_type, extra=extra)
    key = fragment.split("'")[1]
    message = fails(operator_for(conn_type, conn_id, tmp_path), ValueError, fragment, quiet)
    assert message.endswith(f"Fix the value of {key!r} in the connection's extra, or remove it.")


UNKNOWN_KEYS = {
    "stripe": "stripe_acount",
    "stripe_oauth": "stripe_userid",
    "hubspot": "enviroment",
    "xero": "tennant_id",
    "mailchimp": "listid",
}


@pytest.mark.parametrize("conn_type", TYPES)
def test_extra_with_an_unknown_key(quiet, monkeypatch, tmp_path, conn_type):
    typo = UNKNOWN_KEYS[conn_type]
    extra = {**BASE_FIELDS[conn_type].get("extra", {}), typo: "x"}
    conn_id = connect(monkeypatch, quiet.url, conn_type, extra=extra)
    fragment = f"Connection {conn_id!r}: unknown extra field(s) {typo}; accepted: "
    message = fails(operator_for(conn_type, conn_id, tmp_path), ValueError, fragment, quiet)
    assert message.endswith(
        "Remove or rename the unknown ones (a typo would otherwise fall back to a default silently)."
    )


@pytest.mark.parametrize("conn_type", ["hubspot", "xero", "mailchimp"])
def test_environment_that_is_neither_test_nor_live(quiet, monkeypatch, tmp_path, conn_type):
    extra = {**BASE_FIELDS[conn_type]["extra"], "environment": "staging"}
    conn_id = connect(monkeypatch, quiet.url, conn_type, extra=extra)
    fails(
        operator_for(conn_type, conn_id, tmp_path),
        ValueError,
        f"Connection {conn_id!r}: extra 'environment' must be 'test' (an account used for testing, the "
        "sandbox) or 'live' (the real account), got 'staging'.",
        quiet,
    )


@pytest.mark.parametrize("conn_type", TYPES)
def test_plain_http_host_off_loopback_is_refused_unless_the_connection_opts_in(
    quiet, monkeypatch, tmp_path, conn_type
):
    conn_id = connect(monkeypatch, "http://sandbox.internal:12111", conn_type)
    fails(
        operator_for(conn_type, conn_id, tmp_path),
        ValueError,
        f"Connection {conn_id!r}: host http://sandbox.internal:12111 is plain http on a non-loopback address, "
        "which would send credentials in clear text. Use https, or set the extra 'allow_insecure_host' to "
        "true",
        quiet,
    )


# -- Stripe keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("conn_type", ["stripe", "stripe_oauth"])
def test_a_publishable_key_where_a_secret_key_belongs(quiet, monkeypatch, tmp_path, conn_type):
    conn_id = connect(monkeypatch, quiet.url, conn_type, password="pk_test_publishable")
    fails(
        operator_for(conn_type, conn_id, tmp_path),
        ValueError,
        f"Connection {conn_id!r} holds a publishable key (pk_…), which cannot call the API from a server. "
        "Use a secret key (sk_…) or, better, a restricted key (rk_…).",
        quiet,
    )


def test_a_password_that_is_no_stripe_key(quiet, monkeypatch, tmp_path):
    conn_id = connect(monkeypatch, quiet.url, "stripe", password="whsec_webhook_signing_secret")
    message = fails(
        operator_for("stripe", conn_id, tmp_path),
        ValueError,
        "the password is not a Stripe secret (sk_…) or restricted (rk_…) key.",
        quiet,
    )
    assert "whsec_webhook_signing_secret" not in message


# -- windows -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [
        (
            "2026-10-30T00:00:00+00:00",
            "2026-10-29T00:00:00+00:00",
            "window_end (2026-10-29T00:00:00+00:00) must be after window_start (2026-10-30T00:00:00+00:00); "
            "the window is inverted, so it would read nothing. Give a window_end later than window_start",
        ),
        (
            "2026-10-29T00:00:00+00:00",
            "2026-10-29T00:00:00Z",
            "window_end (2026-10-29T00:00:00+00:00) must be after window_start (2026-10-29T00:00:00+00:00); "
            "the window is empty: both are the same second",
        ),
        (
            "2026-10-29T00:00:00",
            "2026-10-30T00:00:00+00:00",
            "window_start=2026-10-29T00:00:00 has no time zone; give an aware datetime or an offset such as "
            "'+00:00'.",
        ),
        (
            "yesterday",
            "2026-10-30T00:00:00+00:00",
            "window_start='yesterday' is not ISO-8601 text such as '2026-11-01T00:00:00+00:00'.",
        ),
        (
            "1793232000000",
            "1793318400",
            "window_start=1793232000000 looks like epoch milliseconds; give epoch seconds.",
        ),
        ("2026-10-29T00:00:00+00:00", None, "window_end is missing: give both window_start and window_end"),
    ],
)
def test_bad_windows_fail_before_any_request(quiet, tmp_path, start, end, fragment):
    operator = StripeListNewCustomersOperator(
        task_id="t", window_start=start, window_end=end, output_uri=str(tmp_path)
    )
    fails(operator, ValueError, fragment, quiet)


def test_an_empty_data_interval_is_an_error_not_an_empty_sync(quiet, tmp_path):
    operator = StripeListNewCustomersOperator(task_id="t", output_uri=str(tmp_path))
    fails(
        operator,
        ValueError,
        "This run's data interval is empty (2026-10-29 12:00:00+00:00 to 2026-10-29 12:00:00+00:00), so "
        "there is no window to read. Use a data-interval timetable such as CronDataIntervalTimetable",
        quiet,
        context=make_context(interval=(NOON, NOON)),
    )


def test_sign_ups_with_an_inverted_window(quiet, tmp_path):
    operator = StripeCreateCustomersFromSignupsOperator(
        task_id="t",
        signups_uri=str(tmp_path),
        window_start=NOON,
        window_end=NOON - 1,
    )
    fails(operator, ValueError, "window_end (2026-10-29T11:59:59+00:00) must be after window_start", quiet)


def test_a_sensor_with_an_inverted_window(quiet):
    sensor = StripeNewChargesSensor(task_id="t", window_start=NOON, window_end=NOON - 60, deferrable=False)
    fails(sensor, ValueError, "window_end (2026-10-29T11:59:00+00:00) must be after window_start", quiet)


# -- currencies ---------------------------------------------------------------------------------------------


def test_a_ledger_currency_stripe_does_not_know(quiet, monkeypatch, tmp_path):
    conn_id = connect(monkeypatch, quiet.url, "xero")
    ledger = {**LEDGER, "currencies": {"usdd": LEDGER["currencies"]["usd"]}}
    operator = XeroCreateBankTransactionsOperator(
        task_id="t", xero_conn_id=conn_id, ledger=ledger, records_uri=records(tmp_path, BALANCE_TRANSACTION)
    )
    fails(
        operator,
        ValueError,
        "ledger['currencies'] names 'usdd', which is not a Stripe currency: use the three-letter ISO code "
        "Stripe settles in, such as 'usd' or 'eur'.",
        quiet,
    )


def test_a_record_in_an_unknown_currency_is_reported_and_sends_nothing(quiet, monkeypatch, tmp_path):
    conn_id = connect(monkeypatch, quiet.url, "xero")
    operator = XeroCreateBankTransactionsOperator(
        task_id="t",
        xero_conn_id=conn_id,
        ledger=LEDGER,
        records_uri=records(tmp_path, {**BALANCE_TRANSACTION, "currency": "xyz"}),
    )
    with pytest.raises(AllRecordsRejectedError) as raised:
        operator.execute(make_context())
    report = str(raised.value).rsplit(" ", 1)[-1].rstrip(".")
    assert [(line["id"], line["reason"]) for line in read_records(report)] == [("txn_1", "unknown_currency")]
    assert quiet.requests() == []


# -- emails ----------------------------------------------------------------------------------------------------


def test_a_customer_email_that_cannot_be_one(quiet):
    operator = StripeCreateCustomerOperator(
        task_id="t", stripe_params={"email": "ada at example.com", "metadata": {"signup_id": "su_1"}}
    )
    fails(
        operator,
        ValueError,
        "email 'ada at example.com' is not an email address (one '@' with text either side, no spaces): fix "
        "it in the customer's parameters, or leave email out.",
        quiet,
    )


@pytest.mark.parametrize("conn_type", ["hubspot", "mailchimp"])
def test_destination_records_with_invalid_emails_are_reported_before_any_request(
    quiet, monkeypatch, tmp_path, conn_type
):
    conn_id = connect(monkeypatch, quiet.url, conn_type)
    operator = operator_for(conn_type, conn_id, tmp_path)
    operator.records_uri = records(tmp_path, {**CUSTOMER, "email": "ada@"}, name="bad.jsonl")
    if conn_type == "mailchimp":
        # Mailchimp members are customers who paid: a profile with a succeeded charge.
        profile = {"customer": {**CUSTOMER, "email": "ada@"}, "subscriptions": [], "products": {}}
        charge = {
            "id": "ch_1",
            "object": "charge",
            "customer": "cus_1",
            "status": "succeeded",
            "created": NOON,
        }
        operator.records_uri = records(tmp_path, profile, charge, name="bad.jsonl")
    with pytest.raises(AllRecordsRejectedError) as raised:
        operator.execute(make_context())
    report = str(raised.value).rsplit(" ", 1)[-1].rstrip(".")
    assert [(line["id"], line["reason"]) for line in read_records(report)] == [("cus_1", "invalid_email")]
    assert [(r["method"], r["path"]) for r in quiet.requests()] == []


def test_sign_ups_with_invalid_emails_are_reported(quiet, tmp_path):
    signups = tmp_path / "signups.jsonl"
    signups.write_text(
        json.dumps({"signup_id": "su_1", "email": "ada at example", "signed_up_at": "2026-10-29T12:00:00Z"})
        + "\n"
    )
    operator = StripeCreateCustomersFromSignupsOperator(
        task_id="t", signups_uri=str(signups), report_uri=str(tmp_path / "out")
    )
    result = operator.execute(make_context(interval=DAY))
    assert (result["rejected"], result["customers_created"]) == (1, 0)
    assert [(line["id"], line["reason"]) for line in read_records(result["report_uri"])] == [
        ("su_1", "invalid_email")
    ]
    assert quiet.requests() == []


# -- oversized batches ---------------------------------------------------------------------------------------


def test_a_list_page_over_stripes_limit_fails_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"limit must be a whole number from 1 to 100, got 101\."):
        StripeListNewCustomersOperator(task_id="t", limit=101)


@pytest.mark.parametrize(
    ("conn_type", "argument", "value", "fragment"),
    [
        ("hubspot", "batch_size", 101, "batch_size must be from 1 to 100, got 101."),
        ("xero", "batch_size", 51, "batch_size must be from 1 to 50, got 51."),
        ("mailchimp", "max_connections", 11, "max_connections must be an integer from 1 to 10, got 11."),
        ("mailchimp", "batch_threshold", 0, "batch_threshold must be an integer of at least 1, got 0."),
    ],
)
def test_oversized_batches_fail_before_any_request(
    quiet, monkeypatch, tmp_path, conn_type, argument, value, fragment
):
    conn_id = connect(monkeypatch, quiet.url, conn_type)
    operator = operator_for(conn_type, conn_id, tmp_path)
    setattr(operator, argument, value)
    fails(operator, ValueError, fragment, quiet)


def test_the_hubspot_hook_refuses_a_batch_over_100_without_sending_it(quiet, monkeypatch):
    connect(monkeypatch, quiet.url, "hubspot")
    inputs = [{"id": f"c{n}@example.com", "properties": {}} for n in range(101)]
    with pytest.raises(ValueError, match=r"HubSpot batch calls take at most 100 inputs, got 101\."):
        HubSpotHook().upsert_contacts(inputs)
    assert quiet.requests() == []


def test_a_sensor_asking_for_more_than_one_page(quiet):
    sensor = StripeNewChargesSensor(task_id="t", min_count=101, deferrable=False)
    fails(sensor, ValueError, "min_count must be from 1 to 100, got 101.", quiet)


# -- templated fields that render to the wrong type ------------------------------------------------------------

NATIVE = "A Jinja template renders to text unless the DAG sets render_template_as_native_obj=True."


@pytest.mark.parametrize(
    ("argument", "rendered", "error", "fragment"),
    [
        (
            "filters",
            "{'email': 'a@example.com'}",
            TypeError,
            "filters must be a dict of list parameters, got str",
        ),
        (
            "expand",
            "customer",
            TypeError,
            "expand must be a list of paths such as ['customer'], got str 'customer'",
        ),
        ("lookback", "ten minutes", TypeError, "lookback must be whole seconds, got 'ten minutes'."),
    ],
)
def test_list_arguments_that_rendered_to_text(quiet, tmp_path, argument, rendered, error, fragment):
    operator = StripeListNewCustomersOperator(task_id="t", output_uri=str(tmp_path))
    setattr(operator, argument, rendered)
    message = fails(operator, error, fragment, quiet)
    if argument != "lookback":
        assert message.endswith(NATIVE)


def test_create_parameters_that_rendered_to_text(quiet):
    operator = StripeCreateCustomerOperator(task_id="t", stripe_params="{'email': 'ada@example.com'}")
    fails(operator, TypeError, f"stripe_params must render to a dict, got str. {NATIVE}", quiet)


def test_method_parameters_stripe_would_refuse(quiet):
    operator = StripeMethodOperator(task_id="t", method="customers.create", stripe_params={"emial": "a@b.co"})
    fails(operator, ValueError, "emial", quiet)


def test_records_uri_that_rendered_to_nothing(quiet, monkeypatch):
    connect(monkeypatch, quiet.url, "hubspot")
    operator = HubSpotUpsertContactsOperator(task_id="t", records_uri="")
    fails(
        operator,
        ValueError,
        "records_uri must be a record file URI, an upstream summary with 'uri', or a list of them; got ''.",
        quiet,
    )


def test_a_ledger_that_rendered_to_text_that_is_not_json(quiet, monkeypatch, tmp_path):
    connect(monkeypatch, quiet.url, "xero")
    operator = operator_for("xero", "xero_default", tmp_path)
    operator.ledger = "ledger.json"
    fails(operator, ValueError, "ledger must be a mapping or its JSON text, got 'ledger.json'.", quiet)


@pytest.mark.parametrize(
    ("ledger", "fragment"),
    [
        ({"currencies": {}}, "The Xero ledger configuration names no currency: give ledger['currencies']"),
        (
            {**LEDGER, "currencies": {"usd": {"clearing": "095"}}},
            "ledger['currencies']['usd'] needs at least 'clearing' and 'fees' account codes",
        ),
        ({**LEDGER, "suspence": "999"}, "Unknown Xero ledger configuration key(s): suspence; accepted:"),
    ],
)
def test_a_ledger_missing_what_it_needs(quiet, monkeypatch, tmp_path, ledger, fragment):
    connect(monkeypatch, quiet.url, "xero")
    operator = operator_for("xero", "xero_default", tmp_path)
    operator.ledger = ledger
    fails(operator, ValueError, fragment, quiet)


def test_a_batch_size_that_rendered_to_text(quiet, monkeypatch, tmp_path):
    connect(monkeypatch, quiet.url, "hubspot")
    operator = operator_for("hubspot", "hubspot_default", tmp_path)
    operator.batch_size = "a hundred"
    fails(operator, ValueError, "batch_size must be an integer from 1 to 100, got 'a hundred'.", quiet)


def test_mailchimp_tags_given_as_one_string(quiet, monkeypatch, tmp_path):
    connect(monkeypatch, quiet.url, "mailchimp")
    operator = operator_for("mailchimp", "mailchimp_default", tmp_path)
    operator.tags = "vip"
    fails(operator, TypeError, "tags must be a list of tag names such as ['customer'], got 'vip'.", quiet)
