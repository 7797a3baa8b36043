# The two commands: `make run` and `make test`. Everything else is here for them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=
# The suite runs on this many pytest-xdist workers (scripts/run-tests): its tests mostly wait
# (on Locust runs, Prometheus, sleeps), so more workers than cores.
export TEST_WORKERS ?= 6

# test-locust-matrix runs the exactness tests on the oldest versions pyproject admits (every
# direct dependency at its declared minimum) and on the newest (every one at its latest).
MATRIX_TESTS ?= tests/system/test_exporter_modes.py tests/unit/test_request_tap.py

.PHONY: run test test-unit install system-deps lint format bench dashboards kubernetes clean lock test-locust-matrix proto docs docs-serve runbooks

# Exact, hash-checked versions from the lock; the project itself on top, without resolving.
# uv (itself from the lock, by pip) installs them: 4 s where pip takes 44 s with no cache.
$(INSTALLED): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	awk '/^uv==/ {found = 1; print; next} found && /^[^ ]/ {exit} found' requirements-dev.lock \
	  > $(VENV)/uv-requirement.txt
	$(BIN)/pip install -q --require-hashes -r $(VENV)/uv-requirement.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --require-hashes -r requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

install: $(INSTALLED)

system-deps:
	scripts/install-system-deps

# Continuous load on the embedded sandbox until Ctrl-C; e.g. make run ARGS="--web -u 50".
run: install
	$(BIN)/securenet-loadgen run $(ARGS)

# When make started: `make test` prints its whole wall time, the install included.
MAKE_STARTED := $(shell date +%s)

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@scripts/run-tests $(PYTEST_ARGS); status=$$?; \
	  echo "make test: $$(( $$(date +%s) - $(MAKE_STARTED) )) s of wall time, install included"; \
	  exit $$status

# The unit tests alone: no processes, no network, under 30 s.
test-unit: install
	$(BIN)/pytest -q tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link or anchor fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8001

# Every alert's runbook_url from mkdocs.yml's site_url (a test checks they agree), then the
# Kubernetes PrometheusRules that carry them.
runbooks: install
	$(BIN)/python prometheus/runbooks.py
	$(BIN)/python deploy/kubernetes/generate.py

bench: install
	$(BIN)/python -m bench $(ARGS)

# Regenerate grafana/dashboards/*.json from grafana/generate.py, and their Kubernetes
# ConfigMaps (tests check both agree).
dashboards: install
	$(BIN)/python grafana/generate.py
	$(BIN)/python deploy/kubernetes/generate.py

# Regenerate deploy/kubernetes/base/generated/ (locustfiles ConfigMap, PrometheusRules,
# dashboard ConfigMaps) from their sources; a test checks they agree. Run after editing
# locustfiles/, prometheus/rules/ or grafana/dashboards/.
kubernetes: install
	$(BIN)/python deploy/kubernetes/generate.py

# Regenerate the protobuf message types from Prometheus' metrics.proto. The protoc of this
# grpcio-tools writes code for protobuf >= 7.35.1, the floor pyproject.toml declares.
PROTO_DIR := service/metrics/exposition/proto
proto: install
	$(BIN)/uv run -q --no-project --with grpcio-tools==1.85.1 python -m grpc_tools.protoc \
	  -I$(PROTO_DIR) --python_out=$(PROTO_DIR) --pyi_out=$(PROTO_DIR) $(PROTO_DIR)/metrics.proto

# Re-pin requirements.lock and requirements-dev.lock after a change to pyproject.toml.
lock: install
	scripts/lock

# The exporter's exactness tests on the oldest and the newest supported Locust (not in
# `make test`: it builds two more virtualenvs).
test-locust-matrix: install system-deps
	for leg in lowest-direct highest; do \
	  rm -rf .venv-$$leg && $(BIN)/uv venv -q -p $(PYTHON) .venv-$$leg && \
	  $(BIN)/uv pip install -q --python .venv-$$leg/bin/python --resolution $$leg -e '.[dev]' && \
	  .venv-$$leg/bin/python -c "import locust; print('$$leg: Locust', locust.__version__)" && \
	  .venv-$$leg/bin/pytest -q $(MATRIX_TESTS) || exit 1; \
	done

clean:
	rm -rf $(VENV) .venv-lowest-direct .venv-highest reports/*.html reports/*.csv .pytest_cache site
