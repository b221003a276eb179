# basingov: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench data clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11 or python3 on PATH; install Python 3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: $(PYTHON) is older than Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev,maps,dask]"
	touch $(STAMP)

setup: $(STAMP)

## Build tables (and GeoPackages) for all four shipped basins into out/
demo: $(STAMP)
	$(BIN)/basingov -v run all -o out --overwrite

## Set up and run the whole test suite (slow tests included), lint and type checks
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

## Run the benchmarks P1-P3 and rewrite their sections of docs/performance.md
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_spillover.py --write
	$(BIN)/python benchmarks/bench_network.py
	$(BIN)/python benchmarks/bench_overlay.py --repeat 9

## Rebuild data/ from ../shared/data-sources (maintainers only; the shipped data/ is committed)
data: $(STAMP)
	$(BIN)/python scripts/prepare_data.py --source ../shared/data-sources --out data --overwrite

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
