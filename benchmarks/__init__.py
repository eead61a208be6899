"""Throughput, memory and parse-time benchmarks; ``make bench`` runs them all (see ``run.py``)."""
