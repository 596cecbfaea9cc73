# Two entry points (see README): `make demo` and `make test`.
# Everything is installed into ./.venv and ./node_modules by these targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo live test bench lint install install-dev clean

$(VENV)/.stamp-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-base pyproject.toml
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@

node_modules/.stamp-npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.stamp-base node_modules/.stamp-npm
install-dev: $(VENV)/.stamp-dev node_modules/.stamp-npm

demo: install
	$(VENV)/bin/asymlp backtest config/backtest.toml

# The live stack for 150 s on the local devnet (anvil + the real Uniswap V3 contracts, paper venues),
# then the run's PnL report in the backtester's parts.
live: install
	$(VENV)/bin/asymlp run config/devnet --duration 150 --run-dir run/devnet
	$(PY) -m asymlp_runtime.lp.run_report config/devnet run/devnet

test: install-dev
	$(PY) -m pytest

bench: install-dev
	$(PY) -m pytest benchmarks --benchmark-only -p no:cacheprovider

lint: install-dev
	$(VENV)/bin/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis .benchmarks
