"""
The Stripe Dashboard extra link shown on every Stripe task in the Airflow UI.

An operator works out the Dashboard page of what it touched (the object it created, or the list page
of what it read) while it runs, and pushes that URL to XCom under :data:`XCOM_KEY` with
:func:`push_dashboard_url`. The UI renders links from a serialized DAG, where no operator instance or
hook exists, so the link is read back from XCom; nothing is worked out at render time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

DASHBOARD = "https://dashboard.stripe.com"

#: The XCom key the link is stored under (the UI reads it back from there).
XCOM_KEY = "stripe_dashboard_url"

#: Dashboard pages by Stripe object type (the ``object`` field) or list resource.
PAGES: dict[str, str] = {
    "account": "connect/accounts",
    "balance": "balance/overview",
    "balance_transaction": "balance/overview",
    "charge": "payments",
    "checkout.session": "checkout/sessions",
    "coupon": "coupons",
    "credit_note": "credit-notes",
    "customer": "customers",
    "dispute": "disputes",
    "event": "events",
    "invoice": "invoices",
    "invoiceitem": "invoiceitems",
    "payment_intent": "payments",
    "payout": "payouts",
    "price": "prices",
    "product": "products",
    "promotion_code": "promotion_codes",
    "refund": "refunds",
    "subscription": "subscriptions",
    "subscription_item": "subscriptions",
    "tax_rate": "tax-rates",
    "transfer": "connect/transfers",
}

#: Object types whose Dashboard page is a list, not one page per object.
_NO_OBJECT_PAGE = frozenset({"balance", "balance_transaction", "subscription_item"})


def dashboard_url(
    object_type: str,
    *,
    livemode: bool,
    account: str | None = None,
    object_id: str | None = None,
    query: Mapping[str, Any] | None = None,
) -> str:
    """
    Return the Stripe Dashboard URL of one object, or of the list page of its type.

    :param object_type: the object's ``object`` field (``customer``, ``charge``...).
    :param livemode: live mode (no ``/test`` segment) or test mode.
    :param account: a connected account id; the page opens as that account.
    :param object_id: the object; ``None`` for the list page.
    :param query: list filters for a list page, e.g. ``{"created[gte]": 1700000000}``.
    :raises ValueError: for an object type the Dashboard has no page for.
    """
    page = PAGES.get(object_type)
    if page is None:
        raise ValueError(f"no Stripe Dashboard page is known for object type {object_type!r}")
    parts = [DASHBOARD]
    if account:
        parts.append(quote(account, safe=""))
    if not livemode:
        parts.append("test")
    parts.append(page)
    if object_id and object_type not in _NO_OBJECT_PAGE:
        parts.append(quote(object_id, safe=""))
    url = "/".join(parts)
    if query:
        url += "?" + urlencode({key: str(value) for key, value in query.items()})
    return url


def push_dashboard_url(operator: BaseOperator, context: Context, url: str) -> None:
    """Remember ``url`` as the task's Dashboard link and push it to XCom for the UI."""
    operator._stripe_dashboard_url = url  # type: ignore[attr-defined]
    context["ti"].xcom_push(key=XCOM_KEY, value=url)


class StripeDashboardLink(BaseOperatorLink):
    """"Stripe Dashboard": the page of what the task created or read, in the right mode and account."""

    name = "Stripe Dashboard"

    @property
    def xcom_key(self) -> str:
        return XCOM_KEY

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # Called on the worker when the task finishes, with the operator instance that ran (its
        # result is pushed under ``xcom_key`` again); the UI reads that XCom and never calls this.
        # A URL is pushed only when the task got that far, by this instance (a deferred sensor
        # pushes in execute_complete, in the process that then finishes). Nothing pushed (the
        # task failed first) is an empty link, said quietly: looking the XCom up would only make
        # the Execution API log "XCom not found" as an ERROR beside the task's real error.
        return getattr(operator, "_stripe_dashboard_url", None) or ""
