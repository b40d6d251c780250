# ibbroker: `make run` starts the broker on the built-in simulator; `make test` runs every check.
# Both create or update .venv first, so they work on a fresh machine with only python3 and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# `make run` options: the broker's gRPC address, the embedded simulator's API port and the
# store file (IBBROKER_STORE from the environment is kept). A second broker needs its own
# LISTEN, SIM_PORT and STORE.
LISTEN ?= 127.0.0.1:50051
SIM_PORT ?= 4002
STORE ?= $(or $(IBBROKER_STORE),var/ibbroker.sqlite3)
NODE_DIR := clients/node

.PHONY: install run test lint typecheck proto proto-check breaking bench docs clean node-test

install: $(STAMP)

$(STAMP): pyproject.toml broker_client/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# ib_insync's `eventkit` and ib_async's `aeventkit` install the same module; both
	@# libraries run on aeventkit's copy, so install it last, deliberately.
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall 'aeventkit==2.1.0'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/ibbroker serve --sim --listen $(LISTEN) --sim-port $(SIM_PORT) --store $(STORE)

lint: $(STAMP)
	$(BIN)/lint-imports --no-logo
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd protos && ../$(BIN)/buf lint && ../$(BIN)/buf format --diff --exit-code

typecheck: $(STAMP)
	$(BIN)/mypy

proto: $(STAMP) $(NODE_DIR)/node_modules/.package-lock.json
	$(BIN)/python tools/gen_protos.py
	$(BIN)/python tools/gen_proto_assets.py

proto-check: $(STAMP)
	$(BIN)/python tools/gen_protos.py --check

# Compare the protos with those on the main branch (fails on a breaking change).
breaking: $(STAMP)
	cd protos && ../$(BIN)/buf breaking --against '../.git#branch=main,subdir=protos'

docs: $(STAMP)
	$(BIN)/python tools/config_table.py --write

# The Node client's tests (clients/node) start real brokers from .venv; npm ci runs only when
# node_modules is missing or older than the lockfile.

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

node-test: $(STAMP) $(NODE_DIR)/node_modules/.package-lock.json
	cd $(NODE_DIR) && npm test

test: lint typecheck proto-check node-test
	$(BIN)/python tools/config_table.py --check
	$(BIN)/pytest

bench: $(STAMP) $(NODE_DIR)/node_modules/.package-lock.json
	@# A progress bar on stderr for the long ones (benchmarks/progress.py); figures on stdout.
	@for b in benchmarks/bench_*.py benchmarks/soak_*.py; do echo "== $$b"; IBBROKER_BENCH_PROGRESS=1 $(BIN)/python $$b || exit 1; done
	$(BIN)/python benchmarks/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis var $(NODE_DIR)/node_modules
