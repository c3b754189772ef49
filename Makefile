# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two installs into one virtualenv: the runtime alone for `make demo` (no Playwright, no
# test tools), and the test extra for everything that lints, tests or measures. Each has its
# stamp; the test stamp keeps the old name, so an existing .venv is not reinstalled.
RUNTIME_STAMP := $(VENV)/.installed-runtime
TEST_STAMP := $(VENV)/.installed
AUDIT := $(BIN)/pip-audit --progress-spinner off --strict --skip-editable
AUDIT_PROBE := https://pypi.org/pypi/pip/24.0/json

.PHONY: demo test audit lint format bench clean i18n-extract i18n-update i18n-init

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME_STAMP)

# The test extra includes the runtime, so its stamp marks both as installed.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(TEST_STAMP) $(RUNTIME_STAMP)

# PORT=8090 make demo serves on another port (default 8080).
demo: $(RUNTIME_STAMP)
	$(BIN)/complaint-gateway demo $(if $(PORT),--port $(PORT))

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	@if $(BIN)/python -c "import urllib.request as u; u.urlopen('$(AUDIT_PROBE)', timeout=15)" \
		2>/dev/null; then $(AUDIT); \
	else echo "pip-audit NOT RUN: $(AUDIT_PROBE) does not answer from this machine"; fi
	@# The tests start the gateway in hundreds of fresh interpreters; where bytecode is not
	@# written at import (PYTHONDONTWRITEBYTECODE=1), each compiled every module again.
	$(BIN)/python -m compileall -q -j 0 gateway channels tests bench
	$(BIN)/pytest -n 6

# Known vulnerabilities in the installed dependencies, from PyPI's advisory data
# (pypi.org/pypi/<name>/<version>/json); the project itself (editable) is not audited, and
# --strict fails on a dependency that cannot be checked. `make test` runs it wherever that
# data answers and says so where it does not (a mirror serving only the simple index).
audit: $(TEST_STAMP)
	$(AUDIT)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Translations: extract every marked string into i18n/messages.pot, then merge
# it into each catalog (new strings come in empty; nothing is guessed, so no
# fuzzy entries). gateway.core.i18n.gettext takes the message second: -k gettext:2.
i18n-extract: $(TEST_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k gettext:2 -c Translators: --add-location=file \
		--project=complaint-gateway --version=0.1.0 -o i18n/messages.pot .

i18n-update: $(TEST_STAMP)
	$(BIN)/pybabel update -i i18n/messages.pot -d i18n -D messages --no-fuzzy-matching \
		--ignore-obsolete --ignore-pot-creation-date

i18n-init: $(TEST_STAMP)
	$(BIN)/pybabel init -i i18n/messages.pot -d i18n -D messages -l $(LOCALE)

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
