# Everything a new user or CI needs goes through these targets; nothing is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint format bench faults faults-quick clean

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml tests/odoo_emulator/pyproject.toml
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	touch $@

run: install
	$(BIN)/python deploy/devstack.py $(RUN_ARGS)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src services/*/src tests/odoo_emulator/src deploy tests/faults

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python tests/bench/run_all.py

# The fault suite on a private PostgreSQL and RabbitMQ: MODE=full (before a release) or quick (CI).
MODE ?= full
faults: install
	$(BIN)/python -m tests.faults --mode $(MODE) $(FAULTS_ARGS)

faults-quick: install
	$(BIN)/python -m tests.faults --mode quick $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
