# meetbot: `make demo` to try it, `make test` to check it. Both set up .venv first if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: setup demo simulate test test-pythons lint typecheck layers pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

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

pytest: setup
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

bench: setup
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .venv-python3.* .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
