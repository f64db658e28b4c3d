# codexlab — the two set-up commands are `make demo` and `make test`; both create .venv if missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench schemas clean notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps re-run the install when pyproject.toml changes.
$(VENV)/.stamp-core: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test]"
	@touch $@ $(VENV)/.stamp-core

$(VENV)/.stamp-bench: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test,bench]"
	@touch $@ $(VENV)/.stamp-core

demo: $(VENV)/.stamp-core
	$(BIN)/codexlab run data/scrolls/tour.codex
	$(BIN)/codexlab run data/scrolls/spe.codex --flag SPE_AUTO_FUSE=1

test: $(VENV)/.stamp-test
	$(BIN)/ruff check codexlab tests benchmarks scripts
	$(BIN)/python -m pytest -n 2 -q tests
	$(BIN)/python -m pytest --nbval -p no:cacheprovider -q notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

notebooks: $(VENV)/.stamp-test
	$(BIN)/python notebooks/build_notebooks.py

bench: $(VENV)/.stamp-bench
	$(BIN)/python benchmarks/parse_bench.py
	$(BIN)/python benchmarks/store_bench.py
	$(BIN)/python benchmarks/kernels_bench.py
	$(BIN)/python benchmarks/pipeline_bench.py
	$(BIN)/python benchmarks/fusion_bench.py
	$(BIN)/python benchmarks/kg_bench.py
	$(BIN)/python benchmarks/governance_bench.py

schemas: $(VENV)/.stamp-core
	$(BIN)/codexlab schemas

clean:
	rm -rf $(VENV) .codexlab .pytest_cache .hypothesis
