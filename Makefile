# Mender: two commands. `make run` and `make test` both go through `make setup`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-chaos lint security lock bench bench-dashboard bench-redaction bench-diagnosis bench-ablate train-keylines bench-scan bench-cli-startup bench-ingest bench-latency bench-chaos clean

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

# The suite runs in TEST_WORKERS processes (pytest-xdist), one test file per process at a time: most
# tests wait on Temporal timers and simulated worlds, so more processes than cores still pay off.
TEST_WORKERS ?= 3
test: setup lint security
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Every chaos test (they run in `make test` too), one process: the slow way to see them alone.
test-chaos: setup
	$(BIN)/python -m pytest -m chaos

# Mender's own code (not the simulators, which are test doubles) must have no high-severity bandit
# finding; the lock is audited by pip-audit where the registry answers (skipped with the reason otherwise).
security: setup
	$(BIN)/bandit -q -r activities domain runtime starter store workflows worker.py --severity-level high
	$(BIN)/python tools/supply_chain.py requirements.lock

# requirements.lock pins every dependency (with hashes) for audits and reproducible installs:
# `pip install -r requirements.lock`. `make setup` does not use it (see README, Security).
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

bench: setup
	$(BIN)/python bench/webhook_latency.py
	$(BIN)/python bench/fleet.py
	$(BIN)/python bench/diagnose_scan.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/redaction.py

bench-dashboard: setup
	$(BIN)/python bench/dashboard.py

bench-redaction: setup
	$(BIN)/python bench/redaction.py

bench-diagnosis: setup
	$(BIN)/python bench/diagnosis.py

# Per-rule ablation by half: each playbook rule removed alone, Δ category/action/key-line hits on tune and held-out; ARGS="--heuristics"
bench-ablate: setup
	$(BIN)/python bench/ablate.py $(ARGS)

# The key-line model (domain/diagnosis/models/keyline.json), trained on the tune half only.
train-keylines: setup
	$(BIN)/python bench/train_keylines.py

# mender diagnose over a generated 200 MB log beside grep -E of the same patterns (both locales); ARGS="--log FILE", "--mb 1000"
bench-scan: setup
	$(BIN)/python bench/diagnose_scan.py $(ARGS)

# mender --help / doctor / diagnose start-up beside the bare interpreter and `import typer`; ARGS="--runs 10"
bench-cli-startup: setup
	$(BIN)/python bench/cli_startup.py $(ARGS)

# Webhook ingest side by side with its floor (bare FastAPI + signal-with-start); ARGS="--server memory", "--burst"
bench-ingest: setup
	$(BIN)/python bench/ingest.py $(ARGS)

# Stall -> action on a 1,000-PR fleet with 20 s thresholds, beside two floors (bare timers + one activity; + the
# same GitHub reads through bare PyGithub); ARGS="--prs 200"
bench-latency: setup
	$(BIN)/python bench/latency.py $(ARGS)

# The README's fault table: the chaos tests on real processes, one row per fault (bench/chaos.py)
bench-chaos: setup
	$(BIN)/python bench/chaos.py $(ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
