# The two commands: `make run` and `make test`. Everything else is here for them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test install system-deps lint format bench dashboards clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED)

system-deps:
	scripts/install-system-deps

# Continuous load on the embedded sandbox until Ctrl-C; e.g. make run ARGS="--web -u 50".
run: install
	$(BIN)/securenet-loadgen run $(ARGS)

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench $(ARGS)

# Regenerate grafana/dashboards/*.json from grafana/generate.py (a test checks they agree).
dashboards: install
	$(BIN)/python grafana/generate.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.csv .pytest_cache
