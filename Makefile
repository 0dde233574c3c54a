# The two set-up commands: `make demo` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit browser bench venv clean

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

# The billing page's tests drive Debian's Chromium (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Every test has its own database (a file, or a PostgreSQL database made for it), so the tests
# run in one process per core (pytest-xdist); `worksteal` evens out the few long ones.
unit: $(STAMP) browser
	$(BIN)/pytest -n auto --dist worksteal

# pytest exits 5 when it collects no test: that fails `make test`, on purpose.
test: lint typecheck unit

# Measurements, not tests: a year of billing for 10,000 accounts, a year of daily runs, events reported over
# HTTP to `seatwise serve`, and a backtest of the whole book, on SQLite and PostgreSQL.
bench: $(STAMP)
	$(BIN)/python bench/billing_run.py --out bench/results.json
	-$(BIN)/python bench/billing_against.py --rounds 7 --out bench/billing_against.json  # needs git history
	$(BIN)/python bench/daily_runs.py --accounts 500 --out bench/daily_runs.json
	$(BIN)/python bench/ingest.py --out bench/ingest.json
	$(BIN)/python bench/backtest.py --databases sqlite,postgresql --out bench/backtest.json
	$(BIN)/python bench/core_scaling.py --out bench/core_scaling.json

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache seatwise-demo.db seatwise-demo.db-writer.lock seatwise-demo-comparison.html
