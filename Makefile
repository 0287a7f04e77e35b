# Two commands on a fresh machine with Python 3.11+ and make:
#   make run    the portal on embedded defaults (SQLite, filesystem broker, cloudsim)
#   make test   the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck format security screenshots cloudsim bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m portal.demo

test: $(STAMP)
	@test -f node_modules/axe-core/axe.min.js || ! command -v npm >/dev/null || \
		npm install --no-save --silent --no-audit --no-fund axe-core@4 >/dev/null 2>&1 || true
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# mypy with django-stubs and celery-types on the packages listed in pyproject's [tool.mypy].
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

security: $(STAMP)
	.ci/security

cloudsim: $(STAMP)
	$(BIN)/python -m cloudsim

bench: $(STAMP)
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/pages.py

# Refresh the README's screenshots from the last browser-test run.
screenshots:
	mkdir -p docs/screenshots
	cp test-artifacts/screenshots/*.png docs/screenshots/

clean:
	rm -rf var staticfiles
