# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# every package's exact version, so a fresh clone next month installs what CI tested today
LOCK := requirements/lock.txt
# The team's shared data folder sits beside the checkout (../shared/data); a clone made
# elsewhere on the same machine finds it at /work/shared/data. A user's NNLAB_DATA wins.
SHARED_DATA := $(firstword $(wildcard $(abspath ../shared/data) /work/shared/data))
ifeq ($(origin NNLAB_DATA), undefined)
ifneq ($(SHARED_DATA),)
export NNLAB_DATA := $(SHARED_DATA)
endif
endif

.PHONY: demo test test-cpu-paths install-ray lint bench bench-peers lock clean

# torch first, pinned: here that is the local CPU build; a looser spec pulls CUDA wheels.
# PIP_CONSTRAINT (not -c) also holds the build environment's setuptools to the lock.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/pip install -q pip
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/pip install -q torch
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

# refresh the lock on purpose: resolve pyproject.toml's ranges afresh in a throw-away venv
lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q torch==2.13.0
	.lock-venv/bin/pip install -q ".[dev,ray]"
	mkdir -p requirements
	{ echo "# made by 'make lock' on $$(date +%F) (Python $$(.lock-venv/bin/python -V | cut -d' ' -f2)); edit pyproject.toml, not this"; \
	  .lock-venv/bin/pip freeze --all --exclude nnlab | sed 's/+cpu$$//'; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf .lock-venv build

# the optional Ray engine of studies (`--engine ray`), pinned by the lock; CI installs it so that
# its test runs rather than skips
install-ray: $(STAMP)
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/pip install -q -e ".[ray]"

# the first experiment at quick scale (a few minutes on a 2-core CPU); prints where its report is
demo: $(STAMP)
	$(BIN)/nnlab run spatial-locality --scale quick

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check --quiet src tests benchmarks
	$(BIN)/python -m pytest -q

# the data tests again on other BLAS (MKL) and ATen kernel code paths of this same CPU: an
# assertion that holds on one kind of CPU only (a pinned hash of float results) fails here too.
# Each pytest session builds its derived sets afresh, in its own tensor cache.
CPU_PATHS := "MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2" \
             "MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default"
# the data tests whose sets are computed in floating point (resized, blurred, rendered); the
# others check bytes copied exactly, which no BLAS code path touches
FLOAT_DATA_TESTS = $(addprefix tests/data/test_,$(addsuffix .py,hand36 flowers17 folder \
	transforms pipeline embedded pages ocr_photos))

test-cpu-paths: $(STAMP)
	for paths in $(CPU_PATHS); do \
	    echo "== data tests under $$paths"; \
	    env $$paths $(BIN)/python -m pytest -q -p no:cacheprovider $(FLOAT_DATA_TESTS) || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# the peers (Lightning) go into the benchmark's own environment, never into nnlab's
BENCH_VENV := .bench-venv
bench-peers: $(STAMP)
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BENCH_VENV)/bin/pip install -q torch
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BENCH_VENV)/bin/pip install -q -e . lightning
	$(BENCH_VENV)/bin/python benchmarks/bench_peers.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_loaders.py
	$(BIN)/python benchmarks/bench_scratch.py
	$(BIN)/python benchmarks/bench_probe.py

clean:
	rm -rf $(VENV) build runs *.egg-info src/*.egg-info .pytest_cache
