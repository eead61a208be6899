"""What operators and sensors read from an Airflow task context: the window, file locations, run ids."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from airflow_provider_stripe_sync.stripe.windows import Window, resolve_window

if TYPE_CHECKING:
    from airflow.sdk import Context

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


#: Executors that run every task on the scheduler's own machine: a local default folder is shared.
LOCAL_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})

#: The setting that names the folder (any fsspec URI) for record files and reports.
OUTPUT_URI_SETTING = "[stripe_sync] output_uri"


def executor_names(value: str) -> list[str]:
    """
    Return the class names of the executors an ``[core] executor`` value configures.

    Accepts what Airflow does: ``CeleryExecutor``, ``LocalExecutor,my.module.MyExecutor``, aliases
    (``fast:LocalExecutor``) and per-team lists (``team_a=CeleryExecutor;team_b=...``).
    """
    names = []
    for team_part in value.split(";"):
        executors = team_part.split("=", 1)[-1]
        for item in executors.split(","):
            module_or_name = item.strip().split(":")[-1].strip()
            if module_or_name:
                names.append(module_or_name.rsplit(".", 1)[-1])
    return names


def remote_executors(value: str) -> list[str]:
    """Return the executors in ``value`` whose tasks may run on another host (Celery, Kubernetes...)."""
    return [name for name in executor_names(value) if name not in LOCAL_EXECUTORS]


def default_output_uri() -> str:
    """
    Where record files and reports go when an operator is given no ``output_uri``.

    ``[stripe_sync] output_uri`` (``AIRFLOW__STRIPE_SYNC__OUTPUT_URI``) when set, for example
    ``s3://aws_default@bucket/stripe_sync``; else ``$AIRFLOW_HOME/stripe_sync``. The local default is
    refused when ``[core] executor`` may run tasks on other hosts: a record file written on one
    Celery worker or Kubernetes pod is not on the machine where the next task reads it.
    """
    from airflow.sdk import conf

    configured = (conf.get("stripe_sync", "output_uri", fallback="") or "").strip()
    if configured:
        return configured
    remote = remote_executors(conf.get("core", "executor", fallback="") or "")
    if remote and not conf.getboolean("stripe_sync", "local_output_is_shared", fallback=False):
        raise ValueError(
            f"output_uri: the default local folder ($AIRFLOW_HOME/stripe_sync) is refused under "
            f"{', '.join(remote)}, whose tasks may run on other hosts, so one task's record files would "
            f"be missing where the next task reads them. Set {OUTPUT_URI_SETTING} "
            "(AIRFLOW__STRIPE_SYNC__OUTPUT_URI) to an object store every worker reads, for example "
            "s3://aws_default@my-bucket/stripe_sync, or pass output_uri= to the operator; if "
            "$AIRFLOW_HOME is on a filesystem all workers share, set [stripe_sync] "
            "local_output_is_shared = True."
        )
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(os.path.expanduser("~"), "airflow")
    return os.path.join(home, "stripe_sync")


def safe_part(value: Any) -> str:
    """Return ``value`` as one safe path segment (run ids hold ``:`` and ``+``)."""
    return _UNSAFE.sub("_", str(value)).strip("_") or "_"


def _last_full_interval(context: Context) -> tuple[Any, Any] | None:
    # A run triggered with no logical date has no data interval; the DAG's own timetable says what
    # its last complete interval before the run was. Only core Airflow can answer, so workers that
    # run the task SDK alone fall through to the clear error in resolve_window.
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if dag is None or run_after is None:
        return None
    try:
        import pendulum
        from airflow.serialization.encoders import coerce_to_core_timetable
    except ImportError:
        return None
    timetable = coerce_to_core_timetable(dag.timetable)
    interval = timetable.infer_manual_data_interval(run_after=pendulum.instance(run_after))
    if interval is None or interval.end <= interval.start:
        return None
    return interval.start, interval.end


def window_from_context(context: Context, *, window_start: Any = None, window_end: Any = None) -> Window:
    """
    Return the window a task reads.

    Explicit ``window_start``/``window_end`` win; else the run's data interval when it is not empty;
    else, for a run with no data interval (triggered with no logical date), the last full interval
    of the DAG's timetable before the run. A zero-length interval is an error.
    """
    interval_start = context.get("data_interval_start")
    interval_end = context.get("data_interval_end")
    fallback = None
    if interval_start is None and interval_end is None:
        fallback = _last_full_interval(context)
    return resolve_window(
        window_start=window_start,
        window_end=window_end,
        interval_start=interval_start,
        interval_end=interval_end,
        fallback=fallback,
    )


def run_scope(context: Context) -> list[str]:
    """Return what identifies this task run: dag id, task id, run id and map index."""
    ti = context["ti"]
    return [ti.dag_id, ti.task_id, ti.run_id, str(getattr(ti, "map_index", -1))]


def task_file_path(context: Context, base_uri: str, kind: str, name: str) -> str:
    """Return ``<base>/<kind>/<dag>/<task>[/map-N]/<name>`` for this task's files."""
    ti = context["ti"]
    parts = [base_uri.rstrip("/"), kind, safe_part(ti.dag_id), safe_part(ti.task_id)]
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        parts.append(f"map-{map_index}")
    parts.append(name)
    return "/".join(parts)


def report_path(context: Context, base_uri: str) -> str:
    """Return where this try of this task run writes its report of rejected records."""
    ti = context["ti"]
    name = f"{safe_part(ti.run_id)}__try{getattr(ti, 'try_number', 1)}.jsonl"
    return task_file_path(context, base_uri, "reports", name)
