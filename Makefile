# vinops-ingest developer entry points. `make test` works from a fresh clone (no Docker needed).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vinops-installed
STACK := bash devstack/stack.sh

.PHONY: help venv up down status migrate lint typecheck test demo bench bench-quick soak

help:
	@echo "targets: venv up down status migrate lint typecheck test demo bench bench-quick soak"

venv: $(STAMP)

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

up:
	$(STACK) up

down:
	$(STACK) down

status:
	$(STACK) status || true

migrate: venv up
	. .devstack/env && $(BIN)/consumer migrate

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

test: venv up lint typecheck
	$(BIN)/pytest

demo: venv up
	bash devstack/demo.sh

bench: venv up
	bash bench/run.sh

bench-quick: venv up
	bash bench/run.sh --quick

# The long fault soak (not in CI; the CI size runs in `make test`): SEED=N MINUTES=M.
SEED ?= 1313
MINUTES ?= 30
soak: venv up
	VINOPS_SOAK_SEED=$(SEED) VINOPS_SOAK_MINUTES=$(MINUTES) \
		$(BIN)/pytest tests/faults/test_soak.py -q -s
