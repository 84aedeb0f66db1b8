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

.PHONY: install run broker-plugins test lint format bench bench-compare faults faults-quick up down logs promtool clean

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml tests/odoo_emulator/pyproject.toml tests/support/pyproject.toml
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	touch $@

# The connector partitions its orders' queue with the consistent-hash exchange type: a plugin
# that ships with RabbitMQ, off until enabled (the connector refuses to start without it).
broker-plugins:
	rabbitmq-plugins enable --quiet rabbitmq_consistent_hash_exchange || echo "enable rabbitmq_consistent_hash_exchange on your broker yourself"

run: install broker-plugins
	$(BIN)/python -m deploy.devstack $(RUN_ARGS)

# The same system in Docker Compose (deploy/compose.yaml, deploy/README.md). PROFILES=demo adds
# the Odoo emulator and the demo tenants.
COMPOSE := docker compose -f deploy/compose.yaml --env-file deploy/.env $(foreach p,$(PROFILES),--profile $(p))

deploy/.env: | install
	$(BIN)/python -m deploy.local_env

up: deploy/.env
	$(COMPOSE) up --build --detach --wait
	$(COMPOSE) logs --no-log-prefix migrate | grep 'platform admin token'
	@if [ -n "$(filter demo,$(PROFILES))" ]; then $(COMPOSE) run --rm demo-seed; fi

down:
	$(COMPOSE) --profile demo --profile demo-seed down --remove-orphans

logs:
	$(COMPOSE) logs --follow

# promtool checks and unit-tests the alert rules (tests/deploy); Debian's prometheus package
# brings it. Installed only where it is missing; without it those tests skip and say why.
promtool:
	@command -v promtool >/dev/null || { \
	  echo "installing Debian's prometheus package for promtool"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src services/*/src tests/odoo_emulator/src tests/support/src deploy tests/faults
	$(BIN)/lint-imports --no-cache --no-logo

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every suite (or SUITES="orders reporting"); figures also go to bench-results/<time>.json.
bench: install broker-plugins
	$(BIN)/python tests/bench/run_all.py $(SUITES)

# Two runs side by side with B / A: A= and B= files of bench-results/ (default: its newest two).
bench-compare: install
	$(BIN)/python tests/bench/compare.py $(A) $(B)

# The fault suite on a private PostgreSQL and RabbitMQ: MODE=full (before a release) or quick (CI).
MODE ?= full
faults: install
	$(BIN)/python -m tests.faults --mode $(MODE) $(FAULTS_ARGS)

faults-quick: install
	$(BIN)/python -m tests.faults --mode quick $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
