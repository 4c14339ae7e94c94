# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run worker test lint deps test-deps translations db clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.deps: requirements.lock | $(BIN)/python
	$(BIN)/pip install -q -r requirements.lock
	touch $@

$(VENV)/.test-deps: requirements-test.lock $(VENV)/.deps
	$(BIN)/pip install -q -r requirements-test.lock
	touch $@

deps: $(VENV)/.deps
test-deps: $(VENV)/.test-deps

# messages: English for our own texts; wtforms: Vietnamese for WTForms' built-in messages (form_messages.py).
translations: $(VENV)/.deps
	$(BIN)/pybabel compile -f -d translations -D "messages wtforms" --statistics

db: deps translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask demo-data

# The outbox worker (e-mail, PAKN reminders) runs as a thread of this server (WORKER_IN_PROCESS, development).
run: db
	$(BIN)/flask welcome --base-url http://$(HOST):$(PORT)
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# The worker on its own, as production runs it (`make run` needs none; set WORKER_IN_PROCESS=0 to try both).
worker: db
	$(BIN)/flask worker

lint: test-deps
	$(BIN)/ruff check .

test: test-deps translations
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/*.sqlite3 tests/artifacts
