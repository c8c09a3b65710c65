PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $@ $(STAMP_RUN)

## make run: start Billow on the embedded SQLite database (./billow.db)
run: $(STAMP_RUN)
	$(BIN)/billow serve

## make test: run the whole suite (SQLite unless BILLOW_TEST_DATABASE_URL says otherwise)
test: $(STAMP_DEV)
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

## make lint: ruff, mypy and the import contracts
lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## make bench: the benchmarks (print figures; not tests)
bench: $(STAMP_DEV)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/aggregate.py
	$(BIN)/python bench/billing_run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
