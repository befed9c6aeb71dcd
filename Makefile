# Two entry points a newcomer needs: `make up` runs the floor, `make test` runs the tests.
# Both create .venv and install the project (with uv, from PyPI) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: up test test-fast install bench crds lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The demo market has momentum persistence, so the floor has something to learn from, and seed 2,
# whose first round already moves enough for the examples' rules to trade (docs/simulator.md).
UP_ARGS ?= --pattern momentum --seed 2

up: $(STAMP)
	$(BIN)/floor up $(UP_ARGS) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The pure parts only (tests marked unit by tests/markers.py: no server, no process).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit -q $(PYTEST_ARGS)

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

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
	rm -rf $(VENV) .pytest_cache build *.egg-info
