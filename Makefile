# Two commands on a fresh machine: `make serve` and `make test`.
# Both create the virtual environment and install everything on first run.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8765
# JavaScript SDK, dashboard and browser tests (targets below)
NPM         ?= npm
NODE        ?= node
JS_DIR      := clients/js
JS_STAMP    := $(JS_DIR)/node_modules/.installed
JS_BUILD    := $(JS_DIR)/dist/index.js
BROWSER_DIR := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed
CHROMIUM    ?= /usr/bin/chromium
# The cluster tests (tests/cluster) start their own redis-server on a free loopback port;
# scripts/install_redis.sh installs Debian's package when it is missing.
REDIS_SERVER ?= /usr/bin/redis-server

.PHONY: serve test test-py test-fast setup wheel clean bench soak js-setup js-build js-types js-docs test-js browser-setup test-browser redis-setup

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) (first run only; log in $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@( $(PY) -m pip install --upgrade pip 'setuptools>=68' wheel && $(PY) -m pip install -e '.[test]' ) \
		> $(VENV)/install.log 2>&1 \
		|| { tail -40 $(VENV)/install.log; echo "install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

# The per-frame hot path compiled with mypyc into build/hotpath/ (scripts/build_fast.py; gateway/compiled.py lists the
# modules): rebuilt when one changes. Without a C compiler the gateway runs them as plain Python.
FAST_SOURCES := protocol/media.py gateway/media/framing.py gateway/media/level.py gateway/media/vad.py \
	gateway/media/playout.py gateway/backends/local/room.py gateway/backends/local/transport.py \
	gateway/net/connection.py gateway/session/link.py gateway/session/session.py gateway/session/receiver.py \
	gateway/session/tracks.py gateway/session/outbox.py
FAST_STAMP   := build/fast/.built

$(FAST_STAMP): $(STAMP) $(FAST_SOURCES) scripts/build_fast.py gateway/compiled.py setup.py
	@echo "compiling the hot path with mypyc (log in build/fast.log)"
	@mkdir -p build
	@if $(PY) scripts/build_fast.py > build/fast.log 2>&1; then mkdir -p build/fast && touch $@; \
	else tail -20 build/fast.log; echo "warning: hot path not compiled; the gateway runs it as plain Python"; fi

setup: $(STAMP) $(FAST_STAMP)

serve: $(STAMP) $(FAST_STAMP) $(JS_BUILD)
	$(VENV)/bin/daily-gateway --host $(HOST) --port $(PORT) --backend local --demo

# pytest runs in parallel (pytest-xdist); markers (tests/conftest.py) select parts:
# `make test-fast` runs the unit tests not marked slow (tests over about a second: real-time playout,
# speech recognition, the real daily-python offline), in well under a minute.
# Two workers per core: most end-to-end tests wait on real-time audio, not the CPU (2 cores: 4:20
# against 6:05 with one per core, measured in one session on a shared machine).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

test: $(STAMP) $(FAST_STAMP) $(JS_BUILD) $(REDIS_SERVER)
	REDIS_SERVER=$(REDIS_SERVER) $(PY) -m pytest -q -n $(PYTEST_WORKERS) --durations=15
	@$(MAKE) --no-print-directory test-js test-browser

test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "unit and not slow"

# The whole product as one installable file: the gateway, the Python client, the compiled hot
# path, the dashboard and the built JS SDK (setup.py). `pip install dist/daily_ws_gateway-*.whl`.
wheel: $(STAMP) $(JS_BUILD)
	rm -rf build/lib build/bdist.* dist/daily_ws_gateway-*.whl
	$(PY) -m pip wheel --no-deps --no-build-isolation -w dist .

# ---------------------------------------------------------------- JavaScript SDK, dashboard, browser
# The SDK (clients/js) is TypeScript built to clients/js/dist, which the gateway serves at /sdk/
# for the dashboard; it is built here, not committed. Browser tests drive Debian's chromium with
# playwright-core (tests/browser); scripts/install_chromium.sh installs it when it is missing.

$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@echo "installing the JS SDK's packages (first run only)"
	@cd $(JS_DIR) && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(JS_BUILD): $(JS_STAMP) $(JS_DIR)/tsconfig.json $(JS_DIR)/tsconfig.cjs.json $(wildcard $(JS_DIR)/src/*.ts)
	@cd $(JS_DIR) && $(NPM) run --silent build
	@touch $@

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	@cd $(BROWSER_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHROMIUM):
	@scripts/install_chromium.sh

# redis-server for the cluster tests (and `daily-gateway --workers N` without --redis-url).
$(REDIS_SERVER):
	@REDIS_SERVER=$@ scripts/install_redis.sh

redis-setup: $(REDIS_SERVER)

js-setup: $(JS_STAMP)

js-build: $(JS_BUILD)

# The SDK's wire types (clients/js/src/wire.ts) are generated from protocol/schema/ with
# json-schema-to-typescript: run this after changing a schema (test-js fails while it is stale).
js-types: $(JS_STAMP)
	cd $(JS_DIR) && $(NODE) scripts/generate-wire.mjs

# The SDK's API reference (TypeDoc, from the doc comments) in clients/js/docs/api/.
js-docs: $(JS_STAMP)
	cd $(JS_DIR) && $(NPM) run --silent docs

test-js: $(STAMP) $(JS_BUILD)
	cd $(JS_DIR) && $(NODE) --test --test-reporter=spec test/

browser-setup: $(BROWSER_STAMP) $(CHROMIUM)

test-browser: $(STAMP) $(JS_BUILD) browser-setup
	cd $(BROWSER_DIR) && CHROMIUM=$(CHROMIUM) $(NODE) --test --test-reporter=spec --test-concurrency=1 ./

clean:
	-$(PY) scripts/build_fast.py --clean
	rm -rf $(VENV) build dist *.egg-info

# Capacity/latency benchmark (bench/README.md): ~35-50 min; `--duration 10` for a quick pass.
BENCH_ARGS ?= --confirm
bench: $(STAMP) $(FAST_STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

# Soak (bench/soak.py): clients with random drops, resumes and bad frames; report in bench/results/soak-<date>.md.
SOAK_ARGS ?= --duration 300 --clients 24 --rooms 6
soak: $(STAMP) $(FAST_STAMP)
	$(PY) bench/soak.py $(SOAK_ARGS)
