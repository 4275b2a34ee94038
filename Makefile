# linli — the verbs a newcomer needs. Only Python >= 3.11 and make are required.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
DEMO_HOUSEHOLDS ?= 2000
ONLY ?=

# Settings come from the environment; a .env file (see .env.example) is read when present.
ifneq (,$(wildcard .env))
include .env
export
endif

# Compiled modules are kept (__pycache__, ignored by git) even where the environment says not to write
# them: every test process would otherwise compile the project and rewrite the tests' asserts anew (~12 s
# of each pytest worker's start on a slow machine).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run install install-dev migrate demo test lint typecheck bench messages clean

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --no-input -v0

demo: migrate
	$(PY) manage.py seed_demo --households $(DEMO_HOUSEHOLDS) --if-empty

## make run: install, migrate the SQLite database, load the demo street if empty, serve on $(PORT)
run: demo
	$(PY) manage.py collectstatic --no-input -v0
	$(PY) manage.py demo_accounts
	$(VENV)/bin/granian --interface wsgi --host $(HOST) --port $(PORT) --workers 2 --blocking-threads 4 --respawn-failed-workers linli.wsgi:application

## make test: lint, types, Django checks, migrations check, then the whole pytest suite
test: install-dev
	$(VENV)/bin/ruff check linli conftest.py bench
	$(VENV)/bin/ruff format --check linli conftest.py bench
	$(VENV)/bin/mypy linli bench
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadfile

lint: install-dev
	$(VENV)/bin/ruff check --fix linli conftest.py bench
	$(VENV)/bin/ruff format linli conftest.py bench

## make bench [ONLY=a,b]: benchmarks against the database DATABASE_URL names; one BENCH line each
bench: install-dev
	$(PY) -m bench $(if $(ONLY),--only $(ONLY),)

## make messages: refresh and compile the English catalogue (needs GNU gettext: apt-get install gettext)
messages: install
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=var --no-location --no-obsolete
	$(PY) manage.py compilemessages -l en --ignore=.venv

clean:
	rm -rf $(VENV) var
