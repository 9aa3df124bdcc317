# `make demo` runs the product's main job offline; `make test` runs every test (SQLite and PostgreSQL).
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint serve bench

$(VENV)/.installed: pyproject.toml scripts/bootstrap
	./scripts/bootstrap

demo: $(VENV)/.installed
	$(PY) app.py demo

serve: $(VENV)/.installed
	$(PY) app.py serve

test: $(VENV)/.installed
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done
