"""Operators for Stripe: list the objects created in a window, create objects safely."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_stripe_sync.context import (
    default_output_uri,
    run_scope,
    safe_part,
    task_file_path,
    window_from_context,
)
from airflow_provider_stripe_sync.exceptions import StripeRequestError
from airflow_provider_stripe_sync.hooks.stripe import StripeHook, stripe_hook
from airflow_provider_stripe_sync.links import StripeDashboardLink, dashboard_url, push_dashboard_url
from airflow_provider_stripe_sync.records import RecordWriter
from airflow_provider_stripe_sync.stripe.listing import validate_page_size
from airflow_provider_stripe_sync.stripe.resources import listable

if TYPE_CHECKING:
    from airflow.sdk import Context

#: A progress line is logged after this many pages.
PAGES_PER_LOG_LINE = 10


@contextmanager
def skip_unavailable_account(account: str | None) -> Iterator[None]:
    """
    Turn "this platform cannot reach this connected account" into a skipped task.

    When one of many connected accounts has disconnected the platform (Stripe answers 401, or 403
    with ``account_invalid``), its task is skipped with the reason, so that the other accounts of a
    mapped sync still complete. Any other failure, and any failure for the platform's own account,
    still fails the task: a restricted key missing a permission is a 403 too, and must be fixed.
    """
    try:
        yield
    except StripeRequestError as err:
        unavailable = err.http_status == 401 or (err.http_status == 403 and err.code == "account_invalid")
        if account and unavailable:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(
                f"Skipping Stripe account {account}: the platform cannot reach it (deauthorized?): {err}"
            ) from err
        raise


def refuse_airflow_params(operator: str, stripe_params: Any, params: Any) -> None:
    """
    Refuse ``params=`` given where Stripe's parameters were meant (``stripe_params`` not given).

    ``params`` is every Airflow operator's task params (for templates): Stripe would get none of it
    and an empty write would go out. The DAG's own params are left alone (Airflow passes them to
    every task); only those given to this task count.
    """
    if stripe_params is not None or not params:
        return
    from airflow.sdk.definitions.param import ParamsDict

    given = ParamsDict.filter_params_by_source(params, "task") if isinstance(params, ParamsDict) else params
    if not given:
        return
    raise TypeError(
        f"{operator} got params={{{', '.join(repr(key) for key in sorted(given))}: ...}}: Stripe's "
        "parameters go in stripe_params={...}; params is Airflow's task params (for templates) and "
        "never reaches Stripe."
    )


class _StripeOperator(BaseOperator):
    """Shared by every Stripe operator: connection, connected account, hook and Dashboard link."""

    operator_extra_links = (StripeDashboardLink(),)

    def __init__(
        self,
        *,
        stripe_conn_id: str = StripeHook.default_conn_name,
        stripe_account: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.stripe_conn_id = stripe_conn_id
        self.stripe_account = stripe_account

    @cached_property
    def hook(self) -> StripeHook:
        return stripe_hook(self.stripe_conn_id, stripe_account=self.stripe_account or None)

    def push_link(
        self,
        context: Context,
        object_type: str,
        *,
        object_id: str | None = None,
        livemode: bool | None = None,
        query: dict[str, Any] | None = None,
    ) -> None:
        """Push the Dashboard page of what the task touched, in the key's mode and as its account."""
        url = dashboard_url(
            object_type,
            livemode=self.hook.livemode if livemode is None else bool(livemode),
            account=self.hook.stripe_account,
            object_id=object_id,
            query=query,
        )
        push_dashboard_url(self, context, url)


