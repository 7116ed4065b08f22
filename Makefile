# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The team's shared data folder sits beside the checkout (../shared/data); a clone made
# elsewhere on the same machine finds it at /work/shared/data. A user's NNLAB_DATA wins.
SHARED_DATA := $(firstword $(wildcard $(abspath ../shared/data) /work/shared/data))
ifeq ($(origin NNLAB_DATA), undefined)
ifneq ($(SHARED_DATA),)
export NNLAB_DATA := $(SHARED_DATA)
endif
endif

.PHONY: demo test lint bench clean

# torch first, pinned: here that is the local CPU build; a looser spec pulls CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

# the first experiment at quick scale (a few minutes on a 2-core CPU); prints where its report is
demo: $(STAMP)
	$(BIN)/nnlab run spatial-locality --scale quick

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check --quiet src tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_loaders.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_scratch.py
	$(BIN)/python benchmarks/bench_probe.py

clean:
	rm -rf $(VENV) build runs *.egg-info src/*.egg-info .pytest_cache
