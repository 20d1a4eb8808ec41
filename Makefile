# `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# The first Python on PATH that is 3.12 or newer (pyenv reads .python-version here).
PYTHON ?= $(shell for c in python3.14 python3.13 python3.12 python3 python; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	echo $$c; break; fi; done)
HOST ?= 127.0.0.1
PORT ?= 8000
# Local runs use the development settings unless the environment says otherwise.
export DEBUG ?= true

.PHONY: run test install checker migrate serve check lint benchmark benchmark-mail benchmark-queue benchmark-pages benchmark-series benchmark-audit clean

# The local demo lets the demo staff into the admin without an authenticator app.
run: export ADMIN_REQUIRE_2FA ?= false
# Links in emails and calendar files (password resets, offers, .ics) lead to the server this
# starts, unless PORTAL_BASE_URL is set in the environment, on the command line or in .env
# (settings read .env only for what the environment leaves unset, so exporting it here would
# hide the file's value). A server on every address is reached on this machine at 127.0.0.1;
# an IPv6 address goes in brackets.
RUN_URL_HOST = $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)))
ifeq ($(origin PORTAL_BASE_URL),undefined)
ifeq ($(shell grep -Es '^[[:space:]]*(export[[:space:]]+)?PORTAL_BASE_URL=' .env),)
run: export PORTAL_BASE_URL = http://$(RUN_URL_HOST):$(PORT)
endif
endif
# The web server and the background worker, together. A worker that exits by itself (a crash,
# a task past its deadline, kill -9) is started again after 2 s, as systemd does in production;
# one that was asked to stop (status 0) is not. Ctrl-C stops the server, and the worker with
# it (it finishes the tasks in hand first).
run: install migrate
	@$(PY) manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/ with a background worker (Ctrl-C stops both)"
	@( trap 'kill -TERM $$worker 2>/dev/null; wait $$worker; exit 0' TERM; \
	   while :; do \
	     $(PY) manage.py db_worker & worker=$$!; wait $$worker; status=$$?; \
	     [ $$status -eq 0 ] && exit 0; \
	     echo "The worker exited (status $$status); starting it again in 2 s." >&2; sleep 2; \
	   done ) & keeper=$$!; \
	trap 'kill -TERM $$keeper 2>/dev/null; wait $$keeper' EXIT; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install checker
	$(PY) -m pytest $(PYTEST_ARGS)

# The Nu HTML checker the browser tests run on every page they visit (npm's vnu-jar; Java).
NU_JAR := node_modules/vnu-jar/build/dist/vnu.jar
checker:
	@if [ ! -f $(NU_JAR) ]; then \
		if command -v npm >/dev/null 2>&1; then npm install --omit=optional --no-package-lock --no-audit --no-fund --silent; \
		else echo "npm was not found: the browser tests will not check HTML (under CI=true they fail)."; fi; fi

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "This project needs Python 3.12 or newer, and none was found on PATH." >&2; \
		echo "Install one (for example with pyenv or your package manager), or run: make PYTHON=/path/to/python3.12 ..." >&2; \
		exit 1; fi
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv --clear $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

migrate: install
	$(PY) manage.py migrate --noinput

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) staticfiles test-artifacts *.egg-info node_modules

benchmark: install
	$(PY) tests/benchmarks/slots.py

benchmark-mail: install
	$(PY) tests/benchmarks/booking_mail.py

# Fresh work while hundreds of emails retry against a stalled mail server (real workers).
benchmark-queue: install
	$(PY) tests/benchmarks/task_queue.py $(ARGS)

# Booking a 52-session series and ending it on the same PostgreSQL data set as benchmark-pages
# (tests/benchmarks/series.py; BENCH_DATABASE_URL and --appointments as there, ARGS="--rounds 5").
benchmark-series: install
	$(PY) tests/benchmarks/series.py $(ARGS)

# The access log at ten million entries against an empty and a small one (tests/benchmarks/audit_log.py;
# AUDIT_BENCH_DATABASE_URL, ARGS="--entries 1000000 --rounds 5" for a quick look).
benchmark-audit: install
	$(PY) tests/benchmarks/audit_log.py $(ARGS)

# The client's pages on a big PostgreSQL data set behind gunicorn (tests/benchmarks/pages.py):
# BENCH_DATABASE_URL names the database (default portal_bench on 127.0.0.1), ARGS takes the
# flags, e.g. ARGS="--appointments 20000 --seconds 5 --rounds 1". Needs wrk (installed here
# with apt when running as root); Lighthouse runs too when npm is there to install it.
benchmark-pages: install
	@# Lighthouse at the version package.json names, in a folder of its own: the browser
	@# tests' npm install (the Nu checker) leaves it out.
	@if [ ! -x .benchmark-tools/node_modules/.bin/lighthouse ] && command -v npm >/dev/null 2>&1; then \
		npm install --prefix .benchmark-tools --no-package-lock --no-save --no-audit --no-fund --silent \
			"lighthouse@$$(node -p 'require("./package.json").optionalDependencies.lighthouse')"; fi
	@if ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get install -y -qq wrk >/dev/null; \
		else echo "benchmark-pages needs wrk: sudo apt-get install wrk (Debian, Ubuntu)." >&2; exit 1; fi; fi
	$(PY) tests/benchmarks/pages.py $(ARGS)
