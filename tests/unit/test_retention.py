"""Retention: record files and reports older than the retention period go, nothing else ever does."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from airflow_provider_stripe_sync.operators.cleanup import StripeSyncCleanupOperator
from airflow_provider_stripe_sync.records import _modified, remove_expired, retention_days_value
from tests.conftest import make_context

NOW = 1796000000.0
DAY = 86400


def make_file(path, age_days, text="{}\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    when = NOW - age_days * DAY
    os.utime(path, (when, when))
    return path


@pytest.fixture
def tree(tmp_path):
    """An output folder with files of known ages, inside and outside records/ and reports/."""
    base = tmp_path / "stripe_sync"
    outside = make_file(tmp_path / "elsewhere" / "old.jsonl", 90)
    files = {
        "old_record": make_file(base / "records" / "crm" / "list" / "platform__customers__1_2.jsonl", 31),
        "old_mapped": make_file(base / "records" / "crm" / "list" / "map-0" / "x.jsonl", 45),
        "old_report": make_file(base / "reports" / "crm" / "upsert" / "run__try1.jsonl", 40),
        "young_record": make_file(base / "records" / "crm" / "list" / "platform__customers__3_4.jsonl", 29),
        "young_report": make_file(base / "reports" / "crm" / "upsert" / "run__try2.jsonl", 1),
        "old_not_jsonl": make_file(base / "records" / "notes.txt", 90),
        "ledger": make_file(base / "mailchimp" / "aud_1" / "rejected_emails.jsonl", 400),
        "beside": make_file(base / "summary.jsonl", 400),
        "lookalike": make_file(base / "records_backup" / "x.jsonl", 400),
        "outside": outside,
    }
    os.symlink(outside, base / "records" / "link.jsonl")
    os.symlink(outside.parent, base / "reports" / "linked_folder")
    return base, files


def test_files_older_than_the_retention_go_and_nothing_else_is_touched(tree):
    base, files = tree
    result = remove_expired(str(base), retention_days=30, now=NOW)

    assert result == {
        "uri": f"file://{base}",
        "retention_days": 30,
        "removed": 3,
        "kept": 2,
        "undated": 0,
    }
    gone = {name for name, path in files.items() if not path.exists()}
    assert gone == {"old_record", "old_mapped", "old_report"}
    # The emptied map-0 folder goes; records/ and reports/ stay; links and their targets stay.
    assert not (base / "records" / "crm" / "list" / "map-0").exists()
    assert (base / "records").is_dir() and (base / "reports").is_dir()
    assert (base / "records" / "link.jsonl").is_symlink()
    assert (base / "reports" / "linked_folder").is_symlink()
    assert files["outside"].exists()


def test_only_folders_the_removals_emptied_go(tmp_path):
    base = tmp_path / "stripe_sync"
    make_file(base / "records" / "crm" / "list" / "map-3" / "x.jsonl", 45)
    (base / "records" / "made_by_hand").mkdir(parents=True)
    (base / "reports" / "crm" / "upsert").mkdir(parents=True)

    assert remove_expired(str(base), retention_days=30, now=NOW)["removed"] == 1

    # map-3 emptied, then list and crm with it; the folders that were empty already stay.
    assert sorted(str(p.relative_to(base)) for p in base.rglob("*")) == [
        "records",
        "records/made_by_hand",
        "reports",
        "reports/crm",
        "reports/crm/upsert",
    ]


def test_a_second_pass_removes_nothing_more_and_a_missing_folder_is_fine(tree, tmp_path):
    base, _ = tree
    remove_expired(str(base), retention_days=30, now=NOW)
    assert remove_expired(str(base), retention_days=30, now=NOW)["removed"] == 0
    assert remove_expired(str(tmp_path / "never_written"), retention_days=30, now=NOW) == {
        "uri": f"file://{tmp_path / 'never_written'}",
        "retention_days": 30,
        "removed": 0,
        "kept": 0,
        "undated": 0,
    }


def test_a_longer_retention_keeps_more(tree):
    base, files = tree
    assert remove_expired(str(base), retention_days=41, now=NOW)["removed"] == 1
    assert not files["old_mapped"].exists()
    assert files["old_report"].exists() and files["old_record"].exists()


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"mtime": 1796000000.5}, 1796000000.5),
        ({"LastModified": datetime(2026, 12, 1, tzinfo=timezone.utc)}, 1796083200.0),
        ({"updated": "2026-12-01T00:00:00.000Z"}, 1796083200.0),
        ({"created": 1796000000}, 1796000000.0),
        ({"size": 3}, None),
    ],
)
def test_modification_times_of_each_store(info, expected):
    # Local files give mtime, S3 LastModified, GCS updated, memory created.
    assert _modified(info) == expected


@pytest.mark.parametrize("value", [0, -1, "thirty", "", None, True, 2.5, "7.5"])
def test_retention_days_must_be_whole_days(value):
    with pytest.raises(ValueError) as raised:
        retention_days_value(value)
    assert str(raised.value).startswith(
        f"retention_days must be a whole number of days, 1 or more, such as 30; got {value!r}."
    )


def test_the_operator_takes_rendered_text_and_its_default_folder(tree, monkeypatch):
    base, files = tree
    monkeypatch.setenv("AIRFLOW_HOME", str(base.parent))
    monkeypatch.setattr("time.time", lambda: NOW)
    operator = StripeSyncCleanupOperator(task_id="cleanup", retention_days=" 30 ")
    assert operator.execute(make_context())["removed"] == 3
    assert files["young_record"].exists()


def test_the_operator_checks_its_arguments_only_when_it_runs():
    # Parsing never fails on a template: the value is checked in execute().
    operator = StripeSyncCleanupOperator(task_id="cleanup", retention_days="{{ var.value.days }}")
    with pytest.raises(ValueError, match="retention_days must be a whole number of days"):
        operator.execute(make_context())
