# make test     install into .venv if needed, then run the test suite
# make figures  install into .venv if needed, then run every notebook headless (PROFILE=default)
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= default
OUT     ?= build/notebooks
FIGURES ?= figures
BIN     := $(VENV)/bin
SHELL   := /bin/bash

.PHONY: install test figures bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

test: install
	$(BIN)/python -m pytest

figures: install
	$(BIN)/python -m hgsr.suite.run_notebooks --profile $(PROFILE) --out $(OUT) --figures $(FIGURES) $(if $(filter default,$(PROFILE)),--readme README.md)

bench: install
	mkdir -p benchmarks/results
	for b in benchmarks/bench_*.py; do n=$$(basename $$b .py); echo "== $$b"; \
	  $(BIN)/python $$b 2>&1 | tee benchmarks/results/$$n.txt; test $${PIPESTATUS[0]} -eq 0 || exit 1; done

clean:
	rm -rf build runs
