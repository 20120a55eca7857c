# Each target creates .venv on first use; nothing is installed outside it but
# Debian's redis-server (the reference the differential tests compare against).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
APT    := $(shell command -v apt-get 2>/dev/null)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench lint redis-server clean

run: $(VENV)/.installed
	$(VENV)/bin/redwood serve --port 6379 --bind 127.0.0.1 --dir ./data --appendfsync always

# The whole suite runs once per durable backend (REDWOOD_TEST_BACKEND picks the servers' one).
test: $(VENV)/.installed-test redis-server
	$(PY) -m pytest -q $(PYTEST_ARGS)
	REDWOOD_TEST_BACKEND=sqlite $(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed-test redis-server
	$(PY) -m bench $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(PY) -m compileall -q engine backends server replication migrations tests bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { [ -n "$(APT)" ] && $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

# The differential tests need the real thing, and the TLS tests the openssl CLI
# (to make their throwaway certificates). Installed from Debian's packages when
# missing and apt is usable; otherwise those tests skip (or fail, with CI=true).
redis-server:
	@{ command -v redis-server && command -v openssl; } >/dev/null || { [ -n "$(APT)" ] && \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq redis-server redis-tools openssl >/dev/null; } || \
	  echo "redis-server or openssl is not installed and apt is not usable: differential and TLS tests will skip"

clean:
	rm -rf $(VENV) data
