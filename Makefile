# The two commands of the README: `make run` and `make test`. Both build the virtual
# environment they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# Development defaults for the commands below; the environment can override them.
DEV := DEBUG=$${DEBUG:-true}
# `make run` and `make staff-token` are for development only: DEBUG=true on their command
# lines beats the .env that settings.py reads, so in a production checkout they would seed
# the demo shows and an admin/admin login into its database. They refuse, before anything
# else (the development .env included), a .env whose DEBUG settings.py reads as off (or
# that sets none: off is its default), and DEBUG off in the environment.
define DEVELOPMENT_ONLY
import os, sys
import environ
given = os.environ.pop("DEBUG", "")
development = "make run and make staff-token are for development only (DEBUG=true; make run seeds demo shows and an admin/admin login)"
production = 'Production: README.md, "Running in production".'
if given and not environ.Env.parse_value(given, bool):
    sys.exit(f"DEBUG={given} in the environment: {development}. {production}")
if os.path.exists(".env"):
    environ.Env.read_env(".env")
    if not environ.Env().bool("DEBUG", default=False):
        found = "sets DEBUG=" + os.environ["DEBUG"] if "DEBUG" in os.environ else "sets no DEBUG (off by default)"
        sys.exit(f".env {found}: this checkout is configured for production, and {development}. {production}")
endef
export DEVELOPMENT_ONLY

.PHONY: venv development-only run staff-token readme-examples test lint bench bench-sqlite bench-profile bench-ab bench-count clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# Where `make run` serves; scripts/readme_examples.py moves it off 8000 when that is taken.
RUN_ADDR ?= 127.0.0.1:8000

development-only: venv
	@$(BIN)/python -c "$$DEVELOPMENT_ONLY"

run: development-only .env
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(RUN_ADDR)  (admin: http://$(RUN_ADDR)/admin/, user admin, password admin)"
	$(DEV) $(BIN)/python manage.py runserver $(RUN_ADDR)

# Development settings for every `manage.py` line of the README (cron's included), written
# once; a production host writes its own .env (README, "Running in production").
.env: | development-only
	printf '# Development settings, written by make run. Production: README, "Running in production".\nDEBUG=true\n' > .env

# A staff user "boxoffice" (made when missing) and its API token, the key alone on stdout:
# TOKEN=$$(make -s staff-token). STAFF_USER names another user.
STAFF_USER ?= boxoffice
staff-token: development-only
	@$(DEV) $(BIN)/python manage.py staff_token $(STAFF_USER)

# Every curl example of README.md, in order, against `make run`'s server on a fresh clone
# of this repository's last commit (scripts/readme_examples.py; README_ARGS="--venv .venv"
# reuses a virtual environment).
readme-examples:
	$(PYTHON) scripts/readme_examples.py $(README_ARGS)

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(DEV) $(BIN)/mypy api booking
	$(DEV) $(BIN)/python manage.py makemigrations --check --dry-run

bench: venv
	$(BIN)/python bench/run.py

# The embedded default beside PostgreSQL on this box, in one run (bench/README.md).
bench-sqlite: venv
	$(BIN)/python bench/sqlite.py $(BENCH_ARGS)

# Where a scenario's CPU goes in gunicorn's workers, sampled by py-spy (bench/README.md).
bench-profile: venv
	$(BIN)/python bench/spy.py $(BENCH_ARGS)

# Instructions a booking, the app's and PostgreSQL's, against version 1, counted by
# callgrind: repeatable where load figures are not (bench/README.md).
bench-count: venv
	$(BIN)/python bench/count.py $(BENCH_ARGS)

# A same-run A/B of the load benchmark against another commit (bench/README.md).
AB_REF ?= 0b5b423
bench-ab: venv
	$(BIN)/python bench/run.py --compare $(AB_REF) $(AB_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3* test_db.sqlite3* staticfiles

# The several-host set-up: make cluster-up / cluster-down / failover-test (deploy/README.md).
include deploy/cluster.mk
