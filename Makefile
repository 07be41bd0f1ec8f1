# mpsysd: the commands. `make run` starts the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
MICROPYTHON_BIN := .build/bin/micropython

.PHONY: help micropython venv stubs lint test bench run mpy packages firmware deploy repl clean broker-deps fleet

help:
	@echo "make run    - the service manager with example services and a prompt (unix port)"
	@echo "make test   - static checks (make lint), then the tests on the unix-port MicroPython"
	@echo "make lint   - ruff, and pyright against the ESP32 and pyboard stubs"
	@echo "make bench  - RAM and speed benchmarks against raw asyncio"
	@echo "make micropython - fetch and build the unix-port interpreters (64- and 32-bit) into .build/"
	@echo "make mpy    - dist/: the project compiled to .mpy, laid out as a board's filesystem"
	@echo "make deploy PORT=/dev/ttyUSB0 [APP=1] - make mpy, then copy it to a board"
	@echo "make repl PORT=/dev/ttyUSB0 - the board's REPL"
	@echo "make packages - mpy/ (the compiled modules) and the mip package files"
	@echo "make firmware - the unix port with mpsysd's core frozen in (freeze/unix.py)"
	@echo "make fleet  - mosquitto, three simulated devices and mpsysd top (Ctrl-C stops all)"
	@echo "make broker-deps - install mosquitto (Debian's package; as root)"

micropython:
	@$(PYTHON) scripts/get_micropython.py >/dev/null

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

BOARDS := esp32 stm32
STUBS := $(foreach b,$(BOARDS),.build/stubs/$(b)/.installed)

.build/stubs/%/.installed: typecheck/%.txt $(VENV)/.installed
	rm -rf .build/stubs/$*
	$(VPY) -m pip install -q --target .build/stubs/$* -r typecheck/$*.txt
	touch $@

stubs: $(STUBS)

# ruff on everything; pyright on the device code against each board's stubs
lint: venv stubs
	$(VENV)/bin/ruff check .
	for b in $(BOARDS); do PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright -p typecheck/$$b.json || exit 1; done

test: micropython venv lint broker-deps
	$(VPY) -m pytest -q tests $(PYTEST_ARGS)

# mosquitto for the fleet tests, `make fleet` and the bench: apt-get as root,
# else one line saying what to install
broker-deps:
	@$(PYTHON) -c "import sys; sys.path.insert(0, 'scripts'); import broker; broker.ensure_mosquitto()" \
		|| (echo "make broker-deps: install Debian's mosquitto (apt-get install mosquitto)"; exit 1)

fleet: micropython venv broker-deps
	$(VPY) scripts/fleet_demo.py

bench: micropython venv broker-deps
	$(VPY) scripts/bench.py

run: micropython
	$(PYTHON) scripts/run_app.py

mpy: micropython
	$(PYTHON) scripts/make_dist.py

packages: micropython
	$(PYTHON) scripts/make_packages.py

firmware: micropython
	$(PYTHON) scripts/build_firmware.py

deploy: micropython venv
	@test -n "$(PORT)" || (echo "make deploy PORT=/dev/ttyUSB0 [APP=1]"; exit 2)
	APP=$(APP) $(VPY) scripts/make_dist.py $(PORT)

repl: venv
	@test -n "$(PORT)" || (echo "make repl PORT=/dev/ttyUSB0"; exit 2)
	$(VPY) -m mpremote connect $(PORT) repl

clean:
	rm -rf .build/mpy .build/bench .build/app dist .pytest_cache
