# Two commands: `make run` installs and serves; `make test` installs and runs the whole test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench analyze

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m app serve

analyze: install
	$(PY) -m app analyze

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check app tests bench tools
	$(VENV)/bin/ruff format --check app tests bench tools
	$(VENV)/bin/mypy app

bench: install
	$(PY) -m bench
