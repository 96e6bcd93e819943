# fairhub: `make run` sets up and serves; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgresql bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the package definition changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/fairhub db upgrade
	$(BIN)/fairhub init --url http://$(HOST):$(PORT)
	$(BIN)/fairhub serve --host $(HOST) --port $(PORT)

test: test-sqlite test-postgresql

test-sqlite: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n auto --fairhub-db=sqlite

test-postgresql: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n auto --fairhub-db=postgresql

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.installed

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_health.py
	$(BIN)/python bench/bench_user.py
	$(BIN)/python bench/bench_datasets.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_upload.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
