# Two commands set everything up: `make run` and `make test`.
PORT ?= 8000
REDIS_PORT ?= 6380
DATA_DIR ?= ./var
export PORT REDIS_PORT DATA_DIR

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

# Compiled modules are kept (in __pycache__, which git ignores) even where the environment sets
# PYTHONDONTWRITEBYTECODE: otherwise every test process, and every service process a test or
# `make run` starts, compiles the whole code base again (an eighth of make test-fast's CPU).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast screenshots lint bench chaos soak scale failover migrate install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The benchmark's own extras (FastStream), never part of the runtime; lint type-checks bench/ with them.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(BENCH_STAMP)

## make run: the whole system in the foreground (Redis included); Ctrl-C stops it.
run: install
	scripts/ensure-redis.sh
	mkdir -p $(DATA_DIR)/redis
	$(VENV)/bin/honcho start -f Procfile

# Every database's migration history (workers/eventing/schema.py); the web, the projector and
# every worker also migrate their own database when they start.
MIGRATIONS := workers.catalog.migrations workers.orders.migrations workers.payments.migrations \
	workers.warehouse.migrations workers.shipping.migrations workers.email.migrations app.migrations

## make migrate: every service's database (under DATA_DIR, or its <SERVICE>_DATABASE_URL) to its newest revision.
migrate: install
	$(PY) -m workers.eventing.migrate $(MIGRATIONS)

## make scale: two web processes behind HAProxy on PORT, two replicas of every worker, one
## projector, PostgreSQL per service, Redis with a replica and three sentinels; Ctrl-C stops it.
scale: install
	scripts/ensure-redis.sh
	scripts/ensure-scale.sh
	$(PY) -m scale

## make failover: the scaled layout under load, its Redis primary and a web process kill -9ed; once
## with WAIT (nothing lost) and once without (how many acknowledged events are lost). Also in make test.
failover: install
	scripts/ensure-redis.sh
	scripts/ensure-scale.sh
	$(PY) -m scale.failover
	$(PY) -m scale.failover --no-wait

## make test: the whole suite, against real Redis servers, SQLite, PostgreSQL and Chromium.
test: install
	scripts/ensure-redis.sh
	scripts/ensure-chromium.sh
	scripts/ensure-scale.sh
	$(PY) -m pytest -n 4 --dist loadscope --no-loadscope-reorder

## make test-fast: the suite without the whole-stack and browser tests.
test-fast: install
	scripts/ensure-redis.sh
	$(PY) -m pytest -n 4 --dist loadscope --no-loadscope-reorder -m "not stack and not browser"

## make screenshots: refresh the README's pictures in docs/screenshots (make test takes them into a scratch folder).
screenshots: install
	scripts/ensure-redis.sh
	scripts/ensure-chromium.sh
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/browser/test_screenshots.py

lint: $(BENCH_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## make bench: backbone (with FastStream as a peer), live push and the whole stack end to end.
## Smaller: BENCH_EVENTS=5000 BENCH_ROUNDS=1 BENCH_SOCKETS=200 BENCH_ORDERS=300 BENCH_RATE_S=5 make bench
bench: $(BENCH_STAMP)
	scripts/ensure-redis.sh
	scripts/ensure-scale.sh
	$(PY) -m bench

## make chaos: orders through the whole stack under kill -9, Redis crashes, SIGSTOP and duplicates;
## checks the invariants and writes docs/reliability.md. CHAOS_ARGS="--orders 300 --rate 20 --seed 7".
chaos: install
	scripts/ensure-redis.sh
	$(PY) -m chaos $(CHAOS_ARGS)

## make soak: a steady load (SOAK_RATE orders/s, default 20) for SOAK_S seconds (default 1800) through
## the whole stack; prints Redis memory, stream lengths, database sizes, RSS and p99 over time.
soak: install
	scripts/ensure-redis.sh
	$(PY) -m bench.soak

clean:
	rm -rf $(VENV) $(DATA_DIR)
