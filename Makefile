# Reupload Radar: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo review test lint types unit bench clean tools

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/radar demo --report demo-report.json

review: $(STAMP)
	$(BIN)/radar review --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

# Pinned deployment check tools (kustomize, kubernetes-validate, check-jsonschema,
# hadolint) in a cache folder; idempotent, needs Go and PyPI. tests/k8s uses them.
tools:
	$(PYTHON) deploy/tools.py install

unit: $(STAMP) tools
	$(BIN)/pytest

test: lint types unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-report.json demo-output review-demo
