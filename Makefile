PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/churn/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

# make bench QUICK=1: tiny sizes, to prove the harness (peers' virtualenvs included) in minutes
bench: $(STAMP)
	command -v wrk >/dev/null && test -x /usr/bin/time || apt-get install -y wrk time || (apt-get update -qq && apt-get install -y wrk time)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick)

clean:
	rm -rf .shipyard examples/*/data .bench-results
