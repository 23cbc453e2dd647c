PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dashboard: web/ built by Vite into the package, so that the wheel serves it without Node
WEB_BUILD := src/shipyard/server/static/index.html
WEB_DEPS := web/node_modules/.package-lock.json
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json web/package-lock.json \
	web/vite.config.ts web/tsconfig.json
AIRFLOW_VENV ?= .airflow-venv
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
TEST_WORKERS ?= 3

.PHONY: demo test bench install airflow-venv clean web web-check wheel

install: $(STAMP) $(WEB_BUILD)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Apache Airflow 3 in a virtualenv of its own, for the tests that run exported DAGs on a real Airflow
airflow-venv: $(AIRFLOW_STAMP)

$(AIRFLOW_STAMP): deploy/airflow/requirements.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -r deploy/airflow/requirements.txt
	touch $(AIRFLOW_STAMP)

demo: $(STAMP) $(WEB_BUILD)
	$(BIN)/python examples/churn/demo.py

# the suite on pytest-xdist workers (most of it waits on subprocesses and sockets, so more workers than cores);
# a module is one unit of work (its module-scoped fixtures built once), in tests/conftest.py's order: slow ones first;
# then the tests that measure time under a load of their own, with nothing else running.
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): every pytest worker and
# the hundreds of `shipyard` processes the tests start would otherwise compile the sources and rewrite the
# test modules' asserts again
test: export PYTHONDONTWRITEBYTECODE =
test: $(STAMP) $(AIRFLOW_STAMP) web-check $(WEB_BUILD)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not alone"
	$(BIN)/python -m pytest -q -m alone

web: $(WEB_BUILD)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build

# type check, lint and component tests of the dashboard
web-check: $(WEB_DEPS)
	cd web && npm run check

# the wheel, dashboard included (checked: a wheel without it would serve only the "not built" page)
wheel: $(STAMP) $(WEB_BUILD)
	rm -rf dist && $(BIN)/pip wheel --quiet --no-deps -w dist .
	$(BIN)/python -c "import glob, sys, zipfile; names = zipfile.ZipFile(glob.glob('dist/shipyard-*.whl')[0]).namelist(); \
	  sys.exit(0 if 'shipyard/server/static/index.html' in names and any(n.startswith('shipyard/server/static/assets/') for n in names) \
	  else 'the wheel lacks the dashboard (shipyard/server/static)')"

# make bench QUICK=1: tiny sizes, to prove the harness (peers' virtualenvs included) in minutes
bench: $(STAMP)
	command -v wrk >/dev/null && test -x /usr/bin/time || apt-get install -y wrk time || (apt-get update -qq && apt-get install -y wrk time)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick)

clean:
	rm -rf .shipyard examples/*/data .bench-results dist src/shipyard/server/static
