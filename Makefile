# HybridCloud: `make run` serves the dashboard with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
UV := $(VENV)/uv/bin/uv
UV_VERSION ?= uv==0.13.9
PIP_VERSION ?= pip==26.3
LOCK := requirements.lock

.PHONY: run test test-fast fuzz lint format bench calibrate secret clean venv deps lock

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv --without-pip $(VENV)

# Installs exactly the versions pinned in $(LOCK) (every dependency, test and dev tools included; the same lock for
# `make run`, `make test` and .ci/run), with uv from PyPI (put in $(VENV)/uv by the system's pip; a few seconds), and
# pip into the venv beside them; or, if uv cannot be installed, with pip from the same lock. The venv is made without
# pip (ensurepip took most of a fresh start's first 20 s here). Reinstalls only when pyproject.toml or the lock
# changes. `make lock` re-pins after a change to pyproject.toml's dependencies (tests/test_lock.py fails until then).
$(VENV)/.installed: pyproject.toml $(LOCK) | $(VENV)/bin/python
	@if $(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target $(VENV)/uv "$(UV_VERSION)"; then \
	  $(UV) pip install --quiet --python $(PY) -r $(LOCK) "$(PIP_VERSION)" && \
	  $(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e . ; \
	else \
	  echo "uv could not be installed: installing the same lock with pip (slower)"; \
	  $(PY) -m ensurepip --upgrade >/dev/null && \
	  $(PIP) install --quiet -r $(LOCK) && $(PIP) install --quiet --no-deps --no-build-isolation -e . ; \
	fi
	@touch $@

lock: $(VENV)/.installed
	$(UV) pip compile pyproject.toml --extra test --extra dev --python $(PY) --no-header --annotation-style line \
	  --quiet -o $(LOCK)

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

# The property tests (Hypothesis, schemathesis) FUZZ_RUNS times with new draws each time (CI draws the same ones).
FUZZ_RUNS ?= 5
FUZZ_TESTS = $(shell grep -rlE "^from hypothesis|^import hypothesis|^import schemathesis" tests --include="test_*.py")
fuzz: $(VENV)/.installed
	@for i in $$(seq 1 $(FUZZ_RUNS)); do echo "== fuzz run $$i of $(FUZZ_RUNS)"; \
	  HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest $(FUZZ_TESTS) -q -m "not browser" $(PYTEST_ARGS) || exit 1; done

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every bench/*.py (not bench/_*.py helpers, not subfolders: bench/qemu is `make calibrate`); each prints its figures
# against its targets and exits non-zero on a miss. All of them run; the failures are listed and make exits 1.
bench: $(VENV)/.installed
	@failed=""; for f in bench/*.py; do case $$f in bench/_*) continue;; esac; \
	  echo "== $$f"; $(PY) $$f || failed="$$failed $$f"; done; \
	  if [ -n "$$failed" ]; then echo "== bench FAILED:$$failed"; exit 1; fi; echo "== bench: every target holds"

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
