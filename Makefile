# Set-up on a fresh machine needs only python3 (3.11) and make.
# `make demo` installs the locked environment and runs the main job; `make test` runs every check.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
RUN := $(UV) run --frozen

.PHONY: install demo test lint typecheck layers unit bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: .venv/.synced

demo: install
	$(RUN) leadscore demo

lint: install
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks

typecheck: install
	$(RUN) mypy

layers: install
	$(RUN) lint-imports

unit: install
	$(RUN) pytest

test: lint typecheck layers unit

bench: install
	$(RUN) python benchmarks/simulator.py
	$(RUN) python benchmarks/realism.py
	$(RUN) python benchmarks/validate_memory.py --rows 5000000

clean:
	rm -rf .tools .venv .pytest_cache .mypy_cache .ruff_cache
