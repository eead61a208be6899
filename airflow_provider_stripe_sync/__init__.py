"""Apache Airflow provider that keeps Stripe in sync with HubSpot, Xero and Mailchimp."""

from __future__ import annotations

__version__ = "0.1.0"
