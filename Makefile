# One command from a fresh clone: `make test` (or `make plan STACK=gke`) creates the virtualenv itself.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STACK ?= ib
# pytest-xdist workers for `make test` (the suite is CPU-bound; CI machines have 2 cores).
TEST_WORKERS ?= 2
OUT ?= build/plan/$(STACK)
# Real CRD schemas the tests validate custom resources against (see README, "Tests").
LLMD_CRD_DIR ?= $(abspath ../shared/crds)
export LLMD_CRD_DIR

.PHONY: venv test plan bench-plan bench-report clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

plan: venv
	$(PY) -m tools.plan --stack $(STACK) --out $(OUT) $(if $(BASE),--base $(BASE))

bench-plan: venv
	$(PY) benchmarks/plan_speed.py

bench-report: venv
	$(PY) -m tools.bench_report $(RESULTS) $(if $(OUT_DIR),--out $(OUT_DIR))

clean:
	rm -rf build .pytest_cache
