# consult — `make run` serves the demo, `make test` passes the whole suite.
# Both set up everything they need on a fresh machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
FLASK := $(BIN)/flask --app wsgi
STAMP_PY := $(VENV)/.installed
STAMP_ASSETS := consult/static/govuk/.installed
STAMP_MO := translations/.compiled

.PHONY: help setup run test lint typecheck test-sqlite test-postgres test-browser system-deps \
        assets translations extract-messages migrate migration seed bench bench-r clean

help: ## List the commands
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP_PY): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(STAMP_ASSETS): package.json
	npm install --no-audit --no-fund --loglevel=error
	rm -rf consult/static/govuk consult/static/images
	mkdir -p consult/static/govuk consult/static/images
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js consult/static/govuk/
	cp -r node_modules/govuk-frontend/dist/govuk/assets/images/. consult/static/images/
	@# The GDS Transport typeface is GOV.UK's brand, not ours: drop its @font-face
	@# rules so browsers never ask for font files we do not serve.
	$(PYTHON) -c "import re,sys; p=sys.argv[1]; css=open(p).read(); open(p,'w').write(re.sub(r'@font-face\{[^}]*\}', '', css))" consult/static/govuk/govuk-frontend.min.css
	touch $@

$(STAMP_MO): $(STAMP_PY) $(wildcard translations/*/LC_MESSAGES/messages.po)
	$(BIN)/pybabel compile --statistics -d translations 2>&1 | grep -v "^$$" || true
	$(BIN)/pybabel compile -d translations >/dev/null
	touch $@

setup: $(STAMP_PY) $(STAMP_ASSETS) $(STAMP_MO) ## Create the virtualenv, install Python and npm dependencies, compile translations

assets: $(STAMP_ASSETS)
translations: $(STAMP_MO)

extract-messages: $(STAMP_PY) ## Refresh translations/messages.pot and merge it into every catalogue
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

migrate: setup ## Apply database migrations (SQLite in instance/ unless DATABASE_URL is set)
	$(FLASK) db upgrade

migration: setup ## Regenerate the initial migration from the models (before the first release only)
	bash scripts/regenerate-migration.sh

seed: migrate ## Seed the demo partnership, accounts and survey (idempotent)
	$(FLASK) consult seed-demo

run: seed ## Set up, migrate, seed the demo and serve on http://127.0.0.1:$(PORT)
	@echo "consult: http://127.0.0.1:$(PORT)/s/feeling-safe  (officers: http://127.0.0.1:$(PORT)/sign-in)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

system-deps: ## Install Chromium, Noto fonts and start PostgreSQL/Redis where missing (root)
	bash scripts/system-deps.sh

lint: $(STAMP_PY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check consult tests bench config.py wsgi.py

typecheck: $(STAMP_PY)
	$(BIN)/mypy consult

test-sqlite: setup
	CONSULT_TEST_DB=sqlite $(BIN)/pytest

test-postgres: setup
	CONSULT_TEST_DB=postgresql TEST_PG_URL=$(TEST_PG_URL) $(BIN)/pytest -m "not browser"

test: setup system-deps lint typecheck test-sqlite test-postgres ## Lint, type-check, then the whole suite on SQLite and PostgreSQL

bench: setup ## Run the benchmarks (figures and ratios against a reference)
	$(BIN)/python bench/bench_weighting.py

bench-r: setup ## Cross-check the analysis against R's survey package
	bash scripts/bench-deps.sh
	$(BIN)/python bench/crosscheck_r.py

clean: ## Remove the virtualenv, installed assets and compiled catalogues
	rm -rf $(VENV) node_modules consult/static/govuk consult/static/images $(STAMP_MO) translations/*/LC_MESSAGES/*.mo
