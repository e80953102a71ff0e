# The README's commands. Every target installs what it needs itself (idempotent, fast the
# second time thanks to the stamp file).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/vellum serve

lint: install
	$(BIN)/ruff check backend workers tests bench
	$(BIN)/ruff format --check backend workers tests bench

typecheck: install
	$(BIN)/mypy --strict backend workers  # backend/domain included

test: install lint typecheck
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: install
	@: > bench/results.jsonl
	@set -o pipefail; for b in $$(ls bench/[!_]*.py); do \
		echo "== $$b" >&2; \
		$(BIN)/python $$b | tee -a bench/results.jsonl || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
