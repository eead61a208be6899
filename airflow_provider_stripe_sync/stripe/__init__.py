"""Airflow-free Stripe core: windows, paged listing, retries, idempotency keys and money."""
