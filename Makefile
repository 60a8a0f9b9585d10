# The two commands a new user runs: `make up` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Set up and start the platform (controlplane + supervised dataplane) with embedded defaults.
up: install
	$(BIN)/dqp up

## Set up and run the whole test suite (lint, unit, integration on SQLite/PostgreSQL and
## filesystem/RabbitMQ, end-to-end).
test: install
	scripts/system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -p no:cacheprovider

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .dqp
