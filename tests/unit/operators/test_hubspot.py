from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from airflow_provider_stripe_sync.exceptions import AllRecordsRejectedError
from airflow_provider_stripe_sync.hooks.hubspot import HubSpotRecordError
from airflow_provider_stripe_sync.operators.hubspot import (
    HubSpotUpsertContactsOperator,
    _batch_size,
    _write_split,
)
from airflow_provider_stripe_sync.records import RecordWriter, ReportWriter, read_records

RUN_ID = "scheduled__2024-05-01T00:00:00+00:00"


def _context(try_number=2):
    ti = types.SimpleNamespace(
        dag_id="crm_sync", task_id="upsert_contacts", run_id=RUN_ID, try_number=try_number
    )
    return {"ti": ti, "run_id": RUN_ID}


def test_template_fields():
    assert HubSpotUpsertContactsOperator.template_fields == ("records_uri", "report_uri")


@pytest.mark.parametrize("value", [0, 101, "abc", None, -1])
def test_batch_size_outside_1_to_100_is_refused(value):
    with pytest.raises(ValueError, match="batch_size"):
        _batch_size(value)


def test_batch_size_rendered_as_text_is_accepted():
    assert _batch_size("50") == 50


def test_default_report_uri_sits_under_the_records_folder(tmp_path):
    operator = HubSpotUpsertContactsOperator(task_id="upsert_contacts", records_uri="unused")
    uri = operator._default_report_uri(str(tmp_path / "customers" / "part.jsonl"), _context())
    assert uri == (
        f"file://{tmp_path}/customers/reports/crm_sync/upsert_contacts/"
        "scheduled__2024-05-01T00_00_00_00_00__try2.jsonl"
    )


class Writer:
    """A batch write HubSpot refuses whenever the batch holds a bad input."""

    def __init__(self, bad):
        self.bad = set(bad)
        self.calls = []

    def __call__(self, inputs):
        self.calls.append([item["id"] for item in inputs])
        refused = [item["id"] for item in inputs if item["id"] in self.bad]
        if refused:
            raise HubSpotRecordError(
                "refused",
                status=400,
                hubspot_message=f"Email address {refused[0]} is invalid",
                category="VALIDATION_ERROR",
                correlation_id="corr-1",
            )


def test_write_split_lands_the_valid_records_and_reports_each_bad_one(tmp_path):
    items = [(f"cus_{n}", {"id": f"user{n}@example.com", "properties": {}}) for n in range(10)]
    write = Writer({"user2@example.com", "user7@example.com"})
    with ReportWriter(tmp_path / "report.jsonl") as report:
        written = _write_split(write, items, report)
    assert written == 8
    assert list(read_records(tmp_path / "report.jsonl")) == [
        {
            "id": "cus_2",
            "reason": "hubspot_rejected",
            "message": "Email address user2@example.com is invalid",
            "category": "VALIDATION_ERROR",
            "status": 400,
            "correlation_id": "corr-1",
        },
        {
            "id": "cus_7",
            "reason": "hubspot_rejected",
            "message": "Email address user7@example.com is invalid",
            "category": "VALIDATION_ERROR",
            "status": 400,
            "correlation_id": "corr-1",
        },
    ]
    # Every good input was sent in a batch that succeeded exactly once.
    landed = [ids for ids in write.calls if not set(ids) & write.bad]
    assert sorted(i for ids in landed for i in ids) == sorted(
        item[1]["id"] for item in items if item[0] not in {"cus_2", "cus_7"}
    )
    assert len(write.calls) == 11


def test_write_split_does_not_swallow_other_failures(tmp_path):
    def write(inputs):
        raise RuntimeError("boom")

    with ReportWriter(tmp_path / "report.jsonl") as report, pytest.raises(RuntimeError):
        _write_split(write, [("cus_1", {"id": "a@example.com", "properties": {}})], report)


def test_customers_with_no_place_in_hubspot_are_reported_without_failing(tmp_path, monkeypatch):
    # No connection is defined: reaching HubSpot would fail differently.
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", raising=False)
    records = tmp_path / "customers.jsonl"
    with RecordWriter(records, header={"resource": "customers"}) as writer:
        writer.write({"id": "cus_1", "object": "customer", "email": None, "created": 1})
        writer.write({"id": "cus_2", "object": "customer", "deleted": True})
    operator = HubSpotUpsertContactsOperator(task_id="upsert_contacts", records_uri=str(records))
    result = operator.execute(_context(try_number=1))
    report = (
        tmp_path
        / "reports"
        / "crm_sync"
        / "upsert_contacts"
        / "scheduled__2024-05-01T00_00_00_00_00__try1.jsonl"
    )
    assert result == {"upserted": 0, "unchanged": 0, "rejected": 2, "report_uri": f"file://{report}"}
    assert [json.dumps(line, sort_keys=True) for line in read_records(report)] == [
        json.dumps({"id": "cus_1", "reason": "no_email"}, sort_keys=True),
        json.dumps({"id": "cus_2", "reason": "customer_deleted"}, sort_keys=True),
    ]


def test_all_rejected_for_a_reason_that_is_a_problem_fails_without_calling_hubspot(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", raising=False)
    records = tmp_path / "charges.jsonl"
    with RecordWriter(records, header={"resource": "charges"}) as writer:
        writer.write({"id": "ch_1", "object": "charge", "created": 1})
        writer.write({"id": "cus_1", "object": "customer", "email": None, "created": 1})
    operator = HubSpotUpsertContactsOperator(task_id="upsert_contacts", records_uri=str(records))
    with pytest.raises(AllRecordsRejectedError, match="All 2 records were rejected"):
        operator.execute(_context(try_number=1))


def test_empty_records_file_returns_zeros(tmp_path):
    records = tmp_path / "customers.jsonl"
    with RecordWriter(records, header={"resource": "customers"}):
        pass
    operator = HubSpotUpsertContactsOperator(task_id="upsert_contacts", records_uri=str(records))
    assert operator.execute(_context()) == {"upserted": 0, "unchanged": 0, "rejected": 0, "report_uri": None}


def test_importing_the_operator_does_not_import_the_hubspot_sdk():
    code = (
        "import sys; import airflow_provider_stripe_sync.operators.hubspot; "
        "print(sorted(m for m in sys.modules if m == 'hubspot' or m.startswith('hubspot.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
