# newsspider — every target sets up .venv first (Python >= 3.10 as $(PYTHON)).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8765

.PHONY: setup crawl test lint demo bench bench-results clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## crawl georgiatoday.ge (JSON Lines under output/georgiatoday/)
crawl: $(STAMP)
	$(BIN)/scrapy crawl georgiatoday $(ARGS)

## the test suite (the command CI runs)
test: $(STAMP)
	$(BIN)/ruff check newsspider tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check newsspider tests bench
	$(BIN)/mypy

## crawl the bundled offline snapshot (demo/site) served on 127.0.0.1
demo: $(STAMP)
	$(BIN)/python -m newsspider.dev.demo --port $(DEMO_PORT) --output output/demo.jsonl

## accuracy/speed/crawl benchmarks -> bench/.work/RESULTS.md (own venv in bench/.work); BENCH_ARGS=--quick
bench:
	NEWSSPIDER_BENCH_COMMAND='make bench$(if $(BENCH_ARGS), BENCH_ARGS="$(BENCH_ARGS)")' $(PYTHON) bench/run.py $(BENCH_ARGS)

## the last `make bench` report becomes the tracked bench/RESULTS.md
bench-results:
	$(PYTHON) bench/run.py --publish

clean:
	rm -rf $(VENV) output .pytest_cache .mypy_cache .ruff_cache
