"""
Record files: JSON Lines on an ``ObjectStoragePath`` (local, S3, GCS... any fsspec URI).

A record file starts with one header line, ``{"_stripe_sync": {...}}``, saying what the file holds
(the resource, the window, the Stripe account and the Stripe API version the records were read at);
every later line is one object. Files are written and read a line at a time, so memory stays flat
whatever the volume. Reports use the same format: one line per rejected record with the reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: The key of a record file's header line.
HEADER_KEY = "_stripe_sync"

#: Bumped when the header's meaning changes.
FORMAT_VERSION = 1


def storage_path(uri: str | ObjectStoragePath) -> ObjectStoragePath:
    """Return ``uri`` as an ``ObjectStoragePath``; a plain local path becomes a ``file://`` URI."""
    from airflow.sdk import ObjectStoragePath

    if isinstance(uri, ObjectStoragePath):
        return uri
    text = str(uri)
    if "://" not in text:
        import os

        text = "file://" + os.path.abspath(text)
    return ObjectStoragePath(text)


def report_base(records_uri: str) -> str:
    """
    Return the folder a record file's ``records/...`` tree sits in: where reports go by default.

    ``s3://bucket/sync/records/dag/task/x.jsonl`` gives ``s3://bucket/sync``, so a destination's report
    lands beside the upstream task's records, in the same store.
    """
    text = str(storage_path(records_uri))
    head, marker, _ = text.rpartition("/records/")
    return head if marker else text.rsplit("/", 1)[0]


def record_uris(value: Any, *, field: str) -> list[str]:
    """
    Return the record files an operator argument names.

    Accepts one URI, an upstream operator's summary (a dict with ``uri``, such as ``task.output``),
    or a list of either, so that ``records_uri=list_task.output`` just works.
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    uris = [item.get("uri") if isinstance(item, Mapping) else item for item in items]
    if not uris or not all(isinstance(uri, str) and uri for uri in uris):
        raise ValueError(
            f"{field} must be a record file URI, an upstream summary with 'uri', "
            f"or a list of them; got {value!r}."
        )
    return uris


def _dumps(obj: Mapping[str, Any]) -> str:
    # Sorted keys and no spaces: the same records always give the same bytes.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


class RecordWriter:
    """
    Write records to a JSON Lines file, header first.

    :param uri: the file to write; its folder is created.
    :param header: what the file holds (``resource``, ``window``, ``account``, ``api_version``...).
    """

    def __init__(self, uri: str | ObjectStoragePath, *, header: Mapping[str, Any]) -> None:
        self.path = storage_path(uri)
        self.header = {"format": FORMAT_VERSION, **header}
        self.count = 0
        self._file: Any = None

    def __enter__(self) -> RecordWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        self._file.write(_dumps({HEADER_KEY: self.header}) + "\n")
        return self

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record."""
        self._file.write(_dumps(record) + "\n")
        self.count += 1

    def write_many(self, records: list[Mapping[str, Any]]) -> None:
        """Append records in order."""
        self._file.write("".join(_dumps(record) + "\n" for record in records))
        self.count += len(records)

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self._file.close()
        self._file = None
        # A file cut short by an error would pass for a whole window with anything that reads the
        # folder by path, so it goes (on an object store, the upload the close just finished).
        if exc_type is not None and self.path.exists():
            self.path.unlink()

    @property
    def uri(self) -> str:
        """The file's URI, as XCom summaries carry it."""
        return str(self.path)


def _iter_lines(uri: str | ObjectStoragePath) -> Iterator[dict[str, Any]]:
    path = storage_path(uri)
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} line {number} is not JSON: {err.msg}.") from err


def read_header(uri: str | ObjectStoragePath) -> dict[str, Any]:
    """Return the header of a record file, or ``{}`` for a file written by something else."""
    for first in _iter_lines(uri):
        return dict(first.get(HEADER_KEY, {}))
    return {}


def read_records(uri: str | ObjectStoragePath) -> Iterator[dict[str, Any]]:
    """Yield the records of a record file one at a time, skipping its header."""
    for line in _iter_lines(uri):
        if HEADER_KEY in line and len(line) == 1:
            continue
        yield line


