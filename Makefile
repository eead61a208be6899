# The README's two commands: `make demo` and `make test`. Each sets up everything it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export UV_LINK_MODE := copy

.PHONY: install demo test test-unit test-integration test-dags test-faults faults test-distributed lint bench clean

$(BIN)/.installed: pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv --quiet --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) uv pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python scripts/demo.py

test: install lint
	$(BIN)/pytest -q tests/unit tests/integration tests/dags

# The fault suite (tests/faults): every list and destination operator under random fault mixes,
# checked against the sandbox's ground truth. CI runs FAULT_SEEDS seeds; `make faults SEEDS=200`
# runs more. Both print the table and fail on any loss, duplicate or failure without a cause.
FAULT_SEEDS ?= 6
SEEDS ?= 50

test-faults: install
	$(BIN)/pytest -q tests/faults
	$(BIN)/python -m tests.faults.suite --seeds $(FAULT_SEEDS)

faults: install
	$(BIN)/python -m tests.faults.suite --seeds $(SEEDS)

# The provider on a distributed Airflow (CeleryExecutor, PostgreSQL, Redis, S3), without Docker, and
# a headless Chromium against its UI. Installs Debian packages when missing (root or sudo).
ARTEFACTS ?= $(CURDIR)/ui-artefacts
test-distributed: install
	bash scripts/distributed_prereqs.sh
	VIRTUAL_ENV=$(VENV) uv pip install --quiet -e ".[test,distributed]"
	@echo "Screenshots and service logs go to $(ARTEFACTS)"
	STRIPE_SYNC_DISTRIBUTED=1 STRIPE_SYNC_ARTEFACTS=$(ARTEFACTS) $(BIN)/pytest -q \
		--timeout 1800 tests/distributed
	@echo "Screenshots and service logs: $(ARTEFACTS)"

lint: install
	$(BIN)/ruff check airflow_provider_stripe_sync dags tests scripts docker benchmarks

# About 20 minutes on 2 cores; writes benchmarks/RESULTS.md (not part of `make test`).
bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .demo .tmp .pytest_cache
