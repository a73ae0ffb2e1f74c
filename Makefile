# Mender: two commands. `make run` and `make test` both go through `make setup`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench bench-ingest clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(BIN)/mender up --scenario scenarios/demo.yaml

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/webhook_latency.py
	$(BIN)/python bench/fleet.py
	$(BIN)/python bench/diagnose_scan.py

# Webhook ingest side by side with its floor (bare FastAPI + signal-with-start); ARGS="--server memory", "--burst"
bench-ingest: setup
	$(BIN)/python bench/ingest.py $(ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
