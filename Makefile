# HybridCloud: `make run` serves the dashboard with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: run test test-fast lint format bench calibrate secret clean venv deps

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet --upgrade pip setuptools wheel
	$(PIP) install --quiet -e ".[test,dev]"
	@touch $@

venv deps: $(VENV)/.installed

run: $(VENV)/.installed
	@DEBUG=$${DEBUG:-1} $(PY) manage.py run

test: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not browser and not integration" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Real QEMU 7.2 live migrations (TCG) measured next to the engine: installs qemu-system-x86, the cloud
# kernel, busybox-static and cpio with apt (root), runs the grid (~8 min) into bench/qemu/results/ and
# writes report.md + report.html there. Not run by CI; the committed results are (test_qemu_calibration).
calibrate: $(VENV)/.installed
	$(PY) bench/qemu/grid.py
	$(PY) bench/qemu/report.py

secret: $(VENV)/.installed
	@$(PY) -c "from django.core.management.utils import get_random_secret_key as k; print(k())"

clean:
	rm -rf $(VENV) var .pytest_cache
