# basingov: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_STAMP := $(VENV)/.installed-data

.PHONY: setup demo test lint bench data clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11 or python3 on PATH; install Python 3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: $(PYTHON) is older than Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev,maps,dask]"
	touch $(STAMP)

setup: $(STAMP)

## The whole analysis for the four shipped basins: runs (out/<basin>/), the four offline
## maps and an index page (maps/), reports (reports/<basin>/) and the four-basin
## comparison panel (out/compare/); ends by listing what it wrote
DEMO_BASINS := rhine taihu tennessee thames
demo: $(STAMP)
	$(BIN)/basingov -v run all -o out --overwrite
	$(BIN)/basingov map $(DEMO_BASINS:%=out/%) -o maps --overwrite
	@for b in $(DEMO_BASINS); do \
	  echo "$(BIN)/basingov report out/$$b -o reports/$$b --overwrite"; \
	  $(BIN)/basingov report out/$$b -o reports/$$b --overwrite || exit 1; \
	done
	$(BIN)/basingov -v compare $(DEMO_BASINS:%=out/%) -o out/compare --overwrite
	@echo ""
	@echo "Outputs of make demo:"
	@for f in maps/index.html $$(ls maps/*.html 2>/dev/null | grep -v "^maps/index.html$$") reports/*/report.html out/*/map.html \
	  out/compare/comparison.html out/compare/comparison.md out/compare/comparison.csv; do \
	  if [ -e "$$f" ]; then echo "  $$f"; fi; done
	@for b in $(DEMO_BASINS); do echo "  out/$$b/ ($$b.gpkg, tables/, summary.json)"; done

## Set up and run the whole test suite (slow tests included), lint and type checks.
## The tests run on TEST_WORKERS processes (pytest-xdist; each loads the shipped basins it
## needs, so memory grows with it); `make test TEST_WORKERS=0` runs them all in one process
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

## Run the benchmarks P1-P6 and rewrite their sections of docs/performance.md
## (P6, bench_dask.py, includes a synthetic continental case of 5M reaches: long)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_spillover.py --write
	$(BIN)/python benchmarks/bench_network.py
	$(BIN)/python benchmarks/bench_overlay.py --repeat 9
	$(BIN)/python benchmarks/bench_pipeline.py --repeat 3 --profile --write
	$(BIN)/python benchmarks/bench_maps.py --write
	$(BIN)/python benchmarks/bench_dask.py --write

## Rebuild data/ from ../shared/data-sources (maintainers only; the shipped data/ is committed).
## It also needs the data extra (rdata) and fetches two global grids into its --cache
$(DATA_STAMP): $(STAMP)
	$(BIN)/python -m pip install -e ".[dev,maps,dask,data]"
	touch $(DATA_STAMP)

data: $(DATA_STAMP)
	$(BIN)/python scripts/prepare_data.py --source ../shared/data-sources --out data --overwrite

clean:
	rm -rf $(VENV) out maps reports .pytest_cache .mypy_cache .ruff_cache
