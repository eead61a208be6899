#!/usr/bin/env bash
# Runs once before the other Airflow services start (service airflow-init): the metadata database,
# the example DAGs' pools, the connections built from docker/.env, and the record files' bucket.
set -euo pipefail

airflow db migrate
airflow pools import /opt/stripe-sync/docker/pools.json
python /opt/stripe-sync/docker/connections.py > /tmp/stripe-sync-connections.json
airflow connections import --overwrite /tmp/stripe-sync-connections.json
rm -f /tmp/stripe-sync-connections.json
python /opt/stripe-sync/docker/connections.py --create-bucket