class StripeListNewObjectsOperator(_StripeOperator):
    """
    Write every object of a Stripe resource created in the run's window to a record file.

    The window is half-open, ``[start, end)``, sent as ``created[gte]``/``created[lt]`` on every page,
    and comes from ``window_start``/``window_end``, else the run's data interval, else (a run with no
    data interval) the last full interval of the DAG's timetable. Pages are read until ``has_more`` is
    false, large windows in concurrent sub-windows (the connection's ``max_concurrency``), and
    streamed to JSON Lines as they arrive, so memory stays flat whatever the volume. XCom gets only a
    summary: ``{"uri": ..., "count": n, "window": [start, end], "resource": ...}``, where ``window``
    is the one read, lookback included.

    :param resource: the Stripe resource (``charges``, ``subscriptions``...).
    :param stripe_conn_id: the ``stripe`` connection.
    :param stripe_account: read this connected account's objects.
    :param window_start: start of the window (aware datetime, ISO-8601 text or epoch seconds).
    :param window_end: end of the window, exclusive.
    :param lookback: seconds to widen the start by, for objects that appear late; default per resource.
    :param filters: extra list parameters, e.g. ``{"customer": "cus_123"}``.
    :param expand: expansions written as for one object, e.g. ``["customer"]``.
    :param output_uri: folder for record files, local or any fsspec URI; default under AIRFLOW_HOME.
    :param limit: page size, 1 to 100.
    """

    template_fields: Sequence[str] = (
        "stripe_conn_id",
        "stripe_account",
        "window_start",
        "window_end",
        "lookback",
        "filters",
        "expand",
        "output_uri",
    )
    ui_color = "#e8e4fd"

    def __init__(
        self,
        *,
        resource: str,
        window_start: Any = None,
        window_end: Any = None,
        lookback: int | None = None,
        filters: dict[str, Any] | None = None,
        expand: list[str] | None = None,
        output_uri: str | None = None,
        limit: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.window_start = window_start
        self.window_end = window_end
        self.lookback = lookback
        self.filters = filters
        self.expand = expand
        self.output_uri = output_uri
        self.limit = validate_page_size(limit)

    def _rendered_arguments(self) -> tuple[dict[str, Any] | None, list[str] | None, int | None]:
        """Check what templates rendered to; a string where a dict or list belongs names the field."""
        filters, expand, lookback = self.filters, self.expand, self.lookback
        if filters is not None and not isinstance(filters, dict):
            raise TypeError(
                f"filters must be a dict of list parameters, got {type(filters).__name__} {filters!r}. "
                "A Jinja template renders to text unless the DAG sets render_template_as_native_obj=True."
            )
        if isinstance(expand, str) or (expand is not None and not isinstance(expand, (list, tuple))):
            raise TypeError(
                "expand must be a list of paths such as ['customer'], "
                f"got {type(expand).__name__} {expand!r}. "
                "A Jinja template renders to text unless the DAG sets render_template_as_native_obj=True."
            )
        if lookback in (None, ""):
            return filters, expand, None
        try:
            return filters, expand, int(lookback)
        except (TypeError, ValueError):
            raise TypeError(f"lookback must be whole seconds, got {lookback!r}.") from None

    def execute(self, context: Context) -> dict[str, Any]:
        spec = listable(self.resource)
        filters, expand, lookback = self._rendered_arguments()
        lookback = spec.default_lookback if lookback is None else lookback
        window = window_from_context(context, window_start=self.window_start, window_end=self.window_end)
        read_window = window.widened(lookback)
        account = self.hook.stripe_account
        base_uri = self.output_uri or default_output_uri()
        uri = task_file_path(
            context,
            base_uri,
            "records",
            f"{safe_part(account or 'platform')}__{self.resource}__"
            f"{read_window.start}_{read_window.end}.jsonl",
        )
        header = {
            "resource": self.resource,
            "window": read_window.as_list(),
            "account": account,
            "api_version": self.hook.api_version,
            "livemode": self.hook.livemode,
        }
        self.log.info(
            "Listing %s created in %s (lookback %d s) for %s, up to %d requests at once.",
            self.resource,
            read_window.describe(),
            lookback,
            account or "the platform account",
            self.hook.max_concurrency,
        )
        started = time.monotonic()
        with RecordWriter(uri, header=header) as writer, skip_unavailable_account(account):
            pages = self.hook.iter_window(
                self.resource, read_window, filters=filters, expand=expand, limit=self.limit
            )
            for number, page in enumerate(pages, start=1):
                writer.write_many(page)
                if number % PAGES_PER_LOG_LINE == 0:
                    self._log_progress(writer.count, number, started)
        elapsed = time.monotonic() - started
        self.log.info(
            "Wrote %d %s in %.2f s (%.0f objects/s) to %s.",
            writer.count,
            self.resource,
            elapsed,
            writer.count / elapsed if elapsed else 0.0,
            writer.uri,
        )
        from airflow_provider_stripe_sync.stripe.catalog import resource_object_type

        self.push_link(
            context,
            resource_object_type(self.resource) or self.resource.rstrip("s"),
            query={"created[gte]": read_window.start, "created[lt]": read_window.end},
        )
        return {
            "uri": writer.uri,
            "count": writer.count,
            "window": read_window.as_list(),
            "resource": self.resource,
        }

    def _log_progress(self, count: int, pages: int, started: float) -> None:
        elapsed = time.monotonic() - started
        self.log.info(
            "Listed %d %s in %d pages so far (%.0f objects/s).",
            count,
            self.resource,
            pages,
            count / elapsed if elapsed else 0.0,
        )


class _StripeListNewOperator(StripeListNewObjectsOperator):
    resource_name: ClassVar[str]
    #: The catalog method the operator runs (``customers.list_new``).
    catalog_method: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(resource=self.resource_name, **kwargs)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.stripe.catalog import LIST_NEW_RESERVED, check_param_names, entry

        # Before any request: a filter the list does not take is named with the ones it does (the
        # window's own parameters get their own message from the listing).
        if isinstance(self.filters, dict):
            filters = {key: value for key, value in self.filters.items() if key not in LIST_NEW_RESERVED}
            check_param_names(entry(self.catalog_method), filters, what="filters")
        return super().execute(context)


class StripeListNewCustomersOperator(_StripeListNewOperator):
    """List the customers created in the window; see :class:`StripeListNewObjectsOperator`."""

    resource_name = "customers"
    catalog_method = "customers.list_new"


class StripeListNewChargesOperator(_StripeListNewOperator):
    """
    List the charges created in the window; see :class:`StripeListNewObjectsOperator`.

    Looks back 600 s by default. A charge refunded later is not new again: use events for updates.
    """

    resource_name = "charges"
    catalog_method = "charges.list_new"


class StripeListNewSubscriptionsOperator(_StripeListNewOperator):
    """
    List the subscriptions created in the window, whatever their status (``status=all``).

    See :class:`StripeListNewObjectsOperator`.
    """

    resource_name = "subscriptions"
    catalog_method = "subscriptions.list_new"


class StripeListNewBalanceTransactionsOperator(_StripeListNewOperator):
    """
    List the balance transactions created in the window; see :class:`StripeListNewObjectsOperator`.

    Looks back 600 s by default: a balance transaction can become visible after its second was read.
    """

    resource_name = "balance_transactions"
    catalog_method = "balance_transactions.list_new"


class _StripeCreateOperator(_StripeOperator):
    """
    Create one Stripe object, safely repeatable.

    The request carries a deterministic idempotency key. Stripe forgets keys after 24 hours, so when
    ``match_metadata_key`` names a key present in ``stripe_params["metadata"]`` the object is first looked
    up through the list endpoint (never Search, which lags) and reused when found.
    """

    template_fields: Sequence[str] = (
        "stripe_conn_id",
        "stripe_account",
        "stripe_params",
        "idempotency_scope",
    )
    template_fields_renderers = {"stripe_params": "json"}
    kind: ClassVar[str]
    #: The catalog method the operator runs (``customers.create``).
    catalog_method: ClassVar[str]

    def __init__(
        self,
        *,
        stripe_params: dict[str, Any] | None = None,
        match_metadata_key: str | None = "signup_id",
        idempotency_scope: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        refuse_airflow_params(type(self).__name__, stripe_params, kwargs.get("params"))
        if stripe_params is None:
            raise TypeError(f"{type(self).__name__} needs stripe_params={{...}}: the create parameters.")
        super().__init__(**kwargs)
        self.stripe_params = stripe_params
        self.match_metadata_key = match_metadata_key
        self.idempotency_scope = idempotency_scope

    def _ensure(self, params: dict[str, Any], scope: list[str] | None) -> tuple[dict[str, Any], bool]:
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        if not isinstance(self.stripe_params, dict):
            raise TypeError(
                f"stripe_params must render to a dict, got {type(self.stripe_params).__name__}. A Jinja "
                "template renders to text unless the DAG sets render_template_as_native_obj=True."
            )
        from airflow_provider_stripe_sync.operators.stripe_method import check_scope
        from airflow_provider_stripe_sync.stripe.catalog import check_param_names, check_shapes, entry

        # Before any request (the lookup lists first): a name the pinned SDK does not know is refused.
        check_param_names(entry(self.catalog_method), self.stripe_params)
        check_shapes(entry(self.catalog_method), self.stripe_params)
        check_scope(self.idempotency_scope)
        scope = self.idempotency_scope or None
        if scope is None and not self._business_key(self.stripe_params):
            scope = run_scope(context)
        obj, created = self._ensure(self.stripe_params, scope)
        self.log.info("%s %s %s.", "Created" if created else "Found existing", self.kind, obj["id"])
        self.push_link(context, self.kind, object_id=obj["id"], livemode=obj.get("livemode"))
        return {
            "id": obj["id"],
            "object": obj.get("object"),
            "created": created,
            "livemode": obj.get("livemode"),
        }

    def _business_key(self, params: dict[str, Any]) -> str | None:
        metadata = params.get("metadata") or {}
        if self.match_metadata_key and metadata.get(self.match_metadata_key):
            return str(metadata[self.match_metadata_key])
        return None


class StripeCreateCustomerOperator(_StripeCreateOperator):
    """
    Create a Stripe customer once, whatever the retries and re-runs.

    With ``metadata[match_metadata_key]`` (``signup_id`` by default) in ``stripe_params``, an existing
    customer with that value (found by listing customers with the same email) is returned instead;
    then a customer with the same email and no such value is adopted. The email is trimmed and
    lower-cased first.

    :param stripe_params: the create parameters (``email``, ``name``, ``metadata``...); named so because
        ``params`` is every Airflow operator's DAG-params argument.
    :param match_metadata_key: the metadata key that identifies the customer in your system.
    :param idempotency_scope: what makes this create unique, when no business key is given;
        default: the task run (dag, task, run id, map index).
    """

    kind = "customer"
    catalog_method = "customers.create"

    def _ensure(self, params: dict[str, Any], scope: list[str] | None) -> tuple[dict[str, Any], bool]:
        return self.hook.ensure_customer(params, match_metadata_key=self.match_metadata_key, scope=scope)


class StripeCreateSubscriptionOperator(_StripeCreateOperator):
    """
    Create a Stripe subscription once, whatever the retries and re-runs.

    With ``metadata[match_metadata_key]`` in ``stripe_params``, the customer's subscriptions (any status)
    are listed first and one carrying that value is returned instead of creating another.

    :param stripe_params: the create parameters (``customer``, ``items``, ``metadata``...).
    :param match_metadata_key: the metadata key that identifies the subscription in your system.
    :param idempotency_scope: what makes this create unique, when no business key is given.
    """

    kind = "subscription"
    catalog_method = "subscriptions.create"

    def _ensure(self, params: dict[str, Any], scope: list[str] | None) -> tuple[dict[str, Any], bool]:
        return self.hook.ensure_subscription(params, match_metadata_key=self.match_metadata_key, scope=scope)


def _touches_customer(record: dict[str, Any]) -> bool:
    """Whether a subscription, or a charge that succeeded, names a customer to profile."""
    if not record.get("customer"):
        return False
    kind = record.get("object")
    return kind == "subscription" or (kind == "charge" and record.get("status") == "succeeded")


class StripeCustomerProfilesOperator(_StripeOperator):
    """
    Build one profile record per customer touched by new customers, subscriptions or paid charges.

    Reads record files of customers, subscriptions and charges (as the List New and List Updated
    operators write them; a charge counts once it succeeded; a later file's record of a customer
    replaces an earlier one's), gathers the customers they name, and writes for each one that is
    not deleted (a tombstone, or Stripe's deleted stub)
    ``{"customer": {...}, "subscriptions": [...every status, newest first...], "products": {id: {...}}}``
    so that a destination can show each customer's current subscription and its product's name.
    Subscriptions are listed per customer with ``status=all`` and their prices expanded; products
    are fetched once each (expanding them from a list would exceed Stripe's four expansion levels).

    :param records_uris: record files of customers and/or subscriptions, or the upstream List New
        and List Updated operators' summaries (``task.output``).
    :param output_uri: folder for the profile file; default under AIRFLOW_HOME.
    :param include_first_charge: also list each customer's charges and add ``"first_charge_id"``, the
        id of its earliest succeeded charge (``None`` when none), so a destination can tell a first
        payment; one more list request per customer (more for customers with over 100 charges).
    """

    template_fields: Sequence[str] = ("stripe_conn_id", "stripe_account", "records_uris", "output_uri")

    def __init__(
        self,
        *,
        records_uris: list[str] | str,
        output_uri: str | None = None,
        include_first_charge: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.records_uris = records_uris
        self.output_uri = output_uri
        self.include_first_charge = include_first_charge

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.records import read_records, record_uris

        uris = record_uris(self.records_uris, field="records_uris")
        customers: dict[str, dict[str, Any] | None] = {}
        for uri in uris:
            for record in read_records(uri):
                if record.get("object") == "customer":
                    customers[record["id"]] = record
                elif _touches_customer(record):
                    customer = record["customer"]
                    customer_id = customer["id"] if isinstance(customer, dict) else customer
                    customers.setdefault(customer_id, None)

        products: dict[str, dict[str, Any]] = {}
        uri = task_file_path(
            context,
            self.output_uri or default_output_uri(),
            "records",
            f"{safe_part(context['ti'].run_id)}.jsonl",
        )
        header = {
            "resource": "customer_profiles",
            "account": self.hook.stripe_account,
            "api_version": self.hook.api_version,
            "livemode": self.hook.livemode,
        }
        deleted = 0
        with RecordWriter(uri, header=header) as writer:
            for customer_id in sorted(customers):
                profile = self._profile(customer_id, customers[customer_id], products)
                if profile is None:
                    deleted += 1
                    continue
                writer.write(profile)
        self.log.info(
            "Wrote %d customer profiles with %d products to %s; left out %d deleted customers.",
            writer.count,
            len(products),
            writer.uri,
            deleted,
        )
        self.push_link(context, "customer")
        return {"uri": writer.uri, "count": writer.count, "resource": "customer_profiles"}

    def _profile(
        self, customer_id: str, customer: dict[str, Any] | None, products: dict[str, dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Return the customer's profile, or ``None`` for a deleted customer (a tombstone record)."""
        hook = self.hook
        if customer is None:
            customer = hook.call(
                lambda options: hook.client.v1.customers.retrieve(customer_id, options=options),
                description="retrieve customer",
            )
        if customer.get("deleted"):
            return None
        subscriptions = list(
            hook.iter_all(
                "subscriptions",
                {"customer": customer_id, "status": "all", "expand": ["data.items.data.price"]},
                description="list the customer's subscriptions",
            )
        )
        wanted = {}
        for subscription in subscriptions:
            for item in (subscription.get("items") or {}).get("data", []):
                product = (item.get("price") or {}).get("product")
                if isinstance(product, str) and product not in products:
                    wanted[product] = None
        for product_id in wanted:
            products[product_id] = hook.call(
                lambda options, pid=product_id: hook.client.v1.products.retrieve(pid, options=options),
                description="retrieve product",
            )
        used = {
            item["price"]["product"]
            for subscription in subscriptions
            for item in (subscription.get("items") or {}).get("data", [])
            if isinstance((item.get("price") or {}).get("product"), str)
        }
        profile = {
            "customer": customer,
            "subscriptions": subscriptions,
            "products": {product_id: products[product_id] for product_id in sorted(used)},
        }
        if self.include_first_charge:
            succeeded = [
                (charge["created"], charge["id"])
                for charge in hook.iter_all(
                    "charges", {"customer": customer_id}, description="list the customer's charges"
                )
                if charge.get("status") == "succeeded"
            ]
            profile["first_charge_id"] = min(succeeded)[1] if succeeded else None
        return profile


class StripeCreateCustomersFromSignupsOperator(_StripeOperator):
    """
    Turn the sign-ups of the window into Stripe customers and, when they chose a plan, subscriptions.

    Sign-ups are JSON Lines records (one file, or every ``*.jsonl`` file of a folder) such as
    ``{"signup_id": "su_1", "email": "ada@example.com", "name": "Ada Lovelace",
    "signed_up_at": "2026-10-29T10:00:00+00:00", "price_lookup_key": "pro_monthly_usd",
    "trial_days": 14}``; ``price`` (a price id) may stand for ``price_lookup_key``. Those whose
    ``signed_up_at`` falls in ``[window_start, window_end)`` are processed. Each becomes a customer
    carrying ``metadata.signup_id`` (found again, never duplicated, on any later run) and, with a
    price, a subscription carrying the same metadata. A sign-up that cannot be processed (no email,
    an unknown price, a trial that is not a whole number of days, anything else Stripe refuses) goes
    to the report; the others still land. Rate limits and outages that outlast the retries fail the
    task, so that Airflow retries it; nothing is created twice when it does.

    :param signups_uri: a sign-ups file or folder, local or any fsspec URI.
    :param window_start: start of the window; default from the run, as for the List New operators.
    :param window_end: end of the window, exclusive.
    :param report_uri: folder for the report of rejected sign-ups; default under AIRFLOW_HOME.
    """

    template_fields: Sequence[str] = (
        "stripe_conn_id",
        "stripe_account",
        "signups_uri",
        "window_start",
        "window_end",
        "report_uri",
    )

    def __init__(
        self,
        *,
        signups_uri: str,
        window_start: Any = None,
        window_end: Any = None,
        report_uri: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.signups_uri = signups_uri
        self.window_start = window_start
        self.window_end = window_end
        self.report_uri = report_uri

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_stripe_sync.context import report_path
        from airflow_provider_stripe_sync.records import ReportWriter
        from airflow_provider_stripe_sync.signups import read_signups

        window = window_from_context(context, window_start=self.window_start, window_end=self.window_end)
        counts = dict.fromkeys(
            (
                "signups",
                "customers_created",
                "customers_existing",
                "subscriptions_created",
                "subscriptions_existing",
            ),
            0,
        )
        prices: dict[str, str | None] = {}
        with ReportWriter(report_path(context, self.report_uri or default_output_uri())) as report:
            for signup, problem in read_signups(self.signups_uri, window):
                counts["signups"] += 1
                if problem:
                    report.reject(signup.get("signup_id"), problem, signup_id=signup.get("signup_id"))
                    continue
                try:
                    self._process(signup, prices, counts, report)
                except StripeRequestError as err:
                    # Stripe refused this sign-up (an unknown price, say): report it, go on with the
                    # others. Rate limits and outages that outlast the retries fail the task instead.
                    if err.http_status is None or err.http_status == 429 or err.http_status >= 500:
                        raise
                    report.reject(signup["signup_id"], "stripe_rejected", message=str(err))
        self.log.info(
            "Processed %d sign-ups in %s: %d customers created, %d found, %d subscriptions created, "
            "%d found, %d rejected.",
            counts["signups"],
            window.describe(),
            counts["customers_created"],
            counts["customers_existing"],
            counts["subscriptions_created"],
            counts["subscriptions_existing"],
            report.count,
        )
        # The sign-ups' customers are created now, not in the sign-up window: link the customers page.
        self.push_link(context, "customer")
        return {**counts, "rejected": report.count, "report_uri": report.uri, "window": window.as_list()}

    def _process(
        self, signup: dict[str, Any], prices: dict[str, str | None], counts: dict[str, int], report: Any
    ) -> None:
        from airflow_provider_stripe_sync.signups import customer_params, subscription_params

        price_id = None
        lookup_key = signup.get("price_lookup_key")
        if signup.get("price"):
            price_id = signup["price"]
        elif lookup_key:
            if lookup_key not in prices:
                prices[lookup_key] = self._price_for_lookup_key(lookup_key)
            price_id = prices[lookup_key]
            if price_id is None:
                report.reject(signup["signup_id"], "unknown_price_lookup_key", lookup_key=lookup_key)
                return

        customer, created = self.hook.ensure_customer(customer_params(signup), match_metadata_key="signup_id")
        counts["customers_created" if created else "customers_existing"] += 1
        if price_id:
            _, created = self.hook.ensure_subscription(
                subscription_params(signup, customer["id"], price_id), match_metadata_key="signup_id"
            )
            counts["subscriptions_created" if created else "subscriptions_existing"] += 1

    def _price_for_lookup_key(self, lookup_key: str) -> str | None:
        for price in self.hook.iter_all(
            "prices", {"lookup_keys": [lookup_key], "active": True}, description="look up price by lookup key"
        ):
            return price["id"]
        return None


class StripeListConnectedAccountsOperator(_StripeOperator):
    """
    Return the ids of the accounts connected to the platform, for a mapped sync over all of them.

    Pages through ``/v1/accounts`` until ``has_more`` is false. The result is a list of ids, small
    enough for XCom, meant for ``.expand(stripe_account=accounts.output)``.

    :param stripe_conn_id: the platform's ``stripe`` or ``stripe_oauth`` connection.
    """

    template_fields: Sequence[str] = ("stripe_conn_id",)

    def execute(self, context: Context) -> list[str]:
        accounts = sorted(account["id"] for account in self.hook.iter_all("accounts", {}))
        self.log.info("The platform has %d connected accounts.", len(accounts))
        self.push_link(context, "account")
        return accounts
