# newsspider — every target sets up .venv first (Python >= 3.10 as $(PYTHON)).
#   make setup   .venv with the project (editable) and the test tools
#   make clean   removes .venv and caches only — never output/, state/ or archive/
#   make reset   removes output/, state/ and archive/ together (the state says what the
#                outputs hold: keep them in step, or the next run skips what you deleted)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8765
SUPPORTED := import sys; sys.exit(sys.version_info < (3, 10))

.PHONY: setup crawl test lint demo bench bench-results clean reset

# A .venv made by an unsupported Python (or broken) is rebuilt, whatever its stamp says.
ifneq ($(wildcard $(STAMP)),)
ifneq ($(shell $(BIN)/python -c '$(SUPPORTED)' 2>/dev/null && echo ok),ok)
$(shell rm -f $(STAMP))
endif
endif

$(STAMP): pyproject.toml
	@$(PYTHON) -c '$(SUPPORTED)' 2>/dev/null || { \
	  echo "error: $(PYTHON) is $$($(PYTHON) -V 2>&1 || echo missing); newsspider needs Python 3.10 or newer:" \
	       "make PYTHON=python3.12 $(MAKECMDGOALS)" >&2; exit 1; }
	@echo "Using $$($(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])') for $(VENV)"
	@if [ -e $(VENV) ] && ! $(BIN)/python -c '$(SUPPORTED)' 2>/dev/null; then \
	  echo "$(VENV) was made by $$($(BIN)/python -V 2>&1 || echo 'a missing Python'), which is unsupported: recreating it"; \
	  rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
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

## crawl the bundled offline snapshot (newsspider/dev/snapshot/site) served on 127.0.0.1, then take one
## article down and run the check: output/demo.jsonl, output/demo-tombstones.jsonl
demo: $(STAMP)
	$(BIN)/newsspider demo --port $(DEMO_PORT) --output output/demo.jsonl

## accuracy/speed/crawl benchmarks -> bench/.work/RESULTS.md (own venv in bench/.work); BENCH_ARGS=--quick
bench:
	NEWSSPIDER_BENCH_COMMAND='make bench$(if $(BENCH_ARGS), BENCH_ARGS="$(BENCH_ARGS)")' $(PYTHON) bench/run.py $(BENCH_ARGS)

## the last `make bench` report becomes the tracked bench/RESULTS.md
bench-results:
	$(PYTHON) bench/run.py --publish

## the virtual environment and caches (outputs and state stay)
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build newsspider.egg-info

## start over: the outputs, the state that knows them, and the archive, together
reset:
	rm -rf output state archive
