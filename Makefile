# billdrop: `make demo` and `make test` set everything up from nothing (venv, Python and Debian packages).
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON  ?= python3

.PHONY: demo lint test bench sysdeps clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sysdeps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# WeasyPrint needs pango and HarfBuzz-subset (fast, deterministic font subsets); the forms use DejaVu Sans.
# The deployment test (tests/shell/test_install.py) runs systemd-analyze, systemd-sysusers and -tmpfiles;
# the tests read PDFs back with poppler's pdftotext.
sysdeps:
	@if ! ldconfig -p | grep -q 'libpangoft2-1.0' || ! ldconfig -p | grep -q 'libharfbuzz-subset' \
		|| ! fc-list 2>/dev/null | grep -q 'DejaVu Sans' || ! command -v systemd-analyze >/dev/null \
		|| ! command -v pdftotext >/dev/null; then \
		echo "installing pango, DejaVu fonts, systemd's tools and poppler-utils"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0 \
			libharfbuzz-subset0 fontconfig fonts-dejavu-core systemd poppler-utils; \
	fi

# billdrop prints a summary (warnings only: --log-level info for the whole log) and how to call it.
demo: $(STAMP)
	rm -rf demo
	$(VENV)/bin/billdrop demo demo

# Style, types and the import contracts (pyproject.toml). All three run, so one pass shows every
# problem; any failure fails the target.
lint: $(STAMP)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/mypy daemon || status=1; \
	$(VENV)/bin/lint-imports || status=1; \
	exit $$status

# Lint first: a lint failure fails `make test` before pytest runs.
test: $(STAMP) lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks.bench

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache
