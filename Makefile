# codexlab — the two set-up commands are `make demo` and `make test`; both create .venv if missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench schemas clean notebooks hud-bundle lab

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

$(VENV)/.stamp-jupyter: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[jupyter]"
	@touch $@ $(VENV)/.stamp-core

$(VENV)/.stamp-bench: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test,bench]"
	@touch $@ $(VENV)/.stamp-core

# The HUD's Plotly bundle (codexlab/hud/static/plotly.js): npm registry packages pinned in
# widgets/package-lock.json, bundled once by esbuild. Needs node/npm; without them the HUD draws SVG.
HUD_BUNDLE := codexlab/hud/static/plotly.js
$(HUD_BUNDLE): widgets/package.json widgets/package-lock.json widgets/src/plotly.js codexlab/hud/static/hud.js
	@if command -v npm >/dev/null; then \
	  cd widgets && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	else echo "npm not found: the HUD will draw its charts as SVG (install node and run make hud-bundle for Plotly)"; fi

hud-bundle: $(HUD_BUNDLE)

demo: $(VENV)/.stamp-core
	$(BIN)/codexlab demo

test: $(VENV)/.stamp-test $(HUD_BUNDLE)
	$(BIN)/ruff check codexlab tests benchmarks scripts
	$(BIN)/ruff format --check codexlab tests benchmarks scripts
	$(BIN)/python -m pytest -n 2 -q tests
	$(BIN)/python -m pytest --nbval -p no:cacheprovider -q notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

# JupyterLab on the tour (the HUD needs the jupyter extra; Plotly charts need the bundle, i.e. npm).
lab: $(VENV)/.stamp-jupyter $(HUD_BUNDLE)
	$(BIN)/jupyter lab notebooks/00_tour.ipynb

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check codexlab tests benchmarks scripts
	$(BIN)/ruff format --check codexlab tests benchmarks scripts

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
