"""
``StripeMethodOperator``: run any Stripe method of the catalog (``stripe/catalog.py``).

The named operators in ``operators/stripe_methods.py`` are this operator with the method fixed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_stripe_sync.context import default_output_uri, run_scope, safe_part, task_file_path
from airflow_provider_stripe_sync.exceptions import IdempotencyError, StripeRequestError
from airflow_provider_stripe_sync.operators.stripe import (
    _StripeOperator,
    refuse_airflow_params,
    skip_unavailable_account,
)
from airflow_provider_stripe_sync.stripe.idempotency import MAX_KEY_LENGTH, idempotency_key
from airflow_provider_stripe_sync.stripe.listing import (
    MAX_EXPAND_DEPTH,
    MAX_PAGE_SIZE,
    drop_none,
    iter_pages,
    list_expand,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_stripe_sync.stripe.catalog import CatalogEntry

#: Paging parameters a list or search operator sets itself.
PAGING_PARAMS = frozenset({"limit", "starting_after", "ending_before", "page"})

#: Fields never returned to XCom: they let a browser act on the object.
SECRET_FIELDS = frozenset({"client_secret", "secret"})

_TEMPLATE_HINT = "A Jinja template renders to text unless the DAG sets render_template_as_native_obj=True."


def without_secrets(value: Any) -> Any:
    """Return ``value`` without any ``client_secret``/``secret`` field, at any depth."""
    if isinstance(value, dict):
        return {key: without_secrets(item) for key, item in value.items() if key not in SECRET_FIELDS}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def check_expand(expand: Any, *, is_list: bool) -> list[str]:
    """
    Return the ``expand`` paths to send: written as for one object, prefixed ``data.`` for lists.

    :raises TypeError: when ``expand`` is not a list of paths.
    :raises ValueError: for a path deeper than Stripe's four levels (the list prefix counts).
    """
    if expand is None:
        return []
    if isinstance(expand, str) or not isinstance(expand, (list, tuple)):
        raise TypeError(
            f"expand must be a list of paths such as ['customer'], got {type(expand).__name__} "
            f"{expand!r}. {_TEMPLATE_HINT}"
        )
    if is_list:
        return list_expand(expand)
    paths = [path.strip() for path in expand if path.strip()]
    for path in paths:
        depth = path.count(".") + 1
        if depth > MAX_EXPAND_DEPTH:
            raise ValueError(
                f"expand path {path!r} is {depth} levels deep; Stripe allows {MAX_EXPAND_DEPTH}. "
                "Fetch the deeper objects separately."
            )
    return paths


def check_params(entry: CatalogEntry, params: Any) -> dict[str, Any]:
    """Return ``params`` without ``None`` values, or raise naming a parameter Stripe would refuse."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise TypeError(
            f"stripe_params of {entry.method} must be a dict, got {type(params).__name__}. {_TEMPLATE_HINT}"
        )
    if entry.is_list:
        paging = sorted(PAGING_PARAMS & set(params))
        if paging:
            raise ValueError(
                f"stripe_params of {entry.method} may not set {', '.join(paging)}: the operator reads every "
                "page itself. Use limit=... for the page size."
            )
    from airflow_provider_stripe_sync.stripe.catalog import (
        check_shapes,
        pinned_version,
        unknown_params_message,
    )

    accepted = [name for name in entry.params if not (entry.is_list and name in PAGING_PARAMS)]
    unknown = sorted(set(params) - set(accepted))
    if "expand" in unknown:
        raise ValueError(f"Pass expand=[...] to the operator, not in stripe_params of {entry.method}.")
    if unknown:
        raise ValueError(unknown_params_message(entry, unknown, accepted, what="stripe_params"))
    params = drop_none(params)
    missing = [name for name in entry.required if name not in params]
    if missing:
        raise ValueError(
            f"stripe_params of {entry.method} needs {', '.join(missing)} ({pinned_version()} requires it)."
        )
    check_shapes(entry, params)
    return params


