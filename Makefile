# The README's two commands: `make demo` and `make test`. Each sets up everything it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export UV_LINK_MODE := copy

.PHONY: install demo test test-unit test-integration test-dags lint bench clean

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

lint: install
	$(BIN)/ruff check airflow_provider_stripe_sync dags tests scripts docker benchmarks

# About 20 minutes on 2 cores; writes benchmarks/RESULTS.md (not part of `make test`).
bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .demo .tmp .pytest_cache
