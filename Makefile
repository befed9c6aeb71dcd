# Two entry points a newcomer needs: `make up` runs the floor, `make test` runs the tests.
# Both create .venv and install the project (with uv, from PyPI) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: up demo test test-fast e2e install bench bench-compare crds lint clean

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set, agents would otherwise compile every
# dependency's source at each start (slower starts, ~7 MiB more per trader).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# `floor up`'s defaults are what `make up` runs: the momentum market at 30x with seed 2, whose first
# round already moves enough for the examples' rules to trade (docs/simulator.md).
up: $(STAMP)
	$(BIN)/floor up $(ARGS)

# The headline in minutes: a fast market (90x: a simulated day in 16 wall minutes) that is the same
# market every run (seed 15 from 2026-01-01 00:00 UTC; on the simulated floor its momentum trader is
# cloned after 8.3 market hours and the contrarian paused after 1.3), traders that enter most rounds,
# the default evidence bar with its durations on the market's clock (docs/local-floor.md).
# 90x, not more: above ~100x the floor's one process (simulator and collector) falls behind the
# feed on a busy 2-core machine. Its own state folder, so it never mixes with `make up`'s floor.
demo: $(STAMP)
	$(BIN)/floor up -f examples/demo --speed 90 --seed 15 --market-start 2026-01-01T00:00Z --state-dir var/demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The pure parts only (tests marked unit by tests/markers.py: no server, no process), without
# the long market simulations (marked slow).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "unit and not slow" -q $(PYTEST_ARGS)

# The cluster floor on an emulated cluster (tests/e2e/, also part of `make test`); ends with its summary line.
E2E_SUMMARY_FILE := $(VENV)/e2e-summary.txt
e2e: $(STAMP)
	@rm -f $(E2E_SUMMARY_FILE)
	E2E_SUMMARY=$(E2E_SUMMARY_FILE) $(BIN)/python -m pytest tests/e2e -q $(PYTEST_ARGS); rc=$$?; \
	  cat $(E2E_SUMMARY_FILE) 2>/dev/null; exit $$rc

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# This project's engine beside NautilusTrader's on the same L2 stream (benchmarks/bench_compare.py).
# Nautilus is installed only here, into its own venv, on first use; ARGS = simulated hours.
NAUTILUS_VENV := .venv-nautilus
$(NAUTILUS_VENV)/bin/python: | $(STAMP)
	$(BIN)/uv venv -q --python $(BIN)/python $(NAUTILUS_VENV)
	$(BIN)/uv pip install -q --python $(NAUTILUS_VENV)/bin/python nautilus_trader

bench-compare: $(STAMP) $(NAUTILUS_VENV)/bin/python
	$(BIN)/python benchmarks/bench_compare.py $(ARGS)

# Style, types (mypy: strict for the pure core, see pyproject.toml), then the import layers of
# docs/architecture.md (.importlinter).
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

crds: $(STAMP)
	$(BIN)/floor crds

clean:
	rm -rf $(VENV) $(NAUTILUS_VENV) .pytest_cache build *.egg-info
