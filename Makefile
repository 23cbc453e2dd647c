PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AIRFLOW_VENV ?= .airflow-venv
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed

.PHONY: demo test bench install airflow-venv clean

install: $(STAMP)

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

demo: $(STAMP)
	$(BIN)/python examples/churn/demo.py

test: $(STAMP) $(AIRFLOW_STAMP)
	$(BIN)/python -m pytest -q

# make bench QUICK=1: tiny sizes, to prove the harness (peers' virtualenvs included) in minutes
bench: $(STAMP)
	command -v wrk >/dev/null && test -x /usr/bin/time || apt-get install -y wrk time || (apt-get update -qq && apt-get install -y wrk time)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick)

clean:
	rm -rf .shipyard examples/*/data .bench-results
