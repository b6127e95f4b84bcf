# Two commands do all set-up on a fresh Debian machine with Python 3.11:
#   make run    creates .venv, installs facilitator, starts a server with a sample agenda
#   make test   installs test needs (Chromium, PostgreSQL, HAProxy from Debian if missing) and runs
#               the whole suite
#   make lint   ruff, mypy, and tsc over the browser's JavaScript (Node.js from Debian if missing)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8080
AGENDA ?= agendas/network-night.yaml
# The base of the printed links, e.g. PUBLIC_URL=https://meet.example.org (default: from HOST).
PUBLIC_URL ?=
PYTEST_ARGS ?=
# Tests run in a private network namespace with only loopback, so no media can reach this
# machine's other addresses (root: unshare -n; others: a user namespace, unshare -rn).
UNSHARE := unshare $(shell [ "$$(id -u)" = 0 ] && printf '%s' -n || printf '%s' -rn)
LOOPBACK_ONLY := $(UNSHARE) -- sh -c 'ip link set lo up && exec "$$0" "$$@"'

.PHONY: run test lint format bench bench-network soak chromium test-tools node-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/facilitator serve --host $(HOST) --port $(PORT) --agenda $(AGENDA) \
		$(if $(PUBLIC_URL),--public-url $(PUBLIC_URL))

test-tools:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v ip >/dev/null || [ -x /usr/sbin/ip ] || missing="$$missing iproute2"; \
	command -v unshare >/dev/null || missing="$$missing util-linux"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	command -v tc >/dev/null || [ -x /usr/sbin/tc ] || missing="$$missing iproute2"; \
	command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || missing="$$missing iptables"; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Node.js and npm (Debian's) for TypeScript, which type-checks the browser's JavaScript.
node-tools:
	@missing=""; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# TypeScript and axe-core at the versions pinned in package-lock.json; again only when it changes.
node_modules/.installed: package.json package-lock.json | node-tools
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests inject axe-core (package.json) to check the pages' accessibility.
test: $(VENV)/.test-installed test-tools node_modules/.installed
	PATH="$$PATH:/usr/sbin:/sbin" $(LOOPBACK_ONLY) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The real-network scenarios (bench-network) first, then the standard load scenarios (a few
# minutes): table on screen, JSON under bench/results/; then issue 17's attacks, each while another meeting is measured (about 6 minutes).
# JANUS=1 adds Janus VideoRoom side by side (needs the Debian package: apt-get install janus).
bench: $(VENV)/.test-installed test-tools bench-network
	PATH="$$PATH:/usr/sbin:/sbin" $(LOOPBACK_ONLY) $(BIN)/facilitator loadtest --standard \
		$(if $(JANUS),--janus)
	PATH="$$PATH:/usr/sbin:/sbin" $(LOOPBACK_ONLY) $(BIN)/facilitator loadtest --attacks --duration 10

# One person on a bad link, six people (about 20 minutes): docs/performance.md, "Real networks".
NETBENCH_ARGS ?=
bench-network: $(VENV)/.test-installed test-tools
	PATH="$$PATH:/usr/sbin:/sbin" $(LOOPBACK_ONLY) $(BIN)/facilitator netbench $(NETBENCH_ARGS)

# Long runs: a thousand joins and leaves must not leak memory, tasks or descriptors.
soak: $(VENV)/.test-installed test-tools
	PATH="$$PATH:/usr/sbin:/sbin" $(LOOPBACK_ONLY) $(BIN)/python -m pytest -m soak -s tests/soak

lint: $(VENV)/.test-installed node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node_modules/.bin/tsc --noEmit -p .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache test-artifacts
