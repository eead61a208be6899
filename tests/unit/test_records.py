from __future__ import annotations

import json

import pytest

from airflow_provider_stripe_sync.records import (
    RecordWriter,
    ReportWriter,
    read_header,
    read_records,
    record_uris,
)


def test_records_round_trip_with_header_first(tmp_path):
    target = tmp_path / "a" / "charges.jsonl"
    with RecordWriter(
        str(target), header={"resource": "charges", "api_version": "2026-10-28.endive"}
    ) as writer:
        writer.write({"id": "ch_2", "amount": 5000, "currency": "jpy"})
        writer.write_many([{"id": "ch_1", "metadata": {"b": "2", "a": "1"}}])
    assert writer.count == 2
    assert writer.uri == f"file://{target}"
    lines = target.read_text().splitlines()
    assert json.loads(lines[0]) == {
        "_stripe_sync": {"api_version": "2026-10-28.endive", "format": 1, "resource": "charges"}
    }
    assert lines[2] == '{"id":"ch_1","metadata":{"a":"1","b":"2"}}'
    assert list(read_records(writer.uri)) == [
        {"id": "ch_2", "amount": 5000, "currency": "jpy"},
        {"id": "ch_1", "metadata": {"a": "1", "b": "2"}},
    ]
    assert read_header(str(target))["api_version"] == "2026-10-28.endive"


def test_a_file_cut_short_by_an_error_is_removed(tmp_path):
    target = tmp_path / "a" / "charges.jsonl"
    with pytest.raises(RuntimeError, match="page 11 failed"):
        with RecordWriter(str(target), header={"resource": "charges"}) as writer:
            writer.write_many([{"id": f"ch_{n}"} for n in range(1000)])
            raise RuntimeError("page 11 failed")
    assert writer.count == 1000
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_report_is_created_only_on_first_rejection(tmp_path):
    target = tmp_path / "r.jsonl"
    with ReportWriter(str(target)) as report:
        pass
    assert report.uri is None and not target.exists()
    with ReportWriter(str(target)) as report:
        report.reject("cus_1", "no_email", email=None)
    assert report.uri == f"file://{target}"
    assert [json.loads(x) for x in target.read_text().splitlines()] == [
        {"email": None, "id": "cus_1", "reason": "no_email"}
    ]


def test_record_uris_accepts_one_a_list_or_summaries():
    assert record_uris("file:///a.jsonl", field="records_uri") == ["file:///a.jsonl"]
    assert record_uris(["/a.jsonl", "/b.jsonl"], field="records_uri") == ["/a.jsonl", "/b.jsonl"]
    assert record_uris([{"uri": "/a.jsonl", "count": 3}], field="records_uri") == ["/a.jsonl"]
    with pytest.raises(ValueError, match="records_uri must be a record file URI"):
        record_uris([], field="records_uri")
    with pytest.raises(ValueError, match="records_uris must be a record file URI"):
        record_uris(None, field="records_uris")


def test_missing_signups_location_is_named(tmp_path):
    from airflow_provider_stripe_sync.signups import read_signups
    from airflow_provider_stripe_sync.stripe.windows import Window

    missing = str(tmp_path / "nowhere")
    message = f"signups_uri '{missing}' is neither a sign-ups file nor a folder"
    with pytest.raises(FileNotFoundError, match=message):
        list(read_signups(missing, Window(0, 1)))