class ReportWriter:
    """
    Collect rejected records with their reasons in a JSON Lines report.

    The file is created on the first rejection only; ``uri`` is ``None`` until then, so a clean run
    leaves no empty reports behind.

    :param uri: where the report goes.
    """

    def __init__(self, uri: str | ObjectStoragePath) -> None:
        self.path = storage_path(uri)
        self.count = 0
        self.reasons: Counter[str] = Counter()
        self._file: Any = None

    def reject(self, record_id: str | None, reason: str, **details: Any) -> None:
        """Record that ``record_id`` was not written, and why."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        self._file.write(_dumps({"id": record_id, "reason": reason, **details}) + "\n")
        self.count += 1
        self.reasons[reason] += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def uri(self) -> str | None:
        """The report's URI, or ``None`` when nothing was rejected."""
        return str(self.path) if self.count else None


#: The folders under an output URI that hold customers' data (emails, names) and expire.
EXPIRING_FOLDERS = ("records", "reports")

#: The only files retention removes: record files and reports.
_EXPIRING_SUFFIX = ".jsonl"


def retention_days_value(value: Any, *, field: str = "retention_days") -> int:
    """Return ``value`` as whole days, 1 or more, or raise naming ``field`` and what to give."""
    days: Any = value
    if isinstance(value, str) and value.strip().isdigit():
        days = int(value.strip())
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(
            f"{field} must be a whole number of days, 1 or more, such as 30; got {value!r}. "
            "Files younger than that are kept, so a running sync never loses its inputs."
        )
    return days


def _modified(info: Mapping[str, Any]) -> float | None:
    """Return a file's modification time (epoch seconds) from an fsspec ``info``, if it says."""
    from datetime import datetime

    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def remove_expired(
    base_uri: str | ObjectStoragePath, *, retention_days: int, now: float | None = None
) -> dict[str, Any]:
    """
    Remove the record files and reports under ``base_uri`` last modified more than ``retention_days`` ago.

    Only ``*.jsonl`` files inside ``<base>/records/`` and ``<base>/reports/`` are ever removed, and on
    local disk the folders below those two that the removals left empty; anything else under
    ``base_uri`` (the Mailchimp rejection ledger, a folder that was empty already) and anything a
    symbolic link points to are left alone. A file whose store gives no modification time is kept.
    Works on any fsspec URI, as record files do.

    Returns ``{"uri", "retention_days", "removed", "kept", "undated"}``.
    """
    import os
    import time

    days = retention_days_value(retention_days)
    cutoff = (time.time() if now is None else now) - days * 86400
    root = storage_path(base_uri)
    local = root.protocol in ("file", "local", "")
    counts = {"removed": 0, "kept": 0, "undated": 0}
    for name in EXPIRING_FOLDERS:
        emptied: set[str] = set()
        folder = root / name
        if not folder.exists():
            continue
        top = folder.path.rstrip("/")
        real_top = os.path.realpath(top) if local else top
        for path, info in sorted(folder.fs.find(top, detail=True, withdirs=False).items()):
            if not _inside(path, top) or not path.endswith(_EXPIRING_SUFFIX) or info.get("islink"):
                continue
            if local and not _inside(os.path.realpath(path), real_top):
                continue
            modified = _modified(info)
            if modified is None:
                counts["undated"] += 1
            elif modified < cutoff:
                folder.fs.rm_file(path)
                counts["removed"] += 1
                emptied.add(os.path.dirname(path))
            else:
                counts["kept"] += 1
        if local:
            _remove_emptied_folders(emptied, top)
    return {"uri": str(root), "retention_days": days, **counts}


def _remove_emptied_folders(folders: set[str], top: str) -> None:
    """Remove each of ``folders`` that is now empty, and its parents up to ``top`` (kept), deepest first."""
    import os

    for current in sorted(folders, key=len, reverse=True):
        while _inside(current, top) and current != top and not os.path.islink(current):
            try:
                os.rmdir(current)  # only an empty folder goes
            except OSError:
                break
            current = os.path.dirname(current)
