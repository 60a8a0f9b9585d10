# The two commands a new user runs: `make up` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FAULTS_STAMP := $(VENV)/.installed-faults
BENCH_STAMP := $(VENV)/.installed-bench
# Length of the soak in make test-faults (docs/reliability.md says why not 600 in CI).
DQP_SOAK_SECONDS ?= 180

.PHONY: up test test-faults install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(FAULTS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev,faults]"
	touch $(FAULTS_STAMP)

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

## Set up and start the platform (controlplane + supervised dataplane) with embedded defaults.
up: install
	$(BIN)/dqp up

## Set up and run the whole test suite (lint, types, unit, integration on SQLite/PostgreSQL and
## filesystem/RabbitMQ, end-to-end).
test: install
	scripts/system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -p no:cacheprovider --ignore=tests/faults

## The reliability and security suite (docs/reliability.md): outages, kills, a full and a
## read-only data dir, the soak, schemathesis, bad input and attacks on the running platform.
## Needs what make test needs, and root (the data-dir faults mount a small tmpfs).
test-faults: $(FAULTS_STAMP)
	DQP_SOAK_SECONDS=$(DQP_SOAK_SECONDS) $(BIN)/pytest -p no:cacheprovider tests/faults

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## The benchmarks of docs/performance.md (wrk from Debian's package, the comparison apps'
## libraries from the bench extra); prints their tables.
bench: $(BENCH_STAMP)
	scripts/system-deps wrk
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .dqp
