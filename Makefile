# The two commands that matter: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install browser demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned to the CPU build in `train`; installing it first keeps pip off CUDA wheels.
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev,train,studio,scale]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# The studio's browser tests drive Debian's chromium (Playwright never downloads browsers).
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP):
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)
	touch $@

browser: $(CHROMIUM_STAMP)

demo: install
	bash scripts/demo.sh

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache palate.db demo-out
