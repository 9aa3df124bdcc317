# `make demo` runs the product's main job offline; `make test` runs every test (SQLite and PostgreSQL).
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint serve bench

# everything (test tools, Chromium, wrk, axe-core)
$(VENV)/.installed: pyproject.toml package-lock.json scripts/bootstrap
	./scripts/bootstrap

# what running the app needs (fonts and the Python packages)
$(VENV)/.installed-app: pyproject.toml scripts/bootstrap
	./scripts/bootstrap app

demo: $(VENV)/.installed-app
	$(PY) app.py demo

serve: $(VENV)/.installed-app
	$(PY) app.py serve

test: $(VENV)/.installed
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done
