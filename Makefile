# Developer commands; `make pr` is what a pull request must pass (and what CI runs, see .ci/run).
# The venv is the README Quickstart's: python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?= -q -n 2
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: dev pr lint format typecheck test synth bench

dev:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[dev]'

pr: lint typecheck test

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# What is checked, and how strictly, is in pyproject.toml [tool.mypy].
typecheck:
	$(VENV)/bin/mypy

test:
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# Offline: no Docker, no AWS credentials (cdk.json's app command, without the CDK CLI); writes cdk.out/.
synth:
	$(PYTHON) app.py

# The cold-start and validate benchmarks; the others (bench_manifests.py, consolidation_quality.py, ...)
# take longer: see benchmarks/README.md.
bench:
	$(PYTHON) benchmarks/bench_cold_start.py
	$(PYTHON) benchmarks/bench_validate.py
