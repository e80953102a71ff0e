# The README's commands. Every target installs what it needs itself (idempotent, fast the
# second time thanks to the stamp file).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

WEB_STAMP := web/node_modules/.installed
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/package.json

.PHONY: install run test lint typecheck web webtest chromium bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $(STAMP)

install: $(STAMP)

# The browser UI: npm packages from the lock file, then a production build into web/dist,
# which `vellum serve` serves at /. Rebuilt only when a source file changed.
$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_STAMP)

web/dist/index.html: $(WEB_STAMP) $(WEB_SRC)
	cd web && npm run --silent build
	@touch web/dist/index.html

web: web/dist/index.html

webtest: $(WEB_STAMP)
	cd web && npx tsc -b && npx vitest run --reporter=dot

chromium:
	@ops/ensure-chromium.sh

run: install web
	$(BIN)/vellum serve

lint: install
	$(BIN)/ruff check backend workers tests bench
	$(BIN)/ruff format --check backend workers tests bench

typecheck: install
	$(BIN)/mypy --strict backend workers  # backend/domain included

test: install lint typecheck web webtest chromium
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: install
	@: > bench/results.jsonl
	@set -o pipefail; for b in $$(ls bench/[!_]*.py); do \
		echo "== $$b" >&2; \
		$(BIN)/python $$b | tee -a bench/results.jsonl || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
