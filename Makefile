# The two commands of the README: `make run` and `make test`. Both build the virtual
# environment they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# Development defaults for the commands below; the environment can override them.
DEV := DEBUG=$${DEBUG:-true}

.PHONY: venv run test lint bench bench-ab clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:8000  (admin: http://127.0.0.1:8000/admin/, user admin, password admin)"
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(DEV) $(BIN)/mypy api booking
	$(DEV) $(BIN)/python manage.py makemigrations --check --dry-run

bench: venv
	$(BIN)/python bench/run.py

# A same-run A/B of the load benchmark against another commit (bench/README.md).
AB_REF ?= 0b5b423
bench-ab: venv
	$(BIN)/python bench/run.py --compare $(AB_REF) $(AB_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3* test_db.sqlite3* staticfiles

# The several-host set-up: make cluster-up / cluster-down / failover-test (deploy/README.md).
include deploy/cluster.mk
