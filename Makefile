# The entry points the README names. `make demo` and `make test` work on a fresh machine
# with only Python >= 3.11 and make: the first call creates .venv from constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint fmt bench mutate install clean

SOURCES := pooldrift server/pooldrift_mcp bot/pooldrift_slack
LINTED  := $(SOURCES) tests benchmarks tools

$(STAMP): pyproject.toml server/pyproject.toml bot/pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "pooldrift needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
	  -e ".[dev,redis]" -e "./server[slack]" -e ./bot
	@# bytecode written once here: PYTHONDONTWRITEBYTECODE would otherwise recompile every start
	@$(BIN)/python -m compileall -q $(SOURCES) >/dev/null
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/pooldrift demo

test: $(STAMP)
	@$(BIN)/python -m compileall -q $(SOURCES) >/dev/null
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; echo; \
	done

# mutation testing of the core (mutmut; ~25 min on 2 cores, so not part of CI): the share of
# mutants killed per module and in total. MUTATE_ARGS="signing --show" narrows and explains.
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build mutants
