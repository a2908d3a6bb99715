# make test     install into .venv if needed, then run the test suite
# make figures  install into .venv if needed, then run every notebook headless (PROFILE=default); ONLY="07" or
#               ONLY="02 07" runs those alone and keeps the others' manifest entries. Every run and compact network
#               is cached under runs/ as it finishes, so an interrupted `make figures` resumes where it stopped
# make dense-start / hgsr-start / finetuned   the committed ResNet-20 artifacts of notebook 06 (data/pretrained/, each
#                    with a card; resumable per epoch under runs/pretrain/; a GPU is used when present)
# make lenet-budget  notebook 07's budget stage (the leading LeNet-5 families trained 10 and 20 epochs), committed as
#                    data/budget/lenet_budget_$(PROFILE).csv with a card; every task cached under runs/ as it finishes
# make site      the course site (hgsr/suite/site.py) from the executed notebooks in OUT (build/notebooks, made by
#                make figures) into SITE (build/site, beside OUT); works offline: open build/site/index.html
# make test-browser  the widget notebooks in a real JupyterLab in headless Chromium (tests/browser/lab_check.py), then
#                    a small course site checked offline in it (tests/browser/site_check.py): installs Playwright
#                    into .venv, and Chromium with apt-get when it is missing and we are root
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= default
OUT     ?= build/notebooks
FIGURES ?= figures
SITE    ?= $(dir $(OUT:/=))site
CHROMIUM ?= /usr/bin/chromium
BIN     := $(VENV)/bin
SHELL   := /bin/bash

.PHONY: install test test-browser figures site bench clean dense-start hgsr-start finetuned lenet-budget timings cold-time

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,site]'
	touch $@

test: install
	$(BIN)/python -m pytest

$(VENV)/.browser-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,site,browser]'
	touch $@

test-browser: $(VENV)/.browser-installed
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "test-browser: no $(CHROMIUM); apt-get install chromium"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || exit 1; \
	  else \
	    echo "test-browser: no Chromium at $(CHROMIUM); install it (apt-get install chromium, as root) or pass CHROMIUM=/path/to/chromium" >&2; exit 1; \
	  fi; \
	fi
	$(BIN)/python tests/browser/lab_check.py --chromium $(CHROMIUM) --timeout 900
	$(BIN)/python tests/browser/site_check.py --chromium $(CHROMIUM)

figures: install
	$(BIN)/python -m hgsr.suite.run_notebooks --profile $(PROFILE) --out $(OUT) --figures $(FIGURES) $(if $(ONLY),--only $(ONLY)) $(if $(filter default,$(PROFILE)),--readme README.md)
	$(MAKE) site OUT=$(OUT) SITE=$(SITE)

site: install
	$(BIN)/python -m hgsr.suite.site --source $(OUT) --dest $(SITE)

bench: install
	mkdir -p benchmarks/results
	for b in benchmarks/bench_*.py; do n=$$(basename $$b .py); echo "== $$b"; \
	  $(BIN)/python $$b 2>&1 | tee benchmarks/results/$$n.txt; test $${PIPESTATUS[0]} -eq 0 || exit 1; done
	$(BIN)/python benchmarks/bench_scoring.py --model hgsr 2>&1 | tee benchmarks/results/bench_scoring_hgsr.txt; test $${PIPESTATUS[0]} -eq 0

clean:
	rm -rf build runs

dense-start: install
	$(BIN)/python -m hgsr.study.dense_start resnet20_cifar10

hgsr-start: install
	$(BIN)/python -m hgsr.study.regularized_start resnet20_cifar10_hgsr

lenet-budget: install
	$(BIN)/python -m hgsr.study.budget --profile $(PROFILE)

finetuned: install
	$(BIN)/python -m hgsr.study.finetuned_start --seeds 0 1 2

# cold wall times, each from an empty runs cache (data/timings/): the smoke profile in order, and 08 alone
timings: install
	$(BIN)/python -m hgsr.suite.timings smoke --profile smoke
	$(BIN)/python -m hgsr.suite.timings smoke_08_alone --profile smoke --only 08
	$(BIN)/python -m hgsr.suite.readme

# one notebook of the default profile from an empty runs cache, e.g. make cold-time ONLY=07 (07: about 2 hours);
# KEEP=DIR keeps the run's figures, executed notebooks and runs cache in DIR (a new folder)
cold-time: install
	@test -n "$(ONLY)" || { echo "cold-time: name one notebook, e.g. make cold-time ONLY=07" >&2; exit 1; }
	$(BIN)/python -m hgsr.suite.timings cold_$(ONLY) --profile default --only $(ONLY) $(if $(KEEP),--keep $(KEEP))
	$(BIN)/python -m hgsr.suite.readme