def check_idempotency_key(key: Any) -> str:
    """Return a DAG-given idempotency key when Stripe would take it, else raise saying why."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"idempotency_key must be non-empty text, got {key!r}.")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency_key is {len(key)} characters; Stripe allows at most {MAX_KEY_LENGTH}.")
    return key


def check_scope(scope: Any) -> None:
    """Refuse an ``idempotency_scope`` that is not a list of values (text would be split into letters)."""
    if scope is None or (isinstance(scope, (list, tuple)) and not isinstance(scope, str)):
        return
    raise TypeError(
        f"idempotency_scope must be a list of values, such as [{scope!r}], got {type(scope).__name__} "
        f"{scope!r}. {_TEMPLATE_HINT}"
    )


def method_idempotency_key(
    entry: CatalogEntry, params: dict[str, Any], *, scope: Sequence[Any], object_id: str | None
) -> str:
    """The deterministic key of one write: the scope, the method, the object id and the parameters."""
    material = dict(params)
    if object_id is not None:
        material = {"params": params, "object_id": object_id}
    return idempotency_key(scope=scope, method=entry.method, params=material)


class StripeMethodOperator(_StripeOperator):
    """
    Run one Stripe method of the catalog: ``StripeMethodOperator(method="invoices.finalize", ...)``.

    One object (create, retrieve, update, delete, capture, ...) is returned to XCom without
    ``client_secret`` fields. A list or search is read page by page (``has_more``) into a JSON Lines
    record file under ``output_uri``, and XCom gets ``{"uri", "count", "method", "resource"}``. For the
    objects created in the run's window use the List New operators (``<resource>.list_new``).

    Writes send a deterministic ``Idempotency-Key``: from ``idempotency_scope`` (default: the task run,
    i.e. dag id, task id, run id and map index), the method, ``object_id`` and the canonical parameters;
    or ``idempotency_key`` as given. A retry or re-run of the task sends the same key, so Stripe
    replays the first answer instead of writing twice (for 24 hours). When Stripe refuses the key
    (reused with other parameters), :class:`~airflow_provider_stripe_sync.exceptions.IdempotencyError`
    names it.

    The task's "Stripe Dashboard" link opens the object's page, or the list page, in the mode of the
    key and as the connected account.

    :param method: the catalog method, ``<resource>.<action>`` (``customers.create``).
    :param stripe_params: the request's parameters, as Stripe names them; checked against the pinned
        SDK's (names, required ones, hash and array shapes) before any request.
        Named so because ``params`` is Airflow's task params; ``params=`` alone is refused.
    :param object_id: the id in the path (the customer to update, the invoice to finalize...).
    :param expand: expansions written as for one object; ``data.`` is added for lists.
    :param idempotency_key: the key to send on a write instead of the derived one (255 characters at most).
    :param idempotency_scope: what makes this write unique instead of the task run.
    :param output_uri: folder for record files of lists; default under AIRFLOW_HOME.
    :param limit: page size of lists, 1 to 100.
    :param stripe_conn_id: the ``stripe`` or ``stripe_oauth`` connection.
    :param stripe_account: act for this connected account.
    """

    template_fields: Sequence[str] = (
        "stripe_conn_id",
        "stripe_account",
        "stripe_params",
        "object_id",
        "expand",
        "idempotency_key",
        "idempotency_scope",
        "output_uri",
    )
    template_fields_renderers = {"stripe_params": "json"}
    ui_color = "#e8e4fd"

    def __init__(
        self,
        *,
        method: str,
        stripe_params: dict[str, Any] | None = None,
        object_id: str | None = None,
        expand: list[str] | None = None,
        idempotency_key: str | None = None,
        idempotency_scope: list[str] | None = None,
        output_uri: str | None = None,
        limit: int = MAX_PAGE_SIZE,
        **kwargs: Any,
    ) -> None:
        refuse_airflow_params(f"{type(self).__name__}({method})", stripe_params, kwargs.get("params"))
        super().__init__(**kwargs)
        self.method = method
        self.stripe_params = stripe_params
        self.object_id = object_id
        self.expand = expand
        self.idempotency_key = idempotency_key
        self.idempotency_scope = idempotency_scope
        self.output_uri = output_uri
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}, got {limit!r}.")
        self.limit = limit

    @property
    def entry(self) -> CatalogEntry:
        from airflow_provider_stripe_sync.stripe.catalog import entry

        found = entry(self.method)
        if found.action == "list_new":
            raise ValueError(
                f"{self.method} reads a window: use {found.operator} (or StripeListNewObjectsOperator)."
            )
        return found

    def execute(self, context: Context) -> Any:
        entry = self.entry
        params = check_params(entry, self.stripe_params)
        expand = check_expand(self.expand, is_list=entry.is_list)
        if expand:
            params["expand"] = expand
        if self.object_id is not None and not isinstance(self.object_id, str):
            raise TypeError(
                f"object_id of {entry.method} must be text (an id), got {type(self.object_id).__name__} "
                f"{self.object_id!r}. With render_template_as_native_obj=True a template rendering only "
                "digits becomes a number: add | string to the template, or pass the id as text."
            )
        check_scope(self.idempotency_scope)
        if entry.path_param and not self.object_id:
            raise ValueError(f"{entry.method} needs object_id: the {entry.path_param} in {entry.path}.")
        if not entry.path_param and self.object_id:
            raise ValueError(f"{entry.method} takes no object_id ({entry.path} names no object).")
        account = self.hook.stripe_account
        with skip_unavailable_account(account):
            if entry.is_list:
                return self._read_list(context, entry, params)
            return self._call_one(context, entry, params)

    def _call_one(self, context: Context, entry: CatalogEntry, params: dict[str, Any]) -> dict[str, Any]:
        key = None
        if entry.writes:
            if self.idempotency_key:
                key = check_idempotency_key(self.idempotency_key)
            else:
                scope = self.idempotency_scope or run_scope(context)
                key = method_idempotency_key(entry, params, scope=scope, object_id=self.object_id)
        function = getattr(self.hook.service(entry.resource), entry.sdk_method)
        args = (self.object_id,) if entry.path_param else ()

        def send(options: dict[str, Any]) -> Any:
            return function(*args, params=params or None, options=options)

        try:
            obj = self.hook.call(send, description=entry.method, idempotency_key=key)
        except StripeRequestError as err:
            if _is_idempotency_error(err):
                raise IdempotencyError(
                    f"{err} (Idempotency-Key {key!r}: it was first used with other parameters; pass "
                    "another idempotency_key or idempotency_scope to make a different write)",
                    idempotency_key=key or "",
                    request_id=err.request_id,
                    http_status=err.http_status,
                    code=err.code,
                    attempts=err.attempts,
                ) from err
            raise
        self.log.info("%s: %s %s.", entry.method, entry.object_type, obj.get("id") or "(no id)")
        object_id = None if obj.get("deleted") else obj.get("id")
        self.push_link(context, entry.object_type, object_id=object_id, livemode=obj.get("livemode"))
        return without_secrets(obj)

    def _read_list(self, context: Context, entry: CatalogEntry, params: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_stripe_sync.records import RecordWriter

        account = self.hook.stripe_account
        base_uri = self.output_uri or default_output_uri()
        # One file per task run (the map index is a folder of task_file_path): a later run of the
        # task, or a backfill, never overwrites the file an earlier run's XCom points at.
        run_id = safe_part(context["ti"].run_id)
        uri = task_file_path(
            context,
            base_uri,
            "records",
            f"{safe_part(account or 'platform')}__{entry.method}__{run_id}.jsonl",
        )
        header = {
            "resource": entry.resource,
            "method": entry.method,
            "filters": {key: value for key, value in params.items() if key != "expand"},
            "account": account,
            "api_version": self.hook.api_version,
            "livemode": self.hook.livemode,
        }
        with RecordWriter(uri, header=header) as writer:
            for page in self._pages(entry, {**params, "limit": self.limit}):
                writer.write_many(without_secrets(page))
        self.log.info("%s: wrote %d %s to %s.", entry.method, writer.count, entry.resource, writer.uri)
        query = {
            key: value for key, value in params.items() if isinstance(value, (str, int)) and key != "query"
        }
        self.push_link(context, entry.object_type, query=query or None)
        return {"uri": writer.uri, "count": writer.count, "method": entry.method, "resource": entry.resource}

    def _pages(self, entry: CatalogEntry, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        function = getattr(self.hook.service(entry.resource), entry.sdk_method)
        options = self.hook.request_options()
        send = self.hook._limited(lambda page_params: function(params=page_params, options=options))
        if entry.returns == "list":
            yield from iter_pages(send, params, retry=self.hook.retry_policy, description=entry.method)
            return
        # Search pages by ``page`` (Stripe's ``next_page`` token), not by ``starting_after``.
        page_params = dict(params)
        while True:
            page = self.hook.retry_policy.call(lambda p=dict(page_params): send(p), description=entry.method)
            yield [
                obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj) for obj in page["data"]
            ]
            next_page = page["next_page"] if "next_page" in page else None
            if not page["has_more"] or not next_page:
                return
            page_params["page"] = next_page


def _is_idempotency_error(err: StripeRequestError) -> bool:
    import stripe

    return isinstance(err.__cause__, stripe.IdempotencyError)


class _CatalogOperator(StripeMethodOperator):
    """A named catalog operator: :class:`StripeMethodOperator` with the method fixed."""

    catalog_method: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        if "method" in kwargs:
            raise TypeError(f"{type(self).__name__} always runs {self.catalog_method}; do not pass method.")
        super().__init__(method=self.catalog_method, **kwargs)
