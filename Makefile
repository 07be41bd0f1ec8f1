# mpsysd: the commands. `make run` starts the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
MICROPYTHON_BIN := .build/bin/micropython

.PHONY: help micropython venv test bench run clean

help:
	@echo "make run    - the service manager with example services and a prompt (unix port)"
	@echo "make test   - the test suite on the unix-port MicroPython (64 KB heap)"
	@echo "make bench  - RAM and speed benchmarks against raw asyncio"
	@echo "make micropython - fetch and build the unix-port interpreter into .build/"

micropython:
	@$(PYTHON) scripts/get_micropython.py >/dev/null

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

test: micropython venv
	$(VPY) -m pytest -q tests $(PYTEST_ARGS)

bench: micropython
	$(PYTHON) scripts/bench.py

run: micropython
	$(PYTHON) scripts/run_app.py

clean:
	rm -rf .build/mpy .build/bench .build/app dist .pytest_cache
