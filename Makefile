# Two entry points for a new user (see README):
#   make check  -> set up .venv on first use and audit the sample inventory with the embedded engine
#   make test   -> set up .venv (with test extras and the reference OPA engine) and run the whole test suite
#   make conformance -> also compare the engines on the generated L inventory, and the OPA server on M and L (slow)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
LINT_STAMP := $(VENV)/.installed-lint

.PHONY: check test conformance lint bench fuzz clean

PIP := $(BIN)/python -m pip install --quiet
# --compile-bytecode: what pip does by default. Without it, and where nothing may write bytecode at import time
# (PYTHONDONTWRITEBYTECODE, set on many CI machines and containers), every auditor process compiles networkx,
# jsonschema, click... from source again: `import auditor.cli` 1.33 s against 0.45 s, on each run.
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python
# $(call installed,ARGS): install ARGS with uv when it is in the venv (the test set-up of a clean clone: ~3 s against
# ~25 s with pip), else with pip; what uv cannot install (an index only pip is configured for) is installed by pip.
installed = { test -x $(BIN)/uv && $(UV) $(1); } || $(PIP) $(1)

# The virtual environment with auditor installed editable, with the extras given ($(1)), and the embedded engine.
define install
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(PIP) uv || $(PIP) --upgrade pip
	$(call installed,-e '.$(1)')
	# The editable package's own bytecode, for the same reason (a stale file is recompiled, not trusted: mtimes).
	$(BIN)/python -m compileall -q src
	# The embedded engine (auditor[embedded]), hash-checked; wheels only (see README "Platforms").
	$(call installed,--require-hashes --no-deps --only-binary :all: -r requirements/embedded.txt) \
	  || { echo "regorus (the embedded engine) has no wheel for this platform: use --engine opa --opa-url URL (docs/engines.md)"; exit 1; }
endef

$(STAMP): pyproject.toml setup.py requirements/embedded.txt
	$(call install,)
	touch $@

# The test set-up installs everything the base one does, in one editable build (building auditor once for the base
# install and again with the test extra cost ~13 s on a clean clone). The linters (the dev extra) are not needed by
# the tests: `make lint` adds them (~7 s that `make test`, what CI runs, does not spend).
$(TEST_STAMP): pyproject.toml setup.py requirements/embedded.txt
	$(call install,[test])
	# Reference engine (real OPA in-process) for the conformance tests; its metadata claims
	# Python >= 3.14 but it works on 3.11, see docs/engines.md.
	$(PIP) --ignore-requires-python 'opa-golib-python-bindings>=0.4.4,<0.5'
	touch $(STAMP) $@

# Exit 1 means "findings" (the sample has real gaps on purpose): shown, not treated as a failure here.
# Exit 2 or 3 (input, policy or engine error) still fails the command.
check: $(STAMP)
	$(BIN)/auditor check inventory/ || test $$? -eq 1

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

conformance: $(TEST_STAMP)
	AUDITOR_CONFORMANCE_SIZES=S,M,L AUDITOR_CONFORMANCE_SERVER_SIZES=S,M,L $(BIN)/python -m pytest tests/test_conformance.py

$(LINT_STAMP): $(TEST_STAMP)
	$(call installed,-e '.[dev]')
	touch $@

lint: $(LINT_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# The loader + validator + engines fuzz of tests/test_fuzz.py and the random pull requests of
# tests/test_cache_equivalence.py, longer than in `make test` (1,000 and 6 examples there).
fuzz: $(TEST_STAMP)
	AUDITOR_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest -q tests/test_fuzz.py
	AUDITOR_CACHE_EXAMPLES=300 $(BIN)/python -m pytest -q -n0 tests/test_cache_equivalence.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --sizes S,M

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
