# meetbot: `make demo` to try it, `make test` to check it. Both set up .venv first if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

SUDO    = $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup postgres demo simulate test test-pythons lint typecheck layers pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The store's tests run on SQLite and on a PostgreSQL server they start themselves (initdb,
# pg_ctl): those come from Debian's `postgresql`, installed here when missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || { \
	  echo "installing PostgreSQL (Debian package postgresql) for the tests"; \
	  $(SUDO) apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    postgresql >/dev/null; }

demo: setup
	$(BIN)/meetbot demo

simulate: setup
	$(BIN)/meetbot simulate

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: setup
	$(BIN)/mypy

layers: setup
	$(BIN)/lint-imports

pytest: setup postgres
	$(BIN)/pytest

test: lint typecheck layers pytest

# The whole `make test` once per supported Python, each in a venv of its own (.venv-python3.X).
# PYTHONS names interpreters on PATH, or paths to them.
PYTHONS ?= python3.11 python3.12 python3.13
test-pythons:
	for py in $(PYTHONS); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
	    || { echo "test-pythons: $$py does not run (set PYTHONS)"; exit 1; }; \
	  $(MAKE) test PYTHON=$$py VENV=.venv-python$$v || exit 1; \
	done

# The benches run in a virtualenv of their own, with the peers they compare against
# (bench/requirements.txt): never installed into the product's.
BENCH_VENV  ?= .venv-bench
BENCH_STAMP  = $(BENCH_VENV)/.installed-stamp
BENCH_ARGS  ?=

$(BENCH_STAMP): pyproject.toml bench/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .venv-python3.* .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
