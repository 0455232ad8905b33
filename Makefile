# matmap — `make book` builds the executed book, `make test` runs the tests.
# Everything runs inside .venv (created on first use: torch pinned first, then the package).
PROFILE ?= paper
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.matmap-installed
PYTEST_ARGS ?=

.PHONY: help setup data book test test-fast lint bench lab registry clean

help:
	@echo "make book [PROFILE=paper|ci]  execute the notebooks and build the HTML book"
	@echo "make test                     run the test suite (includes a smoke run of every notebook)"
	@echo "make lint                     ruff (lint + format check) and import-linter (the package's layers)"
	@echo "make data                     verify every registered data file against its sha256"
	@echo "make lab                      JupyterLab with jupytext pairing (notebooks/*.py open as notebooks)"
	@echo "make bench                    run the benchmarks (results in benchmarks/results/)"
	@echo "make setup                    only create/update .venv"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[book,test,hpo]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (matmap)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

data: $(STAMP)
	$(BIN)/matmap data verify --quiet

book: $(STAMP)
	$(BIN)/matmap data verify --quiet
	$(BIN)/matmap book --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[lab]"
	$(BIN)/jupyter lab --ServerApp.jpserver_extensions="{'jupytext': True}" notebooks/

registry:
	$(BIN)/python scripts/make_registry.py

clean:
	rm -rf _build book/executed .cache
