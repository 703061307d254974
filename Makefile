# The contract with a newcomer: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SPARK_STAMP := $(VENV)/.installed-spark
export SUDATA_HOME ?= $(CURDIR)/.sudata
export SUDATA_RAW ?= $(CURDIR)/raw
export DAGSTER_HOME ?= $(SUDATA_HOME)/dagster
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false
export DO_NOT_TRACK ?= 1

.PHONY: setup setup-bench setup-spark run lint lint-sql test test-spark ui serve bench soak browser postgres clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The benchmark's own dependencies (the `bench` extra) stay out of the runtime set; its smoke test needs them.
setup-bench: $(BENCH_STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# dbt's Spark target (the `spark` extra: dbt-spark in session mode, pyspark; Java 17 from Debian when missing).
setup-spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(STAMP)
	@if ! command -v java >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq openjdk-17-jre-headless >/dev/null; fi; \
	fi
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $(SPARK_STAMP)

# Debian's PostgreSQL 15 server binaries for the deployment test (tests/test_deploy_postgres.py starts its own).
postgres:
	@if ! test -x /usr/lib/postgresql/15/bin/initdb; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq postgresql-15 >/dev/null; fi; \
	fi

# Debian's chromium and CJK fonts for the browser tests (playwright cannot download its own browser here).
browser:
	@if ! test -x /usr/bin/chromium; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; fi; \
	fi

run: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/sudata run
	$(BIN)/sudata status

lint: setup
	$(BIN)/ruff check .

# The hand-written models, as dbt compiles them (the generated ones are one-line calls of the same macros).
# dbt compiles against a warehouse of its own, so linting needs no pipeline run first.
lint-sql: setup
	$(BIN)/python -m sudata.dbt_codegen >/dev/null
	mkdir -p $(SUDATA_HOME)/lint
	cd dbt_project && SUDATA_HOME=$(SUDATA_HOME)/lint ../$(BIN)/sqlfluff lint models/marts models/intermediate/*.sql models/staging/*.sql

# The suite includes the Spark comparison (the `spark` extra and Java 17, setup-spark); make test-spark runs
# it alone. Two workers (pytest-xdist), a test module each at a time, the longest first (tests/conftest.py): the
# suite's nights use about one core each.
PYTEST_WORKERS ?= 2
test: setup-bench setup-spark browser postgres lint lint-sql
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The nightly job on the sample with dbt on Spark; every published dataset must equal the DuckDB run's.
test-spark: setup-spark
	$(BIN)/python -m pytest tests/test_spark.py -q -m spark

ui: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

serve: setup
	$(BIN)/sudata serve --host 127.0.0.1 --port 8000

bench: setup-bench
	$(BIN)/python -m bench

# 200 clients for 60 s against the portal on the published sample while it is published again; one worker
# process, then four (not part of `make test`; its smoke test is)
soak: setup-bench
	$(BIN)/python -m bench.soak --clients 200 --seconds 60 --workers 1 --workers 4

clean:
	rm -rf .sudata dbt_project/target dbt_project/logs
