"""
A task process of the fault suite: runs one scenario's operator as try 1, until the suite kills it.

    python -m tests.faults.child SCENARIO WORKDIR SANDBOX_URL

The suite prepared the sandbox and the input files in WORKDIR and set the connections in the
environment; this process only runs the operator, as an Airflow worker would.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    name, workdir, url = argv
    from airflow_provider_stripe_sync.hooks import xero as xero_hooks
    from airflow_provider_stripe_sync.sandbox.testing import SandboxAdmin
    from airflow_provider_stripe_sync.token_store import MemoryTokenStore
    from tests.faults.scenarios import SCENARIOS
    from tests.faults.suite import sped_up

    store = MemoryTokenStore()
    xero_hooks.VariableTokenStore = lambda: store
    with sped_up():
        SCENARIOS[name](SandboxAdmin(url), Path(workdir)).run(try_number=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
