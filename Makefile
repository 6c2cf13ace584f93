# The entry points the README names. `make demo` and `make test` work on a fresh machine
# with only Python >= 3.11 and make: the first call creates .venv from constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint fmt bench mutate install clean deploy-lint dist dist-check mcp-config

SOURCES := pooldrift server/pooldrift_mcp bot/pooldrift_slack
LINTED  := $(SOURCES) tests benchmarks scripts

# deploy-lint: its own virtualenv (see requirements-deploy-lint.txt); manifests checked offline
# against one Kubernetes version's schemas (shipped in kubernetes-validate)
DEPLOY_VENV   := .venv-deploy
DEPLOY_BIN    := $(DEPLOY_VENV)/bin
DEPLOY_STAMP  := $(DEPLOY_VENV)/.installed
K8S_VERSION   ?= 1.33.0
K8S_MANIFESTS := $(filter-out manifests/k8s/kustomization.yaml,$(wildcard manifests/k8s/*.yaml))

$(STAMP): pyproject.toml server/pyproject.toml bot/pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "pooldrift needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
	  -e ".[dev,redis,watch]" -e "./server[slack]" -e ./bot
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
	$(BIN)/mypy scripts

$(DEPLOY_STAMP): requirements-deploy-lint.txt
	@test -x $(DEPLOY_BIN)/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	@$(DEPLOY_BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-deploy-lint.txt
	@touch $@

deploy-lint: $(DEPLOY_STAMP) $(STAMP)
	@# the project's own manifest checks (tests/deploy_checks.py): Redis persistence, auth, network, pods
	$(BIN)/python -m pytest -q -p no:randomly -p no:cacheprovider tests/test_deploy.py
	$(DEPLOY_BIN)/kubernetes-validate --strict --quiet --kubernetes-version $(K8S_VERSION) $(K8S_MANIFESTS)
	$(DEPLOY_BIN)/hadolint --failure-threshold info Dockerfile
	$(DEPLOY_BIN)/checkov --quiet --compact --skip-download --framework kubernetes dockerfile \
	  -f Dockerfile $(K8S_MANIFESTS)
	@command -v promtool >/dev/null || { echo "promtool not found (Debian: apt-get install prometheus)"; exit 1; }
	promtool check rules manifests/prometheus/pooldrift-rules.yaml

fmt: $(STAMP)
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; echo; \
	done

# the three distributions (wheel and sdist each; each wheel built from its sdist) into dist/,
# then what they hold; dist-check installs them as a user would (see scripts/check_dist.py)
dist: $(STAMP)
	@rm -rf dist
	@for project in . server bot; do \
	  $(BIN)/uv build --quiet --no-config --build-constraint constraints.txt --out-dir dist $$project \
	    || exit 1; \
	done
	$(BIN)/python scripts/check_dist.py --contents-only

dist-check: dist
	$(BIN)/python scripts/check_dist.py

# a Claude Desktop / VS Code / Cursor entry running this checkout's pooldrift-mcp
mcp-config: $(STAMP)
	@$(BIN)/python scripts/mcp_config.py $(ARGS)

# mutation testing of the core (mutmut; about 25 min on 2 cores, so not part of CI): the share
# of mutants killed per module and in total. MUTATE_ARGS="signing --show" narrows and explains.
mutate: $(STAMP)
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) .pytest_cache .mypy_cache .ruff_cache dist build mutants
