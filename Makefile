# The two set-up commands: `make demo` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/seatwise demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

# pytest exits 5 when it collects no test: that fails `make test`, on purpose.
test: lint typecheck unit

# Measurements, not tests: a year of billing for 10,000 accounts, and events reported over
# HTTP to `seatwise serve`, on SQLite and PostgreSQL.
bench: $(STAMP)
	$(BIN)/python bench/billing_run.py --out bench/results.json
	$(BIN)/python bench/ingest.py --out bench/ingest.json

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache seatwise-demo.db
