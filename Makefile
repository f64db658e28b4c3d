# codexlab — the two set-up commands are `make demo` and `make test`; both create .venv if missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench schemas clean notebooks lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps re-run the install when pyproject.toml changes.
# An editable install skips data files, so the one that enables the service in the environment's Jupyter
# servers (what a wheel installs into etc/jupyter) is copied by hand.
SERVER_CONFIG := jupyter-config/jupyter_server_config.d/codexlab.json
ENABLE_SERVER = mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d && cp $(SERVER_CONFIG) $(VENV)/etc/jupyter/jupyter_server_config.d/

$(VENV)/.stamp-core: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test]"
	$(ENABLE_SERVER)
	@touch $@ $(VENV)/.stamp-core

$(VENV)/.stamp-jupyter: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[jupyter]"
	$(ENABLE_SERVER)
	@touch $@ $(VENV)/.stamp-core

$(VENV)/.stamp-bench: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test,bench]"
	@touch $@ $(VENV)/.stamp-core

demo: $(VENV)/.stamp-core
	$(BIN)/codexlab demo

test: $(VENV)/.stamp-test
	$(BIN)/ruff check codexlab tests benchmarks scripts
	$(BIN)/ruff format --check codexlab tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q tests
	$(BIN)/python -m pytest --nbval -p no:cacheprovider -q notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

# JupyterLab on the tour (the HUD needs the jupyter extra; its Plotly comes from the `plotly` package).
lab: $(VENV)/.stamp-jupyter
	$(BIN)/jupyter lab notebooks/00_tour.ipynb

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check codexlab tests benchmarks scripts
	$(BIN)/ruff format --check codexlab tests benchmarks scripts
	$(BIN)/mypy

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
	$(BIN)/python benchmarks/scale_bench.py
	$(BIN)/python benchmarks/server_bench.py

schemas: $(VENV)/.stamp-core
	$(BIN)/codexlab schemas

clean:
	rm -rf $(VENV) .codexlab .pytest_cache .hypothesis
